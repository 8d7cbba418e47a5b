/**
 * The concurrency gate on the REST API (CONTRACT §6), against a real
 * `herald serve`, with the memory gate and with Redis (HERALD_REDIS_URL):
 * each account-scoped request holds a slot of its resource type while in
 * progress (`limits.api` per account and type); over the limit `429` with
 * `Retry-After` and code 20429; slots come back when requests end or their
 * clients go away; `/Usage` and `/metrics` show them.
 *
 * A request is kept in progress honestly: its body is streamed slowly
 * (node:http, part of a declared Content-Length written, the rest later), so
 * the server has taken its slot (onRequest) and waits for the body. Nothing in
 * the server knows about tests.
 */
import { expect } from 'chai';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const ACCOUNT = `AC${'0'.repeat(28)}a7e1`;
const TOKEN = 'gate-test-auth-token-0001';
const OTHER = `AC${'0'.repeat(28)}a7e2`;
const OTHER_TOKEN = 'gate-test-auth-token-0002';
const AUTH = `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`;
const OTHER_AUTH = `Basic ${Buffer.from(`${OTHER}:${OTHER_TOKEN}`).toString('base64')}`;
const PRESENCE = `/v1/Accounts/${ACCOUNT}/Clients/alice/Presence`;
const USAGE = `/v1/Accounts/${ACCOUNT}/Usage`;

function config(apiQueueMs: number): string {
  return writeConfig(`
accounts:
  - sid: ${ACCOUNT}
    authToken: ${TOKEN}
    limits: { calls: 3, api: 1, devicesPerClient: 10 }
  - sid: ${OTHER}
    authToken: ${OTHER_TOKEN}
    limits: { calls: 5, api: 1, devicesPerClient: 10 }
gate:
  apiQueueMs: ${apiQueueMs}
`);
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

interface Usage {
  calls: { inUse: number; limit: number };
  api: { inUse: number; limit: number };
}

async function call(node: HeraldProcess, method: string, path: string, o: { auth?: string; body?: unknown } = {}): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${node.listeners.http!.port}${path}`, {
    method,
    headers: { authorization: o.auth ?? AUTH, ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const putAway = (node: HeraldProcess, auth = AUTH, path = PRESENCE): Promise<Answer> => call(node, 'PUT', path, { auth, body: { status: 'away' } });

async function usage(node: HeraldProcess): Promise<Usage> {
  const r = await call(node, 'GET', USAGE);
  expect(r.status, JSON.stringify(r.body)).to.equal(200);
  return r.body as unknown as Usage;
}

async function usageBecomes(node: HeraldProcess, apiInUse: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const u = await usage(node);
    if (u.api.inUse === apiInUse) return;
    if (Date.now() > deadline) throw new Error(`api.inUse stayed ${u.api.inUse}, expected ${apiInUse}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A PUT whose body arrives only when `finish()` is called: the server holds its slot meanwhile. */
interface SlowRequest {
  finish(): Promise<Answer>;
  abort(): void;
}

function slowPut(node: HeraldProcess, path = PRESENCE): SlowRequest {
  const body = JSON.stringify({ status: 'dnd' });
  const half = Math.floor(body.length / 2);
  const req: ClientRequest = httpRequest({
    host: '127.0.0.1',
    port: node.listeners.http!.port,
    method: 'PUT',
    path,
    headers: { authorization: AUTH, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
  });
  const answered = new Promise<Answer>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.once('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
      });
    });
    req.once('error', reject);
  });
  answered.catch(() => undefined); // abort() makes it reject on purpose
  req.write(body.slice(0, half));
  return {
    finish: () => {
      req.end(body.slice(half));
      return answered;
    },
    abort: () => req.destroy(),
  };
}

