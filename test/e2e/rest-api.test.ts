/**
 * REST API, first slice (CONTRACT §6) against a real `herald serve`: Basic auth
 * on every account route, presence read from registrations (CONTRACT §4), the
 * list of present clients, and tokens minted by POST /Tokens that then
 * register over SIP (SIP.js over WebSocket, raw REGISTER over UDP).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import jwt from 'jsonwebtoken';
import { WebSocket } from 'ws';
import type { Registerer as RegistererType, UserAgent as UserAgentType } from 'sip.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';

// The default config's demo account (config/default.yaml).
const ACCOUNT = 'AC00000000000000000000000000de0001';
const AUTH_TOKEN = 'demo-auth-token-change-me-0001';
const KEY = 'SK00000000000000000000000000de0001';
const SECRET = 'demo-api-key-secret-change-me';
const APP = 'AP00000000000000000000000000de0001';
// A second API key of the demo account, added to the default config for these tests.
const KEY2 = 'SK00000000000000000000000000de0002';
const SECRET2 = 'second-api-key-secret-for-rest-tests';
// A second account, added to the default config for these tests: it has no API key.
const OTHER = 'AC00000000000000000000000000de0002';
const OTHER_TOKEN = 'second-account-auth-token-0002';
// Configured nowhere.
const UNKNOWN = 'AC00000000000000000000000000de0003';

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AS_ACCOUNT = basic(ACCOUNT, AUTH_TOKEN);
const AS_KEY = basic(KEY, SECRET);

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

interface Device {
  contact: string;
  transport: string;
  userAgent: string | null;
  expiresAt: string;
  node: string;
}

interface Presence {
  identity: string;
  status: string;
  devices: Device[];
  activeCalls: number;
}

interface ClientEntry {
  identity: string;
  status: string;
  devices: number;
}

function configWithSecondAccount(): string {
  const text = readFileSync(
    resolve(import.meta.dirname, '..', '..', 'config', 'default.yaml'),
    'utf8',
  );
  const keyLine = `      - { sid: ${KEY}, secret: ${SECRET} }\n`;
  if (!text.includes(keyLine) || !/^trunks:/m.test(text))
    throw new Error('config/default.yaml changed: cannot add the test key and account');
  const out = text
    .replace(keyLine, `${keyLine}      - { sid: ${KEY2}, secret: ${SECRET2} }\n`)
    .replace(/^trunks:/m, `  - sid: ${OTHER}\n    authToken: ${OTHER_TOKEN}\ntrunks:`);
  return writeConfig(out);
}

describe('REST API: auth, presence, clients, tokens', function () {
  let herald: HeraldProcess;
  let udp: UdpPeer;
  const uas: UserAgentType[] = [];

  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    herald = await startHerald({ config: configWithSecondAccount() });
    udp = await UdpPeer.open();
  });
  after(async () => {
    for (const ua of uas) await ua.stop().catch(() => undefined);
    udp?.close();
    await herald?.stop();
  });

  async function api(
    method: string,
    path: string,
    o: { auth?: string | null; body?: unknown; rawBody?: string; contentType?: string } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    const auth = o.auth === undefined ? AS_ACCOUNT : o.auth;
    if (auth !== null) headers.authorization = auth;
    let payload: string | undefined;
    if (o.body !== undefined || o.rawBody !== undefined) {
      payload = o.rawBody ?? JSON.stringify(o.body);
      headers['content-type'] = o.contentType ?? 'application/json';
    }
    const res = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  const presence = async (identity: string, account = ACCOUNT): Promise<Presence> => {
    const r = await api(
      'GET',
      `/v1/Accounts/${account}/Clients/${encodeURIComponent(identity)}/Presence`,
    );
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body as unknown as Presence;
  };

  const clients = async (status = 'available'): Promise<ClientEntry[]> => {
    const r = await api('GET', `/v1/Accounts/${ACCOUNT}/Clients?status=${status}`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return (r.body as { clients: ClientEntry[] }).clients;
  };

  const mint = async (body: Record<string, unknown>, auth = AS_KEY): Promise<string> => {
    const r = await api('POST', `/v1/Accounts/${ACCOUNT}/Tokens`, { auth, body });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    expect(r.body.token).to.be.a('string');
    return r.body.token as string;
  };

  function expectError(r: Answer, status: number, message?: RegExp): void {
    expect(r.status, JSON.stringify(r.body)).to.equal(status);
    expect(r.headers.get('content-type')).to.match(/^application\/json/);
    expect(r.body.status).to.equal(status);
    expect(r.body.code).to.be.a('number');
    expect(r.body.message).to.be.a('string').and.not.equal('');
    if (message !== undefined) expect(r.body.message).to.match(message);
  }

  describe('Basic auth on /v1/Accounts/{AC}/…', () => {
    const path = `/v1/Accounts/${ACCOUNT}/Clients/nobody/Presence`;

    function expectChallenge(r: Answer): void {
      expectError(r, 401);
      expect(r.body.code).to.equal(20003);
      expect(r.headers.get('www-authenticate')).to.equal('Basic realm="herald"');
    }

    it('no credentials → 401 with WWW-Authenticate: Basic realm="herald" and code 20003', async () => {
      expectChallenge(await api('GET', path, { auth: null }));
    });

    it('wrong secrets, unknown users, swapped secrets, other schemes, garbage → 401', async () => {
      for (const auth of [
        basic(ACCOUNT, 'not-the-auth-token'),
        basic(KEY, 'not-the-secret'),
        basic(KEY, AUTH_TOKEN), // the account's token is not the key's secret
        basic(ACCOUNT, SECRET), // nor the other way round
        basic('SK0000000000000000000000000000beef', SECRET),
        basic(ACCOUNT, ''),
        basic(`${ACCOUNT}x`, AUTH_TOKEN),
        `Bearer ${AUTH_TOKEN}`,
        'Basic !!!not-base64!!!',
        'Basic',
      ]) {
        const r = await api('GET', path, { auth });
        expect(r.status, auth).to.equal(401);
        expectChallenge(r);
      }
    });

    it('AccountSid:authToken → 200', async () => {
      const r = await api('GET', path, { auth: AS_ACCOUNT });
      expect(r.status).to.equal(200);
      expect(r.body.identity).to.equal('nobody');
    });

    it('ApiKeySid:secret → 200', async () => {
      const r = await api('GET', path, { auth: AS_KEY });
      expect(r.status).to.equal(200);
      expect(r.body.identity).to.equal('nobody');
    });

    it("valid credentials on another account's path → 403, both ways round", async () => {
      expectError(
        await api('GET', `/v1/Accounts/${OTHER}/Clients/nobody/Presence`, { auth: AS_ACCOUNT }),
        403,
      );
      expectError(
        await api('GET', `/v1/Accounts/${OTHER}/Clients?status=available`, { auth: AS_KEY }),
        403,
      );
      expectError(
        await api('POST', `/v1/Accounts/${ACCOUNT}/Tokens`, {
          auth: basic(OTHER, OTHER_TOKEN),
          body: { identity: 'x' },
        }),
        403,
      );
      // …while the second account's own credentials work on its own path.
      const own = await api('GET', `/v1/Accounts/${OTHER}/Clients/nobody/Presence`, {
        auth: basic(OTHER, OTHER_TOKEN),
      });
      expect(own.status).to.equal(200);
    });

    it('valid credentials, path naming no configured account → 404 JSON; without credentials → 401', async () => {
      expectError(
        await api('GET', `/v1/Accounts/${UNKNOWN}/Clients/nobody/Presence`, { auth: AS_ACCOUNT }),
        404,
        new RegExp(UNKNOWN),
      );
      expectChallenge(
        await api('GET', `/v1/Accounts/${UNKNOWN}/Clients/nobody/Presence`, { auth: null }),
      );
    });

    it('unknown routes under an account need credentials too (401), then say 404', async () => {
      expectChallenge(await api('GET', `/v1/Accounts/${ACCOUNT}/Conferences`, { auth: null }));
      expectError(await api('GET', `/v1/Accounts/${ACCOUNT}/Conferences`, { auth: AS_ACCOUNT }), 404);
    });

    it('health and node info stay open', async () => {
      expect((await api('GET', '/healthz', { auth: null })).status).to.equal(200);
      expect((await api('GET', '/v1/Node', { auth: null })).status).to.equal(200);
    });
  });

  describe('registration is presence', () => {
    async function sipjsRegister(
      identity: string,
      tok: string,
      instance: string,
    ): Promise<{ registerer: RegistererType; status: number }> {
      const { UserAgent, Registerer } = await import('sip.js');
      const ua = new UserAgent({
        uri: UserAgent.makeURI(`sip:${identity}@herald.test`),
        transportOptions: { server: `ws://127.0.0.1:${herald.listeners.ws!.port}` },
        logLevel: 'error',
        instanceId: instance,
      });
      uas.push(ua);
      await ua.start();
      const registerer = new Registerer(ua, {
        extraHeaders: [`Authorization: Bearer ${tok}`],
        regId: 1,
        expires: 600,
      });
      const status = await new Promise<number>((res, rej) => {
        registerer
          .register({
            requestDelegate: {
              onAccept: (r) => res(r.message.statusCode ?? 0),
              onReject: (r) => res(r.message.statusCode ?? 0),
            },
          })
          .catch(rej);
      });
      return { registerer, status };
    }

    async function udpRegister(identity: string, tok: string, expires: number): Promise<number> {
      const msg = request('REGISTER', {
        transport: 'UDP',
        port: udp.port,
        uri: 'sip:herald.test',
        extra: [
          `Contact: <sip:${identity}@127.0.0.1:${udp.port}>`,
          `Expires: ${expires}`,
          `Authorization: Bearer ${tok}`,
          'User-Agent: rest-test-udp/1.0',
        ],
      }).replace('To: <sip:herald@127.0.0.1>', `To: <sip:${identity}@herald.test>`);
      udp.send(msg, herald.listeners.udp!.port);
      const res = await udp.nextResponse();
      if (res === null) throw new Error('no answer to REGISTER');
      return res.status;
    }

    it('a token from POST /Tokens registers over WebSocket; Presence and Clients follow it to offline after un-REGISTER', async () => {
      const identity = 'rest-alice';
      expect(await presence(identity)).to.deep.equal({
        identity,
        status: 'offline',
        devices: [],
        activeCalls: 0,
      });
      expect((await clients()).map((c) => c.identity)).to.not.include(identity);

      const tok = await mint({ identity, incoming: true, ttl: 600 });
      const t0 = Date.now();
      const reg = await sipjsRegister(identity, tok, '55555555-5555-4555-8555-555555555555');
      expect(reg.status).to.equal(200);

      const p = await presence(identity);
      expect(p.identity).to.equal(identity);
      expect(p.status).to.equal('available');
      expect(p.activeCalls).to.equal(0);
      expect(p.devices).to.have.length(1);
      const d = p.devices[0]!;
      expect(d.transport).to.equal('ws');
      expect(d.contact)
        .to.match(/^sip:/)
        .and.match(/transport=ws/);
      expect(d.contact).to.not.match(/^</);
      expect(d.userAgent).to.match(/SIP\.js/);
      expect(d.node).to.be.a('string').and.not.equal('');
      expect(d.expiresAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      const expiresAt = Date.parse(d.expiresAt);
      // Granted no longer than the token's 600 s.
      expect(expiresAt)
        .to.be.greaterThan(t0)
        .and.at.most(t0 + 601_000);

      const listed = await clients('available');
      expect(listed).to.deep.include({ identity, status: 'available', devices: 1 });
      expect(await clients('offline')).to.deep.equal([]);

      const status = await new Promise<number>((res, rej) => {
        reg.registerer
          .unregister({
            requestOptions: { extraHeaders: [`Authorization: Bearer ${tok}`] },
            requestDelegate: {
              onAccept: (r) => res(r.message.statusCode ?? 0),
              onReject: (r) => res(r.message.statusCode ?? 0),
            },
          })
          .catch(rej);
      });
      expect(status).to.equal(200);
      // lastChange: the moment it went offline, as the presence tracker saw it (asynchronously: poll).
      let after = await presence(identity);
      for (let i = 0; i < 50 && (after as { lastChange?: string }).lastChange === undefined; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = await presence(identity);
      }
      const { lastChange, ...rest } = after as { lastChange?: string };
      expect(rest).to.deep.equal({ identity, status: 'offline', devices: [], activeCalls: 0 });
      expect(Date.parse(lastChange ?? '')).to.be.closeTo(Date.now(), 60_000);
      expect((await clients()).map((c) => c.identity)).to.not.include(identity);
    });

    it('a token minted with the account SID (signed with its first API key) registers over UDP; transport udp; Expires 0 → offline', async () => {
      const identity = 'rest-bob';
      const tok = await mint({ identity, incoming: true }, AS_ACCOUNT);
      expect(await udpRegister(identity, tok, 600)).to.equal(200);
      const p = await presence(identity);
      expect(p.status).to.equal('available');
      expect(p.devices).to.have.length(1);
      expect(p.devices[0]).to.include({
        transport: 'udp',
        contact: `sip:${identity}@127.0.0.1:${udp.port}`,
        userAgent: 'rest-test-udp/1.0',
      });
      expect(await clients()).to.deep.include({ identity, status: 'available', devices: 1 });

      expect(await udpRegister(identity, tok, 0)).to.equal(200);
      expect((await presence(identity)).status).to.equal('offline');
      expect((await clients()).map((c) => c.identity)).to.not.include(identity);
    });

    it('counts every device of a client', async () => {
      const identity = 'rest-carol';
      const tok = await mint({ identity, incoming: true });
      expect(
        (await sipjsRegister(identity, tok, '66666666-6666-4666-8666-666666666666')).status,
      ).to.equal(200);
      expect(await udpRegister(identity, tok, 600)).to.equal(200);
      const p = await presence(identity);
      expect(p.devices.map((x) => x.transport).sort()).to.deep.equal(['udp', 'ws']);
      expect(await clients()).to.deep.include({ identity, status: 'available', devices: 2 });
    });

    it("presence is per account: another account's client of the same name is offline", async () => {
      const r = await api('GET', `/v1/Accounts/${OTHER}/Clients/rest-carol/Presence`, {
        auth: basic(OTHER, OTHER_TOKEN),
      });
      expect(r.status).to.equal(200);
      expect(r.body.status).to.equal('offline');
    });

    it('Clients: an invalid status → 400 naming status; busy/away/dnd are empty for now', async () => {
      expectError(await api('GET', `/v1/Accounts/${ACCOUNT}/Clients?status=online`), 400, /status/);
      expectError(
        await api('GET', `/v1/Accounts/${ACCOUNT}/Clients?status=available&status=away`),
        400,
        /status/,
      );
      for (const s of ['busy', 'away', 'dnd']) expect(await clients(s), s).to.deep.equal([]);
    });

    it('Presence: an identity longer than 121 characters → 400 naming identity', async () => {
      expectError(
        await api('GET', `/v1/Accounts/${ACCOUNT}/Clients/${'a'.repeat(122)}/Presence`),
        400,
        /identity/,
      );
    });
  });

  describe('POST /Tokens', () => {
    const post = (body: unknown, auth = AS_KEY): Promise<Answer> =>
      api('POST', `/v1/Accounts/${ACCOUNT}/Tokens`, { auth, body });

    it('mints a Twilio-format token with the grants asked for, signed by the API key used', async () => {
      const r = await post({
        identity: 'tok-1',
        incoming: true,
        outgoingApplicationSid: APP,
        ttl: 120,
      });
      expect(r.status).to.equal(201);
      expect(r.headers.get('cache-control')).to.equal('no-store');
      expect(Object.keys(r.body)).to.deep.equal(['token']);
      const token = r.body.token as string;
      const { header, payload } = jwt.verify(token, SECRET, { complete: true }) as unknown as {
        header: Record<string, unknown>;
        payload: Record<string, unknown>;
      };
      expect(header).to.include({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
      expect(payload).to.include({ iss: KEY, sub: ACCOUNT });
      expect((payload.exp as number) - (payload.iat as number)).to.equal(120);
      expect(payload.grants).to.deep.equal({
        identity: 'tok-1',
        voice: { incoming: { allow: true }, outgoing: { application_sid: APP } },
      });

      // Authenticated with the second key: signed with the second key.
      const second = await post({ identity: 'tok-1' }, basic(KEY2, SECRET2));
      expect(second.status).to.equal(201);
      const claims = jwt.verify(second.body.token as string, SECRET2) as Record<string, unknown>;
      expect(claims).to.include({ iss: KEY2, sub: ACCOUNT });
      expect(() => jwt.verify(second.body.token as string, SECRET)).to.throw(/signature/);
    });

    it("authenticated with the account SID: signed with the account's first API key", async () => {
      const claims = jwt.verify(await mint({ identity: 'tok-7' }, AS_ACCOUNT), SECRET) as Record<
        string,
        unknown
      >;
      expect(claims).to.include({ iss: KEY, sub: ACCOUNT });
    });

    it('without incoming or an application the token carries only the identity; ttl defaults to 3600', async () => {
      const token = await mint({ identity: 'tok-2' });
      const payload = jwt.decode(token) as Record<string, unknown>;
      expect(payload.grants).to.deep.equal({ identity: 'tok-2' });
      expect((payload.exp as number) - (payload.iat as number)).to.equal(3600);
    });

    it('missing identity → 400 naming identity', async () => {
      expectError(await post({ incoming: true }), 400, /^identity: is required/);
    });

    it('identity of characters a token cannot carry, or too long → 400 naming identity', async () => {
      for (const identity of ['', 'has space', 'a/b', 'x'.repeat(122), 42]) {
        expectError(await post({ identity }), 400, /^identity: /);
      }
    });

    it('bad ttl (0, 86401, 1.5, "60") → 400 naming ttl', async () => {
      for (const ttl of [0, 86_401, 1.5, '60', -5]) {
        expectError(await post({ identity: 'tok-3', ttl }), 400, /^ttl: /);
      }
      expect((await post({ identity: 'tok-3', ttl: 86_400 })).status).to.equal(201);
    });

    it('incoming that is not a boolean → 400 naming incoming', async () => {
      expectError(await post({ identity: 'tok-4', incoming: 'yes' }), 400, /^incoming: /);
    });

    it('unknown application, or not a string → 400 naming outgoingApplicationSid', async () => {
      expectError(
        await post({
          identity: 'tok-5',
          outgoingApplicationSid: 'AP00000000000000000000000000de0009',
        }),
        400,
        /^outgoingApplicationSid: .*AP00000000000000000000000000de0009/,
      );
      expectError(
        await post({ identity: 'tok-5', outgoingApplicationSid: 7 }),
        400,
        /^outgoingApplicationSid: /,
      );
    });

    it('unknown fields (a typo) → 400 naming them', async () => {
      expectError(
        await post({ identity: 'tok-6', outgoingApplicationSID: APP }),
        400,
        /^outgoingApplicationSID: unknown field/,
      );
    });

    it('a body that is not a JSON object, or not JSON → 400', async () => {
      expectError(await post([]), 400, /^body: /);
      expectError(
        await api('POST', `/v1/Accounts/${ACCOUNT}/Tokens`, { auth: AS_KEY }),
        400,
        /^body: /,
      );
      expectError(
        await api('POST', `/v1/Accounts/${ACCOUNT}/Tokens`, {
          auth: AS_KEY,
          rawBody: '{"identity":',
        }),
        400,
        /JSON/,
      );
    });

    it('an account without any API key → 409 explaining why', async () => {
      const r = await api('POST', `/v1/Accounts/${OTHER}/Tokens`, {
        auth: basic(OTHER, OTHER_TOKEN),
        body: { identity: 'x' },
      });
      expectError(r, 409, /API key/);
    });
  });
});
