/**
 * SUBSCRIBE / NOTIFY for presence (RFC 6665, RFC 3856) against a real
 * `herald serve`: SIP.js 0.21 subscribers over WebSocket watch a client and
 * get a NOTIFY at once and one per change (registration, REST status,
 * PUBLISH, connection closed); a raw UDP subscriber checks the dialog's
 * headers, refresh, unsubscribe, a 481 answer, a Digest user's subscription
 * and every refusal.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Subscriber as SubscriberType, UserAgent as UserAgentType } from 'sip.js';
import { mintAccessToken } from '../../src/auth/access-token.js';
import type { SipMessage } from '../../src/sip/message.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';
import { statusOf, UdpSubscriber } from '../helpers/sip-subscriber.js';

// The default config's demo account (config/default.yaml).
const ACCOUNT = 'AC00000000000000000000000000de0001';
const AUTH_TOKEN = 'demo-auth-token-change-me-0001';
const KEY = 'SK00000000000000000000000000de0001';
const SECRET = 'demo-api-key-secret-change-me';
const AS_ACCOUNT = `Basic ${Buffer.from(`${ACCOUNT}:${AUTH_TOKEN}`).toString('base64')}`;

const token = (identity: string, ttl = 3600) => mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity, incoming: true, ttl });

describe('presence SUBSCRIBE / NOTIFY (RFC 6665, RFC 3856)', function () {
  let herald: HeraldProcess;
  const uas: UserAgentType[] = [];

  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    herald = await startHerald();
  });
  after(async () => {
    // SIP.js's stop() can wait forever on a subscription it disposes; the tests unsubscribe their own.
    for (const ua of uas) await Promise.race([ua.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    await herald?.stop();
  });

  const http = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}${path}`, {
      ...init,
      headers: { authorization: AS_ACCOUNT, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    });
  const putStatus = async (identity: string, status: string) => {
    const res = await http(`/Clients/${identity}/Presence`, { method: 'PUT', body: JSON.stringify({ status }) });
    expect(res.status).to.equal(200);
  };

  async function userAgent(identity: string): Promise<UserAgentType> {
    const { UserAgent } = await import('sip.js');
    const ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${identity}@herald.test`),
      transportOptions: { server: `ws://127.0.0.1:${herald.listeners.ws!.port}` },
      logLevel: 'error',
    });
    uas.push(ua);
    await ua.start();
    return ua;
  }

  async function register(ua: UserAgentType, identity: string): Promise<void> {
    const { Registerer } = await import('sip.js');
    const registerer = new Registerer(ua, { extraHeaders: [`Authorization: Bearer ${token(identity)}`], expires: 600 });
    const status = await new Promise<number>((res, rej) => {
      registerer
        .register({ requestDelegate: { onAccept: (r) => res(r.message.statusCode ?? 0), onReject: (r) => res(r.message.statusCode ?? 0) } })
        .catch(rej);
    });
    expect(status).to.equal(200);
  }

  /** A SIP.js Subscriber for `watcher` watching `presentity`; statuses of its NOTIFYs arrive in order. */
  async function watch(watcher: string, presentity: string): Promise<{ subscriber: SubscriberType; statuses: string[]; next: () => Promise<string> }> {
    const { Subscriber, UserAgent } = await import('sip.js');
    const ua = await userAgent(watcher);
    const subscriber = new Subscriber(ua, UserAgent.makeURI(`sip:${presentity}@herald.test`)!, 'presence', {
      extraHeaders: [`Authorization: Bearer ${token(watcher)}`],
      expires: 600,
    });
    const statuses: string[] = [];
    const waiting: Array<(s: string) => void> = [];
    subscriber.delegate = {
      onNotify: (notification) => {
        notification.accept().catch(() => undefined);
        const s = statusOf(notification.request.body);
        const w = waiting.shift();
        statuses.push(s);
        if (w) w(s);
      },
    };
    let read = 0;
    const next = (): Promise<string> => {
      if (read < statuses.length) return Promise.resolve(statuses[read++] as string);
      return new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no NOTIFY after ${statuses.join(', ')}`)), 10_000);
        waiting.push((s) => {
          clearTimeout(t);
          read++;
          resolve(s);
        });
      });
    };
    await subscriber.subscribe();
    return { subscriber, statuses, next };
  }

  it('SIP.js: an immediate NOTIFY, then one per change: register, REST status, PUBLISH, connection closed', async () => {
    const w = await watch('watcher1', 'alice');
    expect(await w.next()).to.equal('offline');

    const alice = await userAgent('alice');
    await register(alice, 'alice');
    expect(await w.next()).to.equal('available');

    await putStatus('alice', 'away');
    expect(await w.next()).to.equal('away');
    // Setting the same status again is no change: no NOTIFY for it.
    await putStatus('alice', 'away');
    await putStatus('alice', 'dnd');
    expect(await w.next()).to.equal('dnd');

    const udp = await UdpPeer.open();
    try {
      const pidf = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@herald.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`;
      const publish = request('PUBLISH', {
        transport: 'UDP',
        port: udp.port,
        uri: 'sip:alice@herald.test',
        extra: ['Event: presence', 'Expires: 600', 'Content-Type: application/pidf+xml', `Authorization: Bearer ${token('alice')}`],
        body: pidf,
      });
      udp.send(publish, herald.listeners.udp!.port);
      expect((await udp.nextResponse())?.status).to.equal(200);
    } finally {
      udp.close();
    }
    expect(await w.next()).to.equal('available');

    await alice.transport.disconnect();
    expect(await w.next()).to.equal('offline');
    expect(w.statuses).to.deep.equal(['offline', 'available', 'away', 'dnd', 'available', 'offline']);

    await unsubscribe(w.subscriber);
  });

  /** Unsubscribing ends the subscription: SIP.js sees it terminated (by the final NOTIFY). */
  async function unsubscribe(subscriber: SubscriberType): Promise<void> {
    const terminated = new Promise<void>((resolve) => {
      subscriber.stateChange.addListener((s) => {
        if (s === 'Terminated') resolve();
      });
    });
    await subscriber.unsubscribe();
    await terminated;
  }

  it('two watchers of one client each get the change', async () => {
    const a = await watch('watcher2', 'bob');
    const b = await watch('watcher3', 'bob');
    expect(await a.next()).to.equal('offline');
    expect(await b.next()).to.equal('offline');
    const bob = await userAgent('bob');
    await register(bob, 'bob');
    expect(await a.next()).to.equal('available');
    expect(await b.next()).to.equal('available');
    await unsubscribe(a.subscriber);
    await putStatus('bob', 'away');
    expect(await b.next()).to.equal('away');
    await unsubscribe(b.subscriber);
    expect(a.statuses).to.deep.equal(['offline', 'available']);
  });

  describe('the dialog, over UDP', () => {
    let sub: UdpSubscriber;
    beforeEach(async () => {
      sub = await UdpSubscriber.open();
    });
    afterEach(() => sub.close());

    const udpPort = () => herald.listeners.udp!.port;

    function subscribe(presentity: string, o: { extra?: string[]; watcher?: string; auth?: string | null; callId?: string; cseq?: number; toTag?: string; fromTag?: string; uri?: string } = {}): string {
      const watcher = o.watcher ?? 'carol';
      let msg = request('SUBSCRIBE', {
        transport: 'UDP',
        port: sub.peer.port,
        uri: o.uri ?? `sip:${presentity}@herald.test`,
        extra: [
          `Contact: <sip:${watcher}@127.0.0.1:${sub.peer.port}>`,
          ...(o.auth === null ? [] : [`Authorization: ${o.auth ?? `Bearer ${token(watcher)}`}`]),
          ...(o.extra ?? ['Event: presence;id=42', 'Accept: application/pidf+xml', 'Expires: 600']),
        ],
      })
        .replace('From: <sip:tester@127.0.0.1>;tag=', `From: <sip:${watcher}@herald.test>;tag=${o.fromTag ?? ''}`)
        .replace('To: <sip:herald@127.0.0.1>', `To: <sip:${presentity}@herald.test>${o.toTag !== undefined ? `;tag=${o.toTag}` : ''}`)
        .replace('CSeq: 1 SUBSCRIBE', `CSeq: ${o.cseq ?? 1} SUBSCRIBE`);
      if (o.fromTag !== undefined) msg = msg.replace(/;tag=[^\r]*\r\n/, `;tag=${o.fromTag}\r\n`);
      if (o.callId !== undefined) msg = msg.replace(/Call-ID: .*/, `Call-ID: ${o.callId}`);
      sub.peer.send(msg, udpPort());
      return msg;
    }

    it('200 with our tag, Contact and Expires; NOTIFY in the dialog with Event id, Subscription-State and increasing CSeq; refresh; unsubscribe', async () => {
      const callId = `sub-${Date.now()}@test`;
      subscribe('dora', { callId, fromTag: 'watcher-tag' });
      const first = await sub.notify(udpPort());
      const ok = first.responses.find((r) => r.status >= 200) ?? (await sub.response(udpPort())).response;
      expect(ok.status).to.equal(200);
      expect(ok.headers.get('expires')).to.equal('600');
      expect(ok.headers.get('contact')).to.match(/^<sip:herald@[^>]+;transport=udp>$/);
      const toTag = /;tag=([^;\s]+)/.exec(ok.headers.get('to')!)![1]!;

      const n1 = first.notify;
      expect(n1.uri).to.equal(`sip:carol@127.0.0.1:${sub.peer.port}`);
      expect(n1.headers.get('call-id')).to.equal(callId);
      expect(n1.headers.get('from')).to.contain(`;tag=${toTag}`);
      expect(n1.headers.get('to')).to.contain(';tag=watcher-tag');
      expect(n1.headers.get('event')).to.equal('presence;id=42');
      expect(n1.headers.get('subscription-state')).to.match(/^active;expires=(59\d|600)$/);
      expect(n1.headers.get('content-type')).to.equal('application/pidf+xml');
      expect(statusOf(n1.body.toString())).to.equal('offline');
      const cseq1 = Number(n1.headers.get('cseq')!.split(' ')[0]);

      await putStatus('dora', 'away'); // offline still: no binding, no change
      // A refresh gets a 200 and a NOTIFY at once, even without a change (RFC 6665 §4.2.1).
      subscribe('dora', { callId, fromTag: 'watcher-tag', toTag, cseq: 2, extra: ['Event: presence;id=42', 'Expires: 300'] });
      const refreshed = await sub.notify(udpPort());
      const ok2 = refreshed.responses.find((r) => r.status >= 200) ?? (await sub.response(udpPort())).response;
      expect(ok2.status).to.equal(200);
      expect(ok2.headers.get('expires')).to.equal('300');
      expect(Number(refreshed.notify.headers.get('cseq')!.split(' ')[0])).to.be.greaterThan(cseq1);
      expect(refreshed.notify.headers.get('subscription-state')).to.match(/^active;expires=(29\d|300)$/);

      // A CSeq not higher than the last one is out of order (§12.2.2).
      subscribe('dora', { callId, fromTag: 'watcher-tag', toTag, cseq: 2, extra: ['Event: presence;id=42', 'Expires: 300'] });
      expect((await sub.response(udpPort())).response.status).to.equal(500);

      subscribe('dora', { callId, fromTag: 'watcher-tag', toTag, cseq: 3, extra: ['Event: presence;id=42', 'Expires: 0'] });
      const last = await sub.notify(udpPort());
      const ok3 = last.responses.find((r) => r.status >= 200) ?? (await sub.response(udpPort())).response;
      expect(ok3.status).to.equal(200);
      expect(last.notify.headers.get('subscription-state')).to.equal('terminated;reason=timeout');

      // Gone: another in-dialog SUBSCRIBE gets 481.
      subscribe('dora', { callId, fromTag: 'watcher-tag', toTag, cseq: 4, extra: ['Event: presence;id=42', 'Expires: 600'] });
      expect((await sub.response(udpPort())).response.status).to.equal(481);
    });

    it('a NOTIFY answered 481 ends the subscription: no NOTIFY for the next change', async () => {
      subscribe('erin');
      await sub.notify(udpPort(), 481);
      await putStatus('erin', 'dnd');
      const ua = await userAgent('erin');
      await register(ua, 'erin');
      // erin is now present: a live subscription would get a NOTIFY.
      expect(await sub.next(1500)).to.satisfy((m: SipMessage | null) => m === null || m.type === 'response');
    });

    it('Expires: 0 on a new SUBSCRIBE fetches the state once (RFC 6665 §4.4.3)', async () => {
      subscribe('frank', { extra: ['Event: presence', 'Expires: 0'] });
      const n = await sub.notify(udpPort());
      expect(n.notify.headers.get('subscription-state')).to.equal('terminated;reason=timeout');
    });

    it('refusals: no credentials 401, other event 489, unacceptable body 406, short expiry 423, unknown dialog 481, other account 403', async () => {
      subscribe('gina', { auth: null });
      const r401 = (await sub.response(udpPort())).response;
      expect(r401.status).to.equal(401);
      expect(r401.headers.getAll('www-authenticate')).to.include('Bearer realm="herald"');

      subscribe('gina', { extra: ['Event: dialog', 'Expires: 600'] });
      const r489 = (await sub.response(udpPort())).response;
      expect(r489.status).to.equal(489);
      expect(r489.headers.get('allow-events')).to.equal('presence');

      subscribe('gina', { extra: ['Event: presence', 'Accept: text/plain', 'Expires: 600'] });
      expect((await sub.response(udpPort())).response.status).to.equal(406);

      subscribe('gina', { extra: ['Event: presence', 'Expires: 10'] });
      const r423 = (await sub.response(udpPort())).response;
      expect(r423.status).to.equal(423);
      expect(r423.headers.get('min-expires')).to.equal('60');

      subscribe('gina', { toTag: 'no-such-dialog', cseq: 2 });
      expect((await sub.response(udpPort())).response.status).to.equal(481);

      subscribe('gina', { auth: `Bearer ${token('someone-else')}` });
      expect((await sub.response(udpPort())).response.status).to.equal(403);
    });
  });

  it('a Digest user (softphone credentials) subscribes after a challenge', async () => {
    // The demo account's sipDomain and credentials (config/default.yaml).
    const config = await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Node`)).json();
    expect(config).to.have.property('nodeId');
    const sub = await UdpSubscriber.open();
    try {
      const domain = 'demo.sip.localhost';
      const send = (auth: string | null, cseq: number) => {
        const msg = request('SUBSCRIBE', {
          transport: 'UDP',
          port: sub.peer.port,
          uri: `sip:alice@${domain}`,
          extra: [`Contact: <sip:bob@127.0.0.1:${sub.peer.port}>`, 'Event: presence', 'Expires: 600', ...(auth === null ? [] : [`Authorization: ${auth}`])],
        })
          .replace('From: <sip:tester@127.0.0.1>', `From: <sip:bob@${domain}>`)
          .replace('To: <sip:herald@127.0.0.1>', `To: <sip:alice@${domain}>`)
          .replace('CSeq: 1 SUBSCRIBE', `CSeq: ${cseq} SUBSCRIBE`);
        sub.peer.send(msg, herald.listeners.udp!.port);
      };
      send(null, 1);
      const challenge = (await sub.response(herald.listeners.udp!.port)).response;
      expect(challenge.status).to.equal(401);
      const md5 = challenge.headers.getAll('www-authenticate')[0]!;
      const p = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(md5)?.[1] ?? '';
      const H = (s: string) => createHash('md5').update(s).digest('hex');
      const uri = `sip:alice@${domain}`;
      const response = H(`${H(`bob:${domain}:bob-secret`)}:${p('nonce')}:00000001:cafe:auth:${H(`SUBSCRIBE:${uri}`)}`);
      send(`Digest username="bob", realm="${domain}", nonce="${p('nonce')}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="cafe", opaque="${p('opaque')}"`, 2);
      const n = await sub.notify(herald.listeners.udp!.port);
      const ok = n.responses.find((r) => r.status >= 200) ?? (await sub.response(herald.listeners.udp!.port)).response;
      expect(ok.status).to.equal(200);
      expect(n.notify.body.toString()).to.contain(`entity="sip:alice@${domain}"`);
    } finally {
      sub.close();
    }
  });
});
