/**
 * A crashed node cannot leak call slots (issue 5): two nodes share a real
 * redis-server and the account allows 10 calls. Node A holds 10 calls (each
 * paused by its TwiML, so it holds its lease); the 11th, on node B, gets 503.
 * `kill -9` node A: its leases are not renewed, so within the lease TTL
 * (2 s here) node B sees 0 calls in use and admits new calls.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseMessage } from '../../src/sip/parser.js';
import { accountYaml, callsInUseBecomes as inUseBecomes } from '../helpers/test-account.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { UdpPeer } from '../helpers/sip-socket.js';

const LEASE_TTL_MS = 2000;

describe('gate: kill -9 of a node holding 10 calls', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let a: HeraldProcess;
  let b: HeraldProcess;
  let app: Server;
  let udp: UdpPeer;
  let n = 0;

  before(async () => {
    app = createServer((_req, res) => {
      res.setHeader('content-type', 'text/xml');
      res.end('<Response><Pause length="120"/></Response>');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const config = writeConfig(
      accountYaml({ voiceUrl: `http://127.0.0.1:${(app.address() as AddressInfo).port}/voice`, calls: 10, extra: `gate: { leaseTtlMs: ${LEASE_TTL_MS}, apiQueueMs: 0 }\ndrainTimeout: 1` }),
    );
    redis = await startRedis();
    [a, b] = await Promise.all([
      startHerald({ config, env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-a' } }),
      startHerald({ config, env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-b' } }),
    ]);
    udp = await UdpPeer.open();
  });
  after(async () => {
    udp?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await new Promise((r) => app?.close(r));
  });


  function invite(port: number): string {
    const id = `${process.pid}-${++n}`;
    const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
    udp.send(
      [
        `INVITE sip:+15550001111@127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${udp.port};branch=z9hG4bK-crash-${id};rport`,
        'Max-Forwards: 70',
        `From: <sip:+15557770000@127.0.0.1>;tag=c${id}`,
        'To: <sip:+15550001111@127.0.0.1>',
        `Call-ID: crash-${id}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:caller@127.0.0.1:${udp.port}>`,
        'Content-Type: application/sdp',
        `Content-Length: ${body.length}`,
        '',
        body,
      ].join('\r\n'),
      port,
    );
    return `crash-${id}`;
  }

  /** The first final response for a Call-ID (provisional ones and others' messages skipped). */
  async function finalFor(callId: string, ms = 5000): Promise<number | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const b = await udp.next(Math.max(1, deadline - Date.now()));
      if (b === null) return null;
      const r = parseMessage(b);
      if (r.ok && r.message.type === 'response' && r.message.headers.get('call-id') === callId && r.message.status >= 200) return r.message.status;
    }
  }

  it('the 11th call is refused while A holds 10; after kill -9 of A the slots return within the TTL and B admits calls', async () => {
    for (let i = 0; i < 10; i++) invite(a.listeners.udp!.port);
    await inUseBecomes(b, 10, 10_000);
    const refused = invite(b.listeners.udp!.port);
    expect(await finalFor(refused)).to.equal(503);

    a.proc.kill('SIGKILL');
    await a.exited;
    // Leases were renewed every TTL/3 until the kill: they expire within one TTL of it (plus polling slack).
    const took = await inUseBecomes(b, 0, LEASE_TTL_MS + 3000);
    expect(took).to.be.at.most(LEASE_TTL_MS + 3000);

    const admitted = invite(b.listeners.udp!.port);
    // Admitted: it is paused by its TwiML (no final response) and holds a slot.
    expect(await finalFor(admitted, 1500)).to.equal(null);
    await inUseBecomes(b, 1, 5000);
  });
});
