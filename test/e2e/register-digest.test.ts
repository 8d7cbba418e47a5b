/**
 * Softphones register with Digest (CONTRACT §4, RFC 3261 §22, RFC 8760):
 * sipp with [authentication] over UDP and TCP; the challenge order (MD5,
 * SHA-256, Bearer); SHA-256 answered; a wrong password and an unknown user get
 * the same answer; a replayed nonce-count is refused.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { run } from '../helpers/run.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';
import type { SipResponse } from '../../src/sip/message.js';

const SCENARIO = resolve(import.meta.dirname, '..', 'fixtures', 'sipp', 'register-digest.xml');
// The default config's demo account: sipDomain demo.sip.localhost, user bob / bob-secret.
const DOMAIN = 'demo.sip.localhost';

const h = (alg: 'md5' | 'sha256', s: string) => createHash(alg).update(s).digest('hex');

describe('REGISTER with Digest (softphones)', function () {
  let herald: HeraldProcess;
  let udp: UdpPeer;

  before(async () => {
    herald = await startHerald();
    udp = await UdpPeer.open();
  });
  after(async () => {
    udp.close();
    await herald.stop();
  });

  for (const transport of ['u1', 't1'] as const) {
    it(`sipp registers bob with MD5 over ${transport === 'u1' ? 'UDP' : 'TCP'} (401, then 200 with expires)`, async () => {
      const port = transport === 'u1' ? herald.listeners.udp!.port : herald.listeners.tcp!.port;
      const r = await run('sipp', ['-sf', SCENARIO, '-m', '1', '-key', 'user', 'bob', '-key', 'domain', DOMAIN, '-au', 'bob', '-ap', 'bob-secret', '-t', transport, '-i', '127.0.0.1', '-p', '0', '-max_socket', '100', '-timeout', '20s', '-timeout_error', '-nostdin', `127.0.0.1:${port}`]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
    });
  }

  it('sipp with a wrong password fails (401 again, no 200)', async () => {
    const r = await run('sipp', ['-sf', SCENARIO, '-m', '1', '-key', 'user', 'bob', '-key', 'domain', DOMAIN, '-au', 'bob', '-ap', 'wrong', '-t', 'u1', '-i', '127.0.0.1', '-p', '0', '-timeout', '10s', '-timeout_error', '-nostdin', `127.0.0.1:${herald.listeners.udp!.port}`]);
    expect(r.code).to.not.equal(0);
  });

  async function register(user: string, authorization: string | null, cseq = 1, callId?: string): Promise<SipResponse> {
    let msg = request('REGISTER', {
      transport: 'UDP',
      port: udp.port,
      uri: `sip:${DOMAIN}`,
      extra: [`Contact: <sip:${user}@127.0.0.1:${udp.port}>`, 'Expires: 600', ...(authorization === null ? [] : [`Authorization: ${authorization}`])],
    })
      .replace('To: <sip:herald@127.0.0.1>', `To: <sip:${user}@${DOMAIN}>`)
      .replace('CSeq: 1 REGISTER', `CSeq: ${cseq} REGISTER`);
    if (callId !== undefined) msg = msg.replace(/Call-ID: .*/, `Call-ID: ${callId}`);
    udp.send(msg, herald.listeners.udp!.port);
    const res = await udp.nextResponse();
    if (res === null) throw new Error('no answer');
    return res;
  }

  const param = (challenge: string, name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1] ?? '';

  function authorization(alg: 'MD5' | 'SHA-256', user: string, password: string, nonce: string, opaque: string, nc: string): string {
    const H = (s: string) => h(alg === 'MD5' ? 'md5' : 'sha256', s);
    const uri = `sip:${DOMAIN}`;
    const cnonce = 'c0ffee';
    const response = H(`${H(`${user}:${DOMAIN}:${password}`)}:${nonce}:${nc}:${cnonce}:auth:${H(`REGISTER:${uri}`)}`);
    return `Digest username="${user}", realm="${DOMAIN}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=${alg}, qop=auth, nc=${nc}, cnonce="${cnonce}", opaque="${opaque}"`;
  }

  it('challenges with Digest MD5 first, then SHA-256, then Bearer', async () => {
    const res = await register('bob', null);
    expect(res.status).to.equal(401);
    const c = res.headers.getAll('www-authenticate');
    expect(c).to.have.length(3);
    expect(c[0]).to.match(/^Digest /).and.match(/algorithm=MD5/).and.match(/qop="auth"/);
    expect(c[1]).to.match(/^Digest /).and.match(/algorithm=SHA-256/);
    expect(c[2]).to.equal('Bearer realm="herald"');
  });

  it('gives softphones that abort on unusable challenges (baresip, linphonec) the MD5 one only', async () => {
    for (const ua of ['baresip v1.0.0 (x86_64/linux)', 'Linphonec/5.1.65']) {
      const msg = request('REGISTER', { transport: 'UDP', port: udp.port, uri: `sip:${DOMAIN}`, extra: [`Contact: <sip:bob@127.0.0.1:${udp.port}>`, `User-Agent: ${ua}`] }).replace(
        'To: <sip:herald@127.0.0.1>',
        `To: <sip:bob@${DOMAIN}>`,
      );
      udp.send(msg, herald.listeners.udp!.port);
      const res = await udp.nextResponse();
      expect(res?.status).to.equal(401);
      const c = res!.headers.getAll('www-authenticate');
      expect(c, ua).to.have.length(1);
      expect(c[0]).to.match(/^Digest /).and.match(/algorithm=MD5/);
    }
  });

  it('accepts SHA-256 (RFC 8760) and refuses the same nonce-count again', async () => {
    const challenge = (await register('bob', null)).headers.getAll('www-authenticate')[1]!;
    const auth = authorization('SHA-256', 'bob', 'bob-secret', param(challenge, 'nonce'), param(challenge, 'opaque'), '00000001');
    const callId = `sha-${Date.now()}@test`;
    const ok = await register('bob', auth, 2, callId);
    expect(ok.status).to.equal(200);
    expect(ok.headers.list('contact')!.join(',')).to.match(/expires=\d+/);
    const replay = await register('bob', auth, 3, callId);
    expect(replay.status).to.equal(401);
  });

  it('answers a wrong password and an unknown user alike (no enumeration)', async () => {
    const c1 = (await register('bob', null)).headers.getAll('www-authenticate')[0]!;
    const wrongPassword = await register('bob', authorization('MD5', 'bob', 'nope', param(c1, 'nonce'), param(c1, 'opaque'), '00000001'));
    const c2 = (await register('nobody', null)).headers.getAll('www-authenticate')[0]!;
    const unknownUser = await register('nobody', authorization('MD5', 'nobody', 'nope', param(c2, 'nonce'), param(c2, 'opaque'), '00000001'));
    expect(wrongPassword.status).to.equal(401);
    expect(unknownUser.status).to.equal(wrongPassword.status);
    expect(unknownUser.reason).to.equal(wrongPassword.reason);
    const shape = (r: SipResponse) => r.headers.getAll('www-authenticate').map((v) => v.replace(/nonce="[^"]+"/, 'nonce=…'));
    expect(shape(unknownUser)).to.deep.equal(shape(wrongPassword));
  });
});
