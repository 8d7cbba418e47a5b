/**
 * Herald's Digest answers as a client (src/auth/digest-client.ts): checked
 * by Herald's own server-side authenticator (a different code path: nonce
 * MAC, opaque, realm, nc, response), and the challenges it must decline.
 */
import { expect } from 'chai';
import { answerChallenge } from '../../../src/auth/digest-client.js';
import { DigestAuthenticator, parseAuthorization } from '../../../src/auth/digest.js';
import { Headers } from '../../../src/sip/headers.js';
import { SipResponse } from '../../../src/sip/message.js';

const REQUEST = { method: 'INVITE', uri: 'sip:+15557654321@carrier.example;user=phone' };
const CREDS = { username: 'trunk-user', password: 'trunk-pass' };

function challenged(status: 401 | 407, values: string[]): SipResponse {
  const h = new Headers();
  for (const v of values) h.append(status === 407 ? 'Proxy-Authenticate' : 'WWW-Authenticate', v);
  return new SipResponse(status, status === 407 ? 'Proxy Authentication Required' : 'Unauthorized', h);
}

describe('answerChallenge (Digest as a client)', () => {
  const server = new DigestAuthenticator({ realm: 'carrier.example', secret: Buffer.alloc(32, 7) });
  const verify = (value: string, password = CREDS.password) =>
    server.verify({ method: 'INVITE', authorization: parseAuthorization(value)!.params, password: (u) => (u === CREDS.username ? password : null), uriMatches: (u) => u === REQUEST.uri });

  it('answers a 401 with Authorization that the server side accepts, for MD5 and for SHA-256 (the first challenge it supports)', () => {
    for (const algorithm of ['MD5', 'SHA-256'] as const) {
      // A fresh nonce each time (one nonce-count 1 per nonce); the challenge of `algorithm` listed first.
      const [md5, sha256] = server.challenges() as [string, string];
      const a = answerChallenge(challenged(401, algorithm === 'MD5' ? [md5, sha256] : [sha256, md5]), REQUEST, CREDS);
      expect(a?.header).to.equal('Authorization');
      expect(a!.value).to.include(`algorithm=${algorithm}`);
      expect(verify(a!.value)).to.deep.equal({ ok: true, username: CREDS.username });
      expect(verify(a!.value, 'another-password').ok).to.equal(false);
    }
  });

  it('answers a 407 with Proxy-Authorization, and reports stale=true', () => {
    const [md5] = server.challenges({ stale: true }) as [string];
    const a = answerChallenge(challenged(407, [md5]), REQUEST, CREDS);
    expect(a?.header).to.equal('Proxy-Authorization');
    expect(a?.stale).to.equal(true);
    expect(verify(a!.value).ok).to.equal(true);
  });

  it('without qop answers in the RFC 2069 form (no nc, no cnonce)', () => {
    const a = answerChallenge(challenged(401, ['Digest realm="carrier.example", nonce="abc123"']), REQUEST, CREDS);
    expect(a!.value).to.not.match(/qop|nc=|cnonce/);
    expect(a!.value).to.match(/^Digest username="trunk-user", realm="carrier.example", nonce="abc123", uri="sip:\+15557654321@carrier\.example;user=phone", response="[0-9a-f]{32}", algorithm=MD5$/);
  });

  it('declines what it cannot answer: another scheme, a -sess or unknown algorithm, a qop without auth, no nonce', () => {
    for (const v of ['Bearer realm="herald"', 'Digest realm="r", nonce="n", algorithm=MD5-sess', 'Digest realm="r", nonce="n", algorithm=SHA-512-256', 'Digest realm="r", nonce="n", qop="auth-int"', 'Digest realm="r"']) {
      expect(answerChallenge(challenged(401, [v]), REQUEST, CREDS), v).to.equal(null);
    }
    // A challenge in the other header does not count: a 401 is answered from WWW-Authenticate only.
    expect(answerChallenge(challenged(407, []), REQUEST, CREDS)).to.equal(null);
  });
});
