/**
 * Presence status (CONTRACT §4, §6) against a real `herald serve`: REST PUT
 * and GET of a client's status, Clients?status= filtering by effective
 * status, and SIP PUBLISH (RFC 3903) of PIDF (RFC 3863) over UDP with an
 * access token, with refresh, removal and every refusal.
 */
import { expect } from 'chai';
import { mintAccessToken } from '../../src/auth/access-token.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';

// The default config's demo account (config/default.yaml).
const ACCOUNT = 'AC00000000000000000000000000de0001';
const AUTH_TOKEN = 'demo-auth-token-change-me-0001';
const KEY = 'SK00000000000000000000000000de0001';
const SECRET = 'demo-api-key-secret-change-me';
const AS_ACCOUNT = `Basic ${Buffer.from(`${ACCOUNT}:${AUTH_TOKEN}`).toString('base64')}`;

const token = (identity: string, incoming = true) =>
  mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity, incoming, ttl: 3600 });

const pidf = (identity: string, basic: 'open' | 'closed', extra = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
  xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:${identity}@herald.test">
  <tuple id="t1"><status><basic>${basic}</basic></status></tuple>
  ${extra}
</presence>`;

interface Presence {
  identity: string;
  status: string;
  devices: unknown[];
  activeCalls: number;
  lastChange?: string;
}

describe('presence status: REST and SIP PUBLISH', function () {
  let herald: HeraldProcess;
  let udp: UdpPeer;

  before(async () => {
    herald = await startHerald();
    udp = await UdpPeer.open();
  });
  after(async () => {
    udp?.close();
    await herald?.stop();
  });

  async function api(method: string, path: string, body?: unknown, rawBody?: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = { authorization: AS_ACCOUNT };
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  const presence = async (identity: string): Promise<Presence> => {
    const r = await api('GET', `/Clients/${identity}/Presence`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body as unknown as Presence;
  };
  const put = (identity: string, status: unknown) => api('PUT', `/Clients/${identity}/Presence`, { status });
  const listed = async (status: string): Promise<string[]> => {
    const r = await api('GET', `/Clients?status=${status}`);
    expect(r.status).to.equal(200);
    return (r.body as { clients: Array<{ identity: string }> }).clients.map((c) => c.identity);
  };

  async function sip(method: string, identity: string, extra: string[], body?: string) {
    const msg = request(method, {
      transport: 'UDP',
      port: udp.port,
      uri: `sip:${identity}@herald.test`,
      extra,
      ...(body !== undefined ? { body } : {}),
    }).replace('To: <sip:herald@127.0.0.1>', `To: <sip:${identity}@herald.test>`);
    udp.send(msg, herald.listeners.udp!.port);
    const res = await udp.nextResponse();
    if (res === null) throw new Error(`no answer to ${method}`);
    return res;
  }

  const register = async (identity: string) => {
    const res = await sip('REGISTER', identity, [`Contact: <sip:${identity}@127.0.0.1:${udp.port}>`, 'Expires: 600', `Authorization: Bearer ${token(identity)}`]);
    expect(res.status).to.equal(200);
  };

  const publish = (identity: string, o: { auth?: string | null; event?: string; contentType?: string; body?: string; ifMatch?: string; expires?: number }) =>
    sip(
      'PUBLISH',
      identity,
      [
        `Event: ${o.event ?? 'presence'}`,
        ...(o.auth === null ? [] : [`Authorization: ${o.auth ?? `Bearer ${token(identity)}`}`]),
        ...(o.expires !== undefined ? [`Expires: ${o.expires}`] : []),
        ...(o.ifMatch !== undefined ? [`SIP-If-Match: ${o.ifMatch}`] : []),
        ...(o.body !== undefined ? [`Content-Type: ${o.contentType ?? 'application/pidf+xml'}`] : []),
      ],
      o.body,
    );

  describe('REST', () => {
    it('PUT away → 200 with the presence; GET says away with lastChange', async () => {
      await register('p-alice');
      const t0 = Date.now();
      const r = await put('p-alice', 'away');
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.include({ identity: 'p-alice', status: 'away', activeCalls: 0 });
      const p = await presence('p-alice');
      expect(p.status).to.equal('away');
      expect(p.devices).to.have.length(1);
      expect(Date.parse(p.lastChange!)).to.be.within(t0 - 1000, Date.now() + 1000);
      expect(p.lastChange).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      // Setting the same status again is no change; available is.
      await put('p-alice', 'away');
      expect((await presence('p-alice')).lastChange).to.equal(p.lastChange);
      expect((await put('p-alice', 'available')).body).to.include({ status: 'available' });
      expect((await presence('p-alice')).status).to.equal('available');
    });

    it('a client without a binding stays offline when set to away', async () => {
      const r = await put('p-ghost', 'away');
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ status: 'offline' });
      const p = await presence('p-ghost');
      expect(p.status).to.equal('offline');
      expect(p.lastChange).to.be.a('string');
      expect(await listed('away')).to.not.include('p-ghost');
    });

    it('Clients?status= lists present clients by effective status', async () => {
      for (const id of ['p-bob', 'p-carol', 'p-dan']) await register(id);
      await put('p-bob', 'away');
      await put('p-carol', 'dnd');
      expect((await listed('away')).filter((i) => i.startsWith('p-'))).to.deep.equal(['p-bob']);
      expect((await listed('dnd')).filter((i) => i.startsWith('p-'))).to.deep.equal(['p-carol']);
      const available = await listed('available');
      expect(available).to.include('p-dan').and.not.include('p-bob').and.not.include('p-carol');
      expect(await listed('busy')).to.deep.equal([]);
      expect(await listed('offline')).to.deep.equal([]);
    });

    it('a bad body → 400 JSON naming the field', async () => {
      const cases: Array<[unknown, string | undefined, RegExp]> = [
        [{ status: 'busy' }, undefined, /status/],
        [{ status: 'offline' }, undefined, /status/],
        [{ status: 3 }, undefined, /status/],
        [{}, undefined, /status/],
        [{ status: 'away', extra: 1 }, undefined, /extra/],
        [undefined, '[1]', /body/],
        [undefined, '"away"', /body/],
      ];
      for (const [body, raw, field] of cases) {
        const r = await api('PUT', '/Clients/p-alice/Presence', body, raw);
        expect(r.status, JSON.stringify(body ?? raw)).to.equal(400);
        expect(r.body.status).to.equal(400);
        expect(String(r.body.message)).to.match(field);
      }
    });
  });

  describe('SIP PUBLISH', () => {
    it('PIDF open + rpid busy → 200 with SIP-ETag and Expires; REST says dnd', async () => {
      await register('p-erin');
      const res = await publish('p-erin', {
        expires: 600,
        body: pidf('p-erin', 'open', '<dm:person id="p"><rpid:activities><rpid:busy/></rpid:activities></dm:person>'),
      });
      expect(res.status).to.equal(200);
      expect(res.headers.get('sip-etag')).to.be.a('string').and.not.equal('');
      expect(res.headers.get('expires')).to.equal('600');
      expect((await presence('p-erin')).status).to.equal('dnd');
      expect(await listed('dnd')).to.include('p-erin');
    });

    it('maps notes and basic: note "Away" → away, closed → away, open → available', async () => {
      await register('p-fay');
      expect((await publish('p-fay', { body: pidf('p-fay', 'open', '<note xml:lang="en">Away</note>') })).status).to.equal(200);
      expect((await presence('p-fay')).status).to.equal('away');
      expect((await publish('p-fay', { body: pidf('p-fay', 'open', '<note>DND</note>') })).status).to.equal(200);
      expect((await presence('p-fay')).status).to.equal('dnd');
      expect((await publish('p-fay', { body: pidf('p-fay', 'closed') })).status).to.equal(200);
      expect((await presence('p-fay')).status).to.equal('away');
      expect((await publish('p-fay', { body: pidf('p-fay', 'open') })).status).to.equal(200);
      expect((await presence('p-fay')).status).to.equal('available');
    });

    it('refresh with SIP-If-Match → 200 with a new ETag; the old one → 412; Expires 0 removes (available)', async () => {
      await register('p-gus');
      const first = await publish('p-gus', { body: pidf('p-gus', 'open', '<note>away</note>') });
      const etag1 = first.headers.get('sip-etag')!;
      const refresh = await publish('p-gus', { ifMatch: etag1, expires: 300 });
      expect(refresh.status).to.equal(200);
      const etag2 = refresh.headers.get('sip-etag')!;
      expect(etag2).to.be.a('string').and.not.equal(etag1);
      expect(refresh.headers.get('expires')).to.equal('300');
      expect((await presence('p-gus')).status).to.equal('away');

      expect((await publish('p-gus', { ifMatch: etag1 })).status).to.equal(412);
      expect((await publish('p-gus', { ifMatch: 'never-issued' })).status).to.equal(412);

      const removed = await publish('p-gus', { ifMatch: etag2, expires: 0 });
      expect(removed.status).to.equal(200);
      expect(removed.headers.get('expires')).to.equal('0');
      expect((await presence('p-gus')).status).to.equal('available');
      expect((await publish('p-gus', { ifMatch: etag2 })).status).to.equal(412);
    });

    it('a REST PUT voids the published entity tag', async () => {
      await register('p-hal');
      const etag = (await publish('p-hal', { body: pidf('p-hal', 'closed') })).headers.get('sip-etag')!;
      await put('p-hal', 'dnd');
      expect((await publish('p-hal', { ifMatch: etag })).status).to.equal(412);
      expect((await presence('p-hal')).status).to.equal('dnd');
    });

    it('wrong Event → 489 with Allow-Events: presence', async () => {
      const res = await publish('p-ivy', { event: 'dialog', body: pidf('p-ivy', 'open') });
      expect(res.status).to.equal(489);
      expect(res.headers.get('allow-events')).to.equal('presence');
    });

    it('wrong Content-Type → 415 with Accept: application/pidf+xml', async () => {
      const res = await publish('p-ivy', { contentType: 'application/xpidf+xml', body: pidf('p-ivy', 'open') });
      expect(res.status).to.equal(415);
      expect(res.headers.get('accept')).to.equal('application/pidf+xml');
    });

    it('malformed PIDF → 400; Expires too short → 423 with Min-Expires', async () => {
      expect((await publish('p-ivy', { body: '<presence><tuple>' })).status).to.equal(400);
      expect((await publish('p-ivy', { body: '<presence xmlns="urn:ietf:params:xml:ns:pidf"/>' })).status).to.equal(400);
      const short = await publish('p-ivy', { expires: 5, body: pidf('p-ivy', 'open') });
      expect(short.status).to.equal(423);
      expect(short.headers.get('min-expires')).to.equal('60');
    });

    it('no credentials → 401 Bearer challenge; a token for another identity or without incoming → 403', async () => {
      const none = await publish('p-jo', { auth: null, body: pidf('p-jo', 'open') });
      expect(none.status).to.equal(401);
      expect(none.headers.getAll('www-authenticate')).to.include('Bearer realm="herald"');
      expect((await publish('p-jo', { auth: 'Bearer garbage', body: pidf('p-jo', 'open') })).status).to.equal(401);
      expect((await publish('p-jo', { auth: `Bearer ${token('p-other')}`, body: pidf('p-jo', 'open') })).status).to.equal(403);
      expect((await publish('p-jo', { auth: `Bearer ${token('p-jo', false)}`, body: pidf('p-jo', 'open') })).status).to.equal(403);
      expect((await presence('p-jo')).lastChange).to.equal(undefined);
    });

    it('OPTIONS lists PUBLISH in Allow and PIDF in Accept', async () => {
      const res = await sip('OPTIONS', 'herald', []);
      expect(res.headers.get('allow')).to.include('PUBLISH');
      expect(res.headers.get('accept')).to.include('application/pidf+xml');
    });
  });
});