async function scrape(node: HeraldProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${node.listeners.http!.port}/metrics`)).text();
}

/** The value of `name` with these labels on /metrics (label order free), or null. */
function metric(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

function expect429(r: Answer, resource: string): void {
  expect(r.status, JSON.stringify(r.body)).to.equal(429);
  expect(r.headers.get('retry-after')).to.match(/^[1-9]\d*$/);
  expect(r.headers.get('content-type')).to.match(/^application\/json/);
  expect(Object.keys(r.body).sort()).to.deep.equal(['code', 'message', 'status']);
  expect(r.body.code).to.equal(20429);
  expect(r.body.status).to.equal(429);
  expect(r.body.message).to.be.a('string').and.match(new RegExp(resource));
}

for (const store of ['memory', 'redis'] as const) {
  describe(`REST concurrency gate (${store})`, function () {
    this.timeout(60_000);
    let redis: RedisServer | undefined;
    let herald: HeraldProcess;
    const env = (): Record<string, string> => (redis !== undefined ? { HERALD_REDIS_URL: redis.url } : {});

    before(async () => {
      if (store === 'redis') redis = await startRedis();
      herald = await startHerald({ config: config(0), env: env() });
    });
    after(async () => {
      await herald?.stop();
      await redis?.stop();
    });

    it('an idle account uses nothing: Usage is {calls: {0, limits.calls}, api: {0, limits.api}}', async () => {
      expect(await usage(herald)).to.deep.equal({ calls: { inUse: 0, limit: 3 }, api: { inUse: 0, limit: 1 } });
      const other = await call(herald, 'GET', `/v1/Accounts/${OTHER}/Usage`, { auth: OTHER_AUTH });
      expect(other.body).to.deep.equal({ calls: { inUse: 0, limit: 5 }, api: { inUse: 0, limit: 1 } });
    });

    it('a request in progress holds its slot: the next of its resource type gets 429, other types and accounts do not', async () => {
      const slow = slowPut(herald);
      await usageBecomes(herald, 1);
      expect429(await putAway(herald), 'Presence');
      // GET of the same resource (Presence) shares its slots.
      expect429(await call(herald, 'GET', PRESENCE), 'Presence');
      // Another resource type, another account: their own slots.
      expect((await call(herald, 'GET', `/v1/Accounts/${ACCOUNT}/Clients`)).status).to.equal(200);
      expect((await putAway(herald, OTHER_AUTH, `/v1/Accounts/${OTHER}/Clients/alice/Presence`)).status).to.equal(200);
      // Auth comes before the slot: another account's credentials get 403, not 429.
      expect((await call(herald, 'PUT', PRESENCE, { auth: OTHER_AUTH, body: { status: 'away' } })).status).to.equal(403);

      const done = await slow.finish();
      expect(done.status, JSON.stringify(done.body)).to.equal(200);
      expect(done.body.identity).to.equal('alice');
      // Its slot is back: the next request goes through.
      await usageBecomes(herald, 0);
      expect((await putAway(herald)).status).to.equal(200);
      expect(await usage(herald)).to.deep.equal({ calls: { inUse: 0, limit: 3 }, api: { inUse: 0, limit: 1 } });
    });

    it('a client that goes away mid-request gives its slot back', async () => {
      const slow = slowPut(herald);
      await usageBecomes(herald, 1);
      expect429(await putAway(herald), 'Presence');
      slow.abort();
      await usageBecomes(herald, 0);
      expect((await putAway(herald)).status).to.equal(200);
    });

    it('many requests in a row and at once leave no slot behind', async () => {
      for (let i = 0; i < 20; i++) expect((await putAway(herald)).status).to.equal(200);
      const burst = await Promise.all(Array.from({ length: 20 }, () => putAway(herald)));
      const statuses = new Set(burst.map((r) => r.status));
      for (const s of statuses) expect([200, 429]).to.include(s);
      expect(burst.some((r) => r.status === 200)).to.equal(true);
      await usageBecomes(herald, 0);
      expect((await putAway(herald)).status).to.equal(200);
    });

    it('/metrics shows grants, refusals, 429s and slots in use per account and resource type', async () => {
      const slow = slowPut(herald);
      await usageBecomes(herald, 1);
      expect429(await putAway(herald), 'Presence');
      const held = await scrape(herald);
      const labels = { account: ACCOUNT, resource: 'api:Presence' };
      expect(metric(held, 'herald_gate_in_use', labels)).to.equal(1);
      expect(metric(held, 'herald_gate_granted_total', labels)).to.be.at.least(1);
      expect(metric(held, 'herald_gate_refused_total', labels)).to.be.at.least(1);
      expect(metric(held, 'herald_api_throttled_total', labels)).to.be.at.least(1);
      expect(held).to.match(/^# TYPE herald_gate_expired_total counter$/m);
      expect((await slow.finish()).status).to.equal(200);
      await usageBecomes(herald, 0);
      expect(metric(await scrape(herald), 'herald_gate_in_use', labels)).to.equal(0);
    });

    describe('queueing (gate.apiQueueMs)', () => {
      const QUEUE_MS = 4000;
      let queued: HeraldProcess;
      before(async () => {
        queued = await startHerald({ config: config(QUEUE_MS), env: env() });
      });
      after(async () => {
        await queued?.stop();
      });

      it('a request over the limit waits for the slot a finishing request frees', async () => {
        const slow = slowPut(queued);
        await usageBecomes(queued, 1);
        let settled = false;
        const waiting = putAway(queued).finally(() => (settled = true));
        // Refused at least once, so it is waiting now.
        const labels = { account: ACCOUNT, resource: 'api:Presence' };
        for (;;) {
          if ((metric(await scrape(queued), 'herald_gate_refused_total', labels) ?? 0) >= 1) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(settled).to.equal(false);
        expect((await slow.finish()).status).to.equal(200);
        const r = await waiting;
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
        expect(metric(await scrape(queued), 'herald_api_throttled_total', labels) ?? 0).to.equal(0);
      });

      it('gives up with 429 after apiQueueMs when no slot frees', async () => {
        const slow = slowPut(queued);
        await usageBecomes(queued, 1);
        const start = Date.now();
        expect429(await putAway(queued), 'Presence');
        expect(Date.now() - start).to.be.at.least(QUEUE_MS - 50);
        expect((await slow.finish()).status).to.equal(200);
      });
    });

    if (store === 'redis') {
      it('two nodes sharing Redis share the limit: a request held on one makes the other refuse', async () => {
        const second = await startHerald({ config: config(0), env: env() });
        try {
          const slow = slowPut(herald);
          await usageBecomes(second, 1);
          expect429(await putAway(second), 'Presence');
          expect((await slow.finish()).status).to.equal(200);
          await usageBecomes(second, 0);
          expect((await putAway(second)).status).to.equal(200);
        } finally {
          await second.stop();
        }
      });
    }
  });
}
