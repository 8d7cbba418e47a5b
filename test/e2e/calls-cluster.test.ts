/**
 * Calls in a cluster (CONTRACT §5, §6 with HERALD_REDIS_URL): two
 * `herald serve` nodes share a real redis-server. A call placed on node A
 * is served by node B's REST API while it lasts and after it ended (call
 * records live in Redis).
 */
import { expect } from 'chai';
import twilio from 'twilio';
import { mintAccessToken } from '../../src/auth/access-token.js';
import type { CallRecord } from '../../src/store/call-record-store.js';
import { AppServer } from '../integration/instructions/app-server.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { ACCOUNT, APP, AS_ACCOUNT, AUTH_TOKEN, accountYaml, callsInUseBecomes, KEY, SECRET } from '../helpers/test-account.js';
import { placeCall } from '../helpers/sipjs-caller.js';
import { registerPhone, startPhone, type Phone } from '../helpers/sipjs-phone.js';

const token = (identity: string, outgoing = false) =>
  mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity, incoming: true, ttl: 3600, ...(outgoing ? { outgoingApplicationSid: APP } : {}) });

const dialClient = (identity: string): string => {
  const r = new twilio.twiml.VoiceResponse();
  r.dial({ timeout: 10 }).client(identity);
  return r.toString();
};

describe('calls in a cluster: two nodes, one redis-server', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let app: AppServer;
  let a: HeraldProcess;
  let b: HeraldProcess;
  const phones: Phone[] = [];

  before(async () => {
    app = await AppServer.start(AUTH_TOKEN);
    redis = await startRedis();
    const config = writeConfig(accountYaml({ voiceUrl: app.url('/voice') }));
    [a, b] = await Promise.all([
      startHerald({ config, env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-a' } }),
      startHerald({ config, env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-b' } }),
    ]);
  });
  after(async () => {
    for (const p of phones) await p.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await app?.close();
  });

  const ws = (node: HeraldProcess) => `ws://127.0.0.1:${node.listeners.ws!.port}`;

  async function device(identity: string, node: HeraldProcess, sdpPort: number): Promise<Phone> {
    const phone = await startPhone({ identity, wsUrl: ws(node), sdpPort });
    phones.push(phone);
    expect(await registerPhone(phone, token(identity))).to.equal(200);
    return phone;
  }

  async function restGet<T>(node: HeraldProcess, path: string): Promise<{ status: number; body: T }> {
    const res = await fetch(`http://127.0.0.1:${node.listeners.http!.port}/v1/Accounts/${ACCOUNT}${path}`, { headers: { authorization: AS_ACCOUNT } });
    return { status: res.status, body: (await res.json()) as T };
  }

  /** Polls node's GET …/Calls/{sid} until its status is `status`. */
  async function recordBecomes(node: HeraldProcess, sid: string, status: string): Promise<CallRecord> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await restGet<CallRecord>(node, `/Calls/${sid}`);
      if (r.status === 200 && r.body.status === status) return r.body;
      if (Date.now() > deadline) throw new Error(`call ${sid} on ${node.listeners.http!.port}: ${JSON.stringify(r)}, expected ${status}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  it('a call on node A is served by node B: in progress while it lasts (with its dialed leg), completed after', async () => {
    app.twiml('/voice', dialClient('alice'));
    const alice = await device('alice', a, 22000);
    const ringing = alice.nextCall();
    const calling = placeCall({ wsUrl: ws(a), identity: 'bob', to: 'alice', token: token('bob', true), sdpPort: 22002 });
    await (await ringing).invitation.accept();
    const call = await calling;
    phones.push(call.phone);
    expect(call.status).to.equal(200);
    const sid = (await app.next('/voice')).params.CallSid as string;

    const live = await recordBecomes(b, sid, 'in-progress');
    expect(live).to.include({ accountSid: ACCOUNT, from: 'client:bob', to: 'alice', direction: 'inbound', node: 'node-a', endTime: null });
    expect(live.answerTime).to.be.a('string');
    const inProgress = await restGet<{ calls: CallRecord[] }>(b, '/Calls?status=in-progress');
    const leg = inProgress.body.calls.find((c) => c.parentCallSid === sid);
    expect(leg, JSON.stringify(inProgress.body)).to.not.equal(undefined);
    expect(leg).to.include({ direction: 'outbound-dial', to: 'client:alice', status: 'in-progress', node: 'node-a' });
    expect(inProgress.body.calls.map((c) => c.sid)).to.include(sid);

    await call.inviter.bye();
    await call.terminated;
    const done = await recordBecomes(b, sid, 'completed');
    expect(done).to.include({ endReason: 'caller-hangup', node: 'node-a' });
    expect(done.endTime).to.be.a('string');
    expect(done.duration).to.be.a('number');
    expect((await recordBecomes(b, leg!.sid, 'completed')).parentCallSid).to.equal(sid);
    const completed = await restGet<{ calls: CallRecord[] }>(b, '/Calls?status=completed');
    expect(completed.body.calls.map((c) => c.sid)).to.include.members([sid, leg!.sid]);
    expect((await restGet<{ calls: CallRecord[] }>(b, '/Calls?status=in-progress')).body.calls).to.deep.equal([]);
    await callsInUseBecomes(a, 0);
  });
});
