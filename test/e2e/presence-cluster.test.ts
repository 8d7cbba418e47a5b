/**
 * Presence across a cluster and out to the application: two nodes share a
 * real redis-server; a watcher subscribed on node B gets the NOTIFYs of
 * changes made on node A (a registration, a REST status, the connection
 * closing), and the account's presenceCallback gets exactly one signed POST
 * per real change of the client's status, whichever node saw it.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { WebSocket } from 'ws';
import { mintAccessToken } from '../../src/auth/access-token.js';
import { ACCOUNT, AS_ACCOUNT, AUTH_TOKEN, accountYaml, KEY, SECRET } from '../helpers/test-account.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';
import { statusOf, UdpSubscriber } from '../helpers/sip-subscriber.js';

const token = (identity: string) => mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity, incoming: true, ttl: 3600 });

interface Callback {
  params: Record<string, string>;
  signatureValid: boolean;
}

describe('presence in a cluster: NOTIFY across nodes, presenceCallback once per change', function () {
  let redis: RedisServer;
  let a: HeraldProcess;
  let b: HeraldProcess;
  let app: Server;
  let callbackUrl: string;
  const callbacks: Callback[] = [];
  const callbackWaiters: Array<() => void> = [];

  before(async () => {
    app = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const params = Object.fromEntries(new URLSearchParams(body));
        const signature = req.headers['x-twilio-signature'];
        callbacks.push({ params, signatureValid: typeof signature === 'string' && twilio.validateRequest(AUTH_TOKEN, signature, callbackUrl, params) });
        res.end();
        callbackWaiters.splice(0).forEach((w) => w());
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    callbackUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/presence`;
    const config = writeConfig(accountYaml({ presenceCallback: callbackUrl }));
    redis = await startRedis();
    [a, b] = await Promise.all([
      startHerald({ config, env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-a' } }),
      startHerald({ config, env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-b' } }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await new Promise((r) => app?.close(r));
  });

  const putStatus = async (node: HeraldProcess, identity: string, status: string) => {
    const res = await fetch(`http://127.0.0.1:${node.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Clients/${identity}/Presence`, {
      method: 'PUT',
      headers: { authorization: AS_ACCOUNT, 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
    expect(res.status).to.equal(200);
  };

  /** Waits until `n` callbacks have arrived. */
  async function callbacksReach(n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (callbacks.length < n) {
      if (Date.now() > deadline) throw new Error(`${callbacks.length} presence callbacks, expected ${n}`);
      await new Promise<void>((r) => {
        callbackWaiters.push(r);
        setTimeout(r, 500);
      });
    }
  }

  it('a watcher on node B sees changes made on node A; the callback gets one signed POST per change', async () => {
    const sub = await UdpSubscriber.open();
    const ws = new WebSocket(`ws://127.0.0.1:${a.listeners.ws!.port}`, 'sip');
    const opened = new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    try {
      // watch ivy on node B
      const subscribe = request('SUBSCRIBE', {
        transport: 'UDP',
        port: sub.peer.port,
        uri: 'sip:ivy@herald.test',
        extra: [`Contact: <sip:watcher@127.0.0.1:${sub.peer.port}>`, 'Event: presence', 'Expires: 600', `Authorization: Bearer ${token('watcher')}`],
      })
        .replace('From: <sip:tester@127.0.0.1>', 'From: <sip:watcher@herald.test>')
        .replace('To: <sip:herald@127.0.0.1>', 'To: <sip:ivy@herald.test>');
      sub.peer.send(subscribe, b.listeners.udp!.port);
      const first = await sub.notify(b.listeners.udp!.port);
      expect(statusOf(first.notify.body.toString())).to.equal('offline');
      expect(first.notify.headers.get('via')).to.contain(`:${b.listeners.udp!.port};`);

      // ivy registers on node A over WebSocket
      await opened;
      const answer = new Promise<string>((res) => ws.once('message', (d: Buffer) => res(d.toString())));
      ws.send(
        request('REGISTER', { transport: 'TCP', port: 5060, uri: 'sip:herald.test', extra: ['Contact: <sip:ivy@abc.invalid;transport=ws>', 'Expires: 600', `Authorization: Bearer ${token('ivy')}`] })
          .replace('SIP/2.0/TCP 127.0.0.1:5060', 'SIP/2.0/WS abc.invalid')
          .replace('To: <sip:herald@127.0.0.1>', 'To: <sip:ivy@herald.test>'),
      );
      expect(await answer).to.match(/^SIP\/2\.0 200 /);
      expect(statusOf((await sub.notify(b.listeners.udp!.port)).notify.body.toString())).to.equal('available');

      await putStatus(a, 'ivy', 'dnd');
      expect(statusOf((await sub.notify(b.listeners.udp!.port)).notify.body.toString())).to.equal('dnd');

      ws.close();
      expect(statusOf((await sub.notify(b.listeners.udp!.port)).notify.body.toString())).to.equal('offline');

      // One callback per transition, in order, each signed like a Twilio webhook.
      await callbacksReach(3);
      const ivy = callbacks.filter((c) => c.params.Identity === 'ivy');
      expect(ivy.map((c) => [c.params.PreviousStatus, c.params.Status])).to.deep.equal([
        ['offline', 'available'],
        ['available', 'dnd'],
        ['dnd', 'offline'],
      ]);
      for (const c of ivy) {
        expect(c.signatureValid, JSON.stringify(c.params)).to.equal(true);
        expect(c.params.AccountSid).to.equal(ACCOUNT);
        expect(c.params.Timestamp).to.match(/^\d{4}-\d\d-\d\dT/);
      }
      expect(ivy.map((c) => c.params.Devices)).to.deep.equal(['1', '1', '0']);
    } finally {
      ws.close();
      sub.close();
    }
  });

  it('a refresh or a status set again is no change: no callback; REST lastChange follows the registration', async () => {
    const udp = await UdpPeer.open();
    try {
      const before = callbacks.length;
      const register = (cseq: number) =>
        request('REGISTER', { transport: 'UDP', port: udp.port, uri: 'sip:herald.test', extra: [`Contact: <sip:jay@127.0.0.1:${udp.port}>`, 'Expires: 600', `Authorization: Bearer ${token('jay')}`] })
          .replace('To: <sip:herald@127.0.0.1>', 'To: <sip:jay@herald.test>')
          .replace(/Call-ID: .*/, 'Call-ID: jay-registration@test')
          .replace('CSeq: 1 REGISTER', `CSeq: ${cseq} REGISTER`);
      udp.send(register(1), a.listeners.udp!.port);
      expect((await udp.nextResponse())?.status).to.equal(200);
      await callbacksReach(before + 1);
      udp.send(register(2), b.listeners.udp!.port); // a refresh, on the other node
      expect((await udp.nextResponse())?.status).to.equal(200);
      await putStatus(b, 'jay', 'available');
      await putStatus(a, 'jay', 'away');
      await callbacksReach(before + 2);
      const jay = callbacks.slice(before).filter((c) => c.params.Identity === 'jay');
      expect(jay.map((c) => c.params.Status)).to.deep.equal(['available', 'away']);

      const res = await fetch(`http://127.0.0.1:${b.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Clients/jay/Presence`, { headers: { authorization: AS_ACCOUNT } });
      const p = (await res.json()) as { status: string; lastChange?: string };
      expect(p.status).to.equal('away');
      expect(p.lastChange).to.be.a('string');
    } finally {
      udp.close();
    }
  });
});
