/**
 * Digest as a client (RFC 3261 §22.2, RFC 7616, RFC 8760): the credentials
 * Herald sends when a carrier or a SIP peer it dials answers 401 or 407.
 * The challenge is read with the server side's parser (same grammar as
 * credentials: scheme and auth-params) and hashed with the same function.
 */
import { randomBytes } from 'node:crypto';
import { quote } from '../sip/grammar.js';
import type { SipResponse } from '../sip/message.js';
import { digestResponse } from './digest.js';
import { parseAuthorization, type DigestAlgorithm } from './digest-header.js';

export interface ClientCredentials {
  username: string;
  password: string;
}

export interface ChallengeAnswer {
  /** `Authorization` for a 401, `Proxy-Authorization` for a 407 (§22.2, §22.3). */
  header: 'Authorization' | 'Proxy-Authorization';
  value: string;
  /** The challenge said `stale=true`: the nonce was old, not the password wrong. */
  stale: boolean;
}

interface Challenge {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  algorithm: DigestAlgorithm;
  qop: 'auth' | undefined;
  stale: boolean;
}

/**
 * The first Digest challenge of a 401/407 that Herald can answer (RFC 8760
 * §2.4: the topmost one the client supports), or null when none: another
 * scheme, `-sess` or unknown algorithms, a qop list without `auth`.
 */
function readChallenge(values: readonly string[]): Challenge | null {
  for (const v of values) {
    const c = parseAuthorization(v);
    if (c === null || c.scheme.toLowerCase() !== 'digest') continue;
    const realm = c.params.get('realm');
    const nonce = c.params.get('nonce');
    if (realm === undefined || nonce === undefined) continue;
    const algorithm = (c.params.get('algorithm') ?? 'MD5').toUpperCase();
    if (algorithm !== 'MD5' && algorithm !== 'SHA-256') continue;
    const qops = c.params.get('qop')?.split(',').map((q) => q.trim().toLowerCase());
    if (qops !== undefined && !qops.includes('auth')) continue;
    return { realm, nonce, opaque: c.params.get('opaque'), algorithm, qop: qops === undefined ? undefined : 'auth', stale: c.params.get('stale')?.toLowerCase() === 'true' };
  }
  return null;
}

/** The credentials answering `response` (a 401 or 407) for a request `method` to `uri`; null when it has no usable challenge. */
export function answerChallenge(response: SipResponse, request: { method: string; uri: string }, credentials: ClientCredentials): ChallengeAnswer | null {
  const proxy = response.status === 407;
  const challenge = readChallenge(response.headers.getAll(proxy ? 'proxy-authenticate' : 'www-authenticate'));
  if (challenge === null) return null;
  const base = { algorithm: challenge.algorithm, username: credentials.username, realm: challenge.realm, password: credentials.password, method: request.method, uri: request.uri, nonce: challenge.nonce };
  const parts = [`Digest username=${quote(credentials.username)}`, `realm=${quote(challenge.realm)}`, `nonce=${quote(challenge.nonce)}`, `uri=${quote(request.uri)}`];
  if (challenge.qop === 'auth') {
    // One request per nonce from us, so the nonce-count is always 1.
    const nc = '00000001';
    const cnonce = randomBytes(8).toString('hex');
    parts.push(`response=${quote(digestResponse({ ...base, qop: 'auth', nc, cnonce }))}`, `algorithm=${challenge.algorithm}`, `cnonce=${quote(cnonce)}`, 'qop=auth', `nc=${nc}`);
  } else {
    parts.push(`response=${quote(digestResponse(base))}`, `algorithm=${challenge.algorithm}`);
  }
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  return { header: proxy ? 'Proxy-Authorization' : 'Authorization', value: parts.join(', '), stale: challenge.stale };
}
