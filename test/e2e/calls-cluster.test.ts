/**
 * Calls in a cluster (CONTRACT §5, §6 with HERALD_REDIS_URL): two
 * `herald serve` nodes share a real redis-server. A call placed on node A
 * is served by node B's REST API while it lasts and after it ended (call
 * records live in Redis). A call arriving at node A for a client whose
 * WebSocket is held by node B is relayed through B (DESIGN "Cluster
 * routing"): ringing, answer, CANCEL and BYE in both directions; the client
 * is busy on every node while it is in the call.
 */
import { expect } from 'chai';
import twilio from 'twilio';
import type { CallRecord } from '../../src/store/call-record-store.js';
import { AppServer } from '../integration/instructions/app-server.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { ACCOUNT, AS_ACCOUNT, AUTH_TOKEN, accountYaml, callsInUseBecomes, clientToken } from '../helpers/test-account.js';
import { run } from '../helpers/run.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';
import { placeCall } from '../helpers/sipjs-caller.js';
import { registerPhone, startPhone, type Phone } from '../helpers/sipjs-phone.js';

const token = clientToken;

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

  const presenceOn = async (node: HeraldProcess, identity: string): Promise<string> => (await restGet<{ status: string }>(node, `/Clients/${identity}/Presence`)).body.status;

  it('a trunk call into node A for a client whose WebSocket is on node B: relayed through B, answered, the trunk\'s BYE reaches the device', async () => {
    app.twiml('/voice', dialClient('carol'));
    const carol = await device('carol', b, 22010);
    const ringing = carol.nextCall();
    const sipp = run('sipp', ['-sn', 'uac', '-s', '+15550001111', '-m', '1', '-d', '1000', '-i', '127.0.0.1', '-p', '0', '-timeout', '20s', '-timeout_error', '-nostdin', `127.0.0.1:${a.listeners.udp!.port}`]);
    const incoming = await ringing;
    // The INVITE came over B's WebSocket, with B's Record-Route so the dialog stays on the relay.
    expect(incoming.invitation.request.getHeader('record-route')).to.match(/;lr/);
    const ended = new Promise<void>((r) => incoming.invitation.stateChange.addListener((st) => st === 'Terminated' && r()));
    await incoming.invitation.accept();
    const r = await sipp;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    await ended;
    // The caller's offer reached the device through both nodes.
    expect(incoming.invitation.body).to.match(/^v=0/);
    await callsInUseBecomes(a, 0);
  });

  it('a client on node A calls a client on node B: both busy on both nodes while it lasts; the callee\'s BYE ends it', async () => {
    app.twiml('/voice', dialClient('dave'));
    const dave = await device('dave', b, 22012);
    await device('erin', a, 22014);
    const ringing = dave.nextCall();
    const calling = placeCall({ wsUrl: ws(a), identity: 'erin', to: 'dave', token: token('erin', true), sdpPort: 22016 });
    const incoming = await ringing;
    await incoming.invitation.accept();
    const call = await calling;
    phones.push(call.phone);
    expect(call.status).to.equal(200);
    for (const node of [a, b]) {
      expect(await presenceOn(node, 'dave'), `dave on ${node.listeners.http!.port}`).to.equal('busy');
      expect(await presenceOn(node, 'erin'), `erin on ${node.listeners.http!.port}`).to.equal('busy');
    }
    await incoming.invitation.bye();
    await call.terminated;
    await callsInUseBecomes(a, 0);
    for (const node of [a, b]) expect(await presenceOn(node, 'dave')).to.equal('available');
  });

  it('the caller cancels while a client on node B rings: the device on B gets the CANCEL through the relay, the caller 487, no slot is left', async () => {
    app.twiml('/voice', dialClient('fay'));
    const fay = await device('fay', b, 22018);
    const ringing = fay.nextCall();
    const calling = placeCall({ wsUrl: ws(a), identity: 'gus', to: 'fay', token: token('gus', true), sdpPort: 22020, cancelAfterRinging: true });
    const incoming = await ringing;
    await incoming.invitation.progress();
    const call = await calling;
    phones.push(call.phone);
    expect(call.status).to.equal(487);
    await incoming.canceled;
    await callsInUseBecomes(a, 0);
  });

  it('a request with a relay route that does not verify is refused with 403, and nothing reaches the device', async () => {
    const mallory = await device('mallory', b, 22022);
    const peer = await UdpPeer.open();
    try {
      const b64 = (x: string) => Buffer.from(x).toString('base64url');
      // A route in the relay's form, but signed with a key that is not the account's.
      const forged = `<sip:127.0.0.1:${b.listeners.udp!.port};transport=udp;lr;herald-relay=${b64('node-b')}.${b64(ACCOUNT)}.${b64('ws-anything')}.${Buffer.alloc(16, 1).toString('base64url')}>`;
      peer.send(request('INVITE', { transport: 'UDP', port: peer.port, uri: 'sip:mallory@abc.invalid;transport=ws', extra: [`Route: ${forged}`, 'Contact: <sip:x@127.0.0.1>'] }), b.listeners.udp!.port);
      const res = await peer.nextResponse(5000, true);
      expect(res?.status).to.equal(403);
      expect(res?.reason).to.match(/bad relay signature/);
      expect(mallory.incoming).to.have.length(0);
    } finally {
      peer.close();
    }
  });

  it('a call on node A is served by node B: in progress while it lasts (with its dialed leg), completed after', async () => {
    app.twiml('/voice', dialClient('alice'));
    const alice = await device('alice', a, 22000);
    const ringing = alice.nextCall();
    const calling = placeCall({ wsUrl: ws(a), identity: 'bob', to: 'alice', token: token('bob', true), sdpPort: 22002 });
    await (await ringing).invitation.accept();
    const call = await calling;
    phones.push(call.phone);
    expect(call.status).to.equal(200);
    const sid = app.requestsTo('/voice').at(-1)!.params.CallSid as string;

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
