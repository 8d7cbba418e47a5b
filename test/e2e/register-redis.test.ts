/**
 * With HERALD_REDIS_URL two nodes share their bindings (CONTRACT §1, §4): a
 * client registered on node A is present when asked on node B, and leaves
 * when its WebSocket on node A closes; a Digest nonce issued by one node is
 * good on the other, and a request replayed to the other node is refused.
 * A real redis-server per run.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import { mintAccessToken } from '../../src/auth/access-token.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { startRedis } from '../helpers/redis-server.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';

const ACCOUNT = 'AC00000000000000000000000000de0001';
const AUTH = 'Basic ' + Buffer.from(`${ACCOUNT}:demo-auth-token-change-me-0001`).toString('base64');
const token = (identity: string) =>
  mintAccessToken({ accountSid: ACCOUNT, apiKeySid: 'SK00000000000000000000000000de0001', apiKeySecret: 'demo-api-key-secret-change-me', identity, incoming: true });

describe('two nodes sharing Redis', function () {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let a: HeraldProcess;
  let b: HeraldProcess;
  let udp: UdpPeer;

  before(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([
      startHerald({ env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-a' } }),
      startHerald({ env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-b' } }),
    ]);
    udp = await UdpPeer.open();
  });
  after(async () => {
    udp.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  const presence = async (node: HeraldProcess, identity: string) =>
    (await (await fetch(`http://127.0.0.1:${node.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Clients/${identity}/Presence`, { headers: { authorization: AUTH } })).json()) as {
      status: string;
      devices: Array<{ node: string; transport: string }>;
    };

  async function presenceBecomes(node: HeraldProcess, identity: string, status: string): Promise<void> {
    const deadline = Date.now() + 10000;
    for (;;) {
      const p = await presence(node, identity);
      if (p.status === status) return;
      if (Date.now() > deadline) throw new Error(`${identity} stayed ${p.status} on the other node`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('says "redis" in the ready line', () => {
    expect(a.logs.find((l) => l.msg === 'ready')?.store).to.equal('redis');
  });

  it('a client registered on node A is present on node B, held by node A', async () => {
    const msg = request('REGISTER', { transport: 'UDP', port: udp.port, uri: 'sip:herald.test', extra: [`Contact: <sip:gina@127.0.0.1:${udp.port}>`, 'Expires: 600', `Authorization: Bearer ${token('gina')}`] }).replace(
      'To: <sip:herald@127.0.0.1>',
      'To: <sip:gina@herald.test>',
    );
    udp.send(msg, a.listeners.udp!.port);
    expect((await udp.nextResponse())?.status).to.equal(200);
    const p = await presence(b, 'gina');
    expect(p.status).to.equal('available');
    expect(p.devices.map((d) => [d.node, d.transport])).to.deep.equal([['node-a', 'udp']]);
  });

  it('a WebSocket closing on node A takes its binding away on node B too', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${a.listeners.ws!.port}`, 'sip');
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    const answer = new Promise<string>((res) => ws.once('message', (d: Buffer) => res(d.toString())));
    ws.send(
      request('REGISTER', { transport: 'TCP', port: 5060, uri: 'sip:herald.test', extra: ['Contact: <sip:hank@abc.invalid;transport=ws>', 'Expires: 600', `Authorization: Bearer ${token('hank')}`] })
        .replace('SIP/2.0/TCP 127.0.0.1:5060', 'SIP/2.0/WS abc.invalid')
        .replace('To: <sip:herald@127.0.0.1>', 'To: <sip:hank@herald.test>'),
    );
    expect(await answer).to.match(/^SIP\/2\.0 200 /);
    await presenceBecomes(b, 'hank', 'available');
    ws.close();
    await presenceBecomes(b, 'hank', 'offline');
  });

  it('Digest: a nonce from node A works on node B, and the same request replayed to node A is refused', async () => {
    const domain = 'demo.sip.localhost';
    const register = (node: HeraldProcess, authorization: string | null, cseq: number) => {
      const msg = request('REGISTER', {
        transport: 'UDP',
        port: udp.port,
        uri: `sip:${domain}`,
        extra: [`Contact: <sip:bob@127.0.0.1:${udp.port}>`, 'Expires: 600', ...(authorization === null ? [] : [`Authorization: ${authorization}`])],
      })
        .replace('To: <sip:herald@127.0.0.1>', `To: <sip:bob@${domain}>`)
        .replace(/Call-ID: .*/, 'Call-ID: bob-cluster@test')
        .replace('CSeq: 1 REGISTER', `CSeq: ${cseq} REGISTER`);
      udp.send(msg, node.listeners.udp!.port);
      return udp.nextResponse();
    };
    const challenge = (await register(a, null, 1))!.headers.getAll('www-authenticate')[0]!;
    const p = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1] ?? '';
    const H = (x: string) => createHash('md5').update(x).digest('hex');
    const uri = `sip:${domain}`;
    const response = H(`${H(`bob:${domain}:bob-secret`)}:${p('nonce')}:00000001:feed:auth:${H(`REGISTER:${uri}`)}`);
    const auth = `Digest username="bob", realm="${domain}", nonce="${p('nonce')}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="feed", opaque="${p('opaque')}"`;
    expect((await register(b, auth, 2))?.status).to.equal(200);
    const replayed = await register(a, auth, 3);
    expect(replayed?.status).to.equal(401);
    expect(replayed!.headers.getAll('www-authenticate').join(' ')).to.not.contain('stale=true');
  });
});
