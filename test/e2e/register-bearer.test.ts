/**
 * Registration is presence (CONTRACT §4), Bearer slice: SIP.js 0.21 in Node
 * registers two devices of one identity over WebSocket with an access token;
 * every refusal case gets its answer; closing the WebSocket removes the
 * binding at once.
 */
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { WebSocket } from 'ws';
import type { Registerer as RegistererType, UserAgent as UserAgentType } from 'sip.js';
import { mintAccessToken } from '../../src/auth/access-token.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';

// The default config's demo account (config/default.yaml).
const ACCOUNT = 'AC00000000000000000000000000de0001';
const KEY = 'SK00000000000000000000000000de0001';
const SECRET = 'demo-api-key-secret-change-me';

const token = (identity: string, o: { incoming?: boolean; ttl?: number; secret?: string } = {}) =>
  mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: o.secret ?? SECRET, identity, incoming: o.incoming ?? true, ttl: o.ttl ?? 3600 });

describe('REGISTER with access tokens (RFC 8898 Bearer)', function () {
  let herald: HeraldProcess;
  let udp: UdpPeer;
  const uas: UserAgentType[] = [];

  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    herald = await startHerald();
    udp = await UdpPeer.open();
  });
  after(async () => {
    for (const ua of uas) await ua.stop().catch(() => undefined);
    udp.close();
    await herald.stop();
  });

  const bindings = async (): Promise<number> =>
    ((await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Node`)).json()) as { bindings: number }).bindings;

  /** Polls /v1/Node until the binding count is `n` (it is refreshed every second). */
  async function bindingsBecome(n: number, ms = 10000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const now = await bindings();
      if (now === n) return;
      if (Date.now() > deadline) throw new Error(`bindings stayed ${now}, expected ${n}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function sipjsRegister(identity: string, tok: string, instance: string): Promise<{ ua: UserAgentType; registerer: RegistererType; status: number; contacts: string[] }> {
    const { UserAgent, Registerer } = await import('sip.js');
    const ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${identity}@herald.test`),
      transportOptions: { server: `ws://127.0.0.1:${herald.listeners.ws!.port}` },
      logLevel: 'error',
      instanceId: instance,
    });
    uas.push(ua);
    await ua.start();
    const registerer = new Registerer(ua, { extraHeaders: [`Authorization: Bearer ${tok}`], regId: 1, expires: 600 });
    const result = await new Promise<{ status: number; contacts: string[] }>((res, rej) => {
      registerer
        .register({
          requestDelegate: {
            onAccept: (r) => res({ status: r.message.statusCode ?? 0, contacts: r.message.getHeaders('contact') }),
            onReject: (r) => res({ status: r.message.statusCode ?? 0, contacts: [] }),
          },
        })
        .catch(rej);
    });
    return { ua, registerer, ...result };
  }

  it('registers two devices of one identity; the 200 lists both with expires, and SIP.js is Registered', async () => {
    const a = await sipjsRegister('alice', token('alice'), '11111111-1111-4111-8111-111111111111');
    expect(a.status).to.equal(200);
    const b = await sipjsRegister('alice', token('alice'), '22222222-2222-4222-8222-222222222222');
    expect(b.status).to.equal(200);
    expect(b.contacts).to.have.length(2);
    for (const c of b.contacts) expect(c).to.match(/;transport=ws>/).and.match(/;expires=\d+/).and.match(/\+sip\.instance=/);
    expect(b.registerer.state).to.equal('Registered');
    await bindingsBecome(2);
  });

  it('removes a binding the moment its WebSocket closes', async () => {
    const before = await bindings();
    const c = await sipjsRegister('carol', token('carol'), '33333333-3333-4333-8333-333333333333');
    expect(c.status).to.equal(200);
    await bindingsBecome(before + 1);
    await c.ua.transport.disconnect();
    await bindingsBecome(before);
  });

  it('unregisters with Expires 0', async () => {
    const before = await bindings();
    const tok = token('dave');
    const d = await sipjsRegister('dave', tok, '44444444-4444-4444-8444-444444444444');
    expect(d.status).to.equal(200);
    await bindingsBecome(before + 1);
    // SIP.js sends the Registerer's extraHeaders only on REGISTERs that refresh, not on the un-REGISTER.
    const status = await new Promise<number>((res, rej) => {
      d.registerer
        .unregister({
          requestOptions: { extraHeaders: [`Authorization: Bearer ${tok}`] },
          requestDelegate: { onAccept: (r) => res(r.message.statusCode ?? 0), onReject: (r) => res(r.message.statusCode ?? 0) },
        })
        .catch(rej);
    });
    expect(status).to.equal(200);
    await bindingsBecome(before);
  });

  describe('refusals (over UDP, raw)', () => {
    async function registerRaw(identity: string, authorization: string | null, extra: string[] = []): Promise<{ status: number; wwwAuthenticate: string[]; contacts: string[]; reason: string }> {
      const msg = request('REGISTER', {
        transport: 'UDP',
        port: udp.port,
        uri: 'sip:herald.test',
        extra: [`Contact: <sip:${identity}@127.0.0.1:${udp.port}>`, 'Expires: 600', ...(authorization === null ? [] : [`Authorization: ${authorization}`]), ...extra],
      }).replace('To: <sip:herald@127.0.0.1>', `To: <sip:${identity}@herald.test>`);
      udp.send(msg, herald.listeners.udp!.port);
      const res = await udp.nextResponse();
      if (res === null) throw new Error('no answer');
      return { status: res.status, reason: res.reason, wwwAuthenticate: res.headers.getAll('www-authenticate'), contacts: res.headers.list('contact') ?? [] };
    }

    it('no credentials → 401 with WWW-Authenticate: Bearer realm="herald"', async () => {
      const r = await registerRaw('erin', null);
      expect(r.status).to.equal(401);
      expect(r.wwwAuthenticate).to.include('Bearer realm="herald"');
    });

    it('bad signature, unknown key, expired, alg none, garbage → 401 error="invalid_token"', async () => {
      const now = Math.floor(Date.now() / 1000);
      const badSig = token('erin', { secret: 'not-the-secret-of-this-key' });
      const unknownKey = mintAccessToken({ accountSid: ACCOUNT, apiKeySid: 'SK0000000000000000000000000000beef', apiKeySecret: SECRET, identity: 'erin', incoming: true });
      const expired = jwt.sign({ jti: 'x', iss: KEY, sub: ACCOUNT, iat: now - 7200, exp: now - 3600, grants: { identity: 'erin', voice: { incoming: { allow: true } } } }, SECRET, { header: { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' } });
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: KEY, sub: ACCOUNT, exp: now + 600, grants: { identity: 'erin', voice: { incoming: { allow: true } } } })}.`;
      for (const bad of [badSig, unknownKey, expired, none, 'garbage']) {
        const r = await registerRaw('erin', `Bearer ${bad}`);
        expect(r.status, bad).to.equal(401);
        expect(r.wwwAuthenticate.join(' ')).to.include('error="invalid_token"');
      }
    });

    it('a valid token without incoming.allow → 403', async () => {
      const r = await registerRaw('erin', `Bearer ${token('erin', { incoming: false })}`);
      expect(r.status).to.equal(403);
      expect(r.reason).to.match(/incoming/);
    });

    it('a valid token for another identity → 403', async () => {
      const r = await registerRaw('mallory', `Bearer ${token('erin')}`);
      expect(r.status).to.equal(403);
      expect(r.reason).to.match(/identity/);
    });

    it('grants no more than the token has left, and 423 below the minimum', async () => {
      const r = await registerRaw('frank', `Bearer ${token('frank', { ttl: 120 })}`);
      expect(r.status).to.equal(200);
      const expires = Number(/;expires=(\d+)/.exec(r.contacts[0] ?? '')?.[1]);
      expect(expires).to.be.greaterThan(0).and.at.most(120);
      const tooBrief = request('REGISTER', { transport: 'UDP', port: udp.port, uri: 'sip:herald.test', extra: [`Contact: <sip:frank@127.0.0.1:${udp.port}>;expires=5`, `Authorization: Bearer ${token('frank')}`] }).replace('To: <sip:herald@127.0.0.1>', 'To: <sip:frank@herald.test>');
      udp.send(tooBrief, herald.listeners.udp!.port);
      const res = await udp.nextResponse();
      expect(res?.status).to.equal(423);
      expect(res!.headers.get('min-expires')).to.match(/^\d+$/);
    });
  });
});
