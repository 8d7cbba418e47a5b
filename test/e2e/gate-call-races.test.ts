/**
 * The gate stays exact through the races that make counters drift
 * (issue 5): a double BYE, a BYE crossing the callee's BYE, and a CANCEL
 * crossing the callee's 200. A raw UDP trunk caller drives each race against
 * a real `herald serve`; a SIP.js device of alice answers. After each one the
 * account's `calls` usage is back to 0 and, the limit being 1, the next call
 * is admitted: the slot really came back. The same races at volume (sipp on
 * both sides, 30 calls each, crossings counted, memory and Redis) are in
 * gate-races-sipp.test.ts.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintAccessToken } from '../../src/auth/access-token.js';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipResponse } from '../../src/sip/message.js';
import { accountYaml, callsInUseBecomes, KEY, SECRET, ACCOUNT } from '../helpers/test-account.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { UdpPeer } from '../helpers/sip-socket.js';
import { registerPhone, sdp, startPhone, type Phone } from '../helpers/sipjs-phone.js';


describe('gate exactness through call races (double BYE, BYE crossing BYE, CANCEL crossing 200)', function () {
  this.timeout(60_000);
  let herald: HeraldProcess;
  let app: Server;
  let alice: Phone;
  let caller: UdpPeer;
  let n = 0;

  before(async () => {
    app = createServer((_req, res) => {
      res.setHeader('content-type', 'text/xml');
      res.end('<Response><Dial timeout="10"><Client>alice</Client></Dial></Response>');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const config = writeConfig(accountYaml({ voiceUrl: `http://127.0.0.1:${(app.address() as AddressInfo).port}/voice`, calls: 1 }));
    herald = await startHerald({ config });
    alice = await startPhone({ identity: 'alice', wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, sdpPort: 21000 });
    expect(await registerPhone(alice, mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity: 'alice', incoming: true, ttl: 3600 }))).to.equal(200);
    caller = await UdpPeer.open();
  });
  after(async () => {
    caller?.close();
    await alice?.stop();
    await herald?.stop();
    await new Promise((r) => app?.close(r));
  });

  const inUseBecomes = (n: number) => callsInUseBecomes(herald, n);

  /** A raw trunk call's dialog, as the caller sees it. */
  class RawCall {
    readonly id = `${process.pid}-${++n}`;
    readonly callId = `race-${this.id}@test`;
    readonly fromTag = `f${n}`;
    toTag: string | null = null;
    cseq = 1;
    constructor(readonly port: number) {}
    private head(method: string, cseq: number, branch: string): string[] {
      return [
        `${method} sip:+15550001111@127.0.0.1:${this.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:+15557770000@127.0.0.1>;tag=${this.fromTag}`,
        `To: <sip:+15550001111@127.0.0.1>${this.toTag !== null && method !== 'CANCEL' ? `;tag=${this.toTag}` : ''}`,
        `Call-ID: ${this.callId}`,
        `CSeq: ${cseq} ${method}`,
      ];
    }
    invite(): void {
      const body = sdp(22000);
      caller.send([...this.head('INVITE', 1, `z9hG4bK-inv-${this.id}`), `Contact: <sip:caller@127.0.0.1:${caller.port}>`, 'Content-Type: application/sdp', `Content-Length: ${body.length}`, '', body].join('\r\n'), this.port);
    }
    cancel(): void {
      caller.send([...this.head('CANCEL', 1, `z9hG4bK-inv-${this.id}`), 'Content-Length: 0', '', ''].join('\r\n'), this.port);
    }
    ack(): void {
      caller.send([...this.head('ACK', 1, `z9hG4bK-ack-${this.id}`), 'Content-Length: 0', '', ''].join('\r\n'), this.port);
    }
    bye(): void {
      this.cseq += 1;
      caller.send([...this.head('BYE', this.cseq, `z9hG4bK-bye${this.cseq}-${this.id}`), 'Content-Length: 0', '', ''].join('\r\n'), this.port);
    }
  }

  /** Next response from Herald for this call (requests to the caller, e.g. a BYE, are answered 200). */
  async function response(call: RawCall, method: string): Promise<SipResponse> {
    for (;;) {
      const b = await caller.next(10_000);
      if (b === null) throw new Error(`no response to ${method}`);
      const r = parseMessage(b);
      if (!r.ok) throw new Error(`unparsable: ${b.toString()}`);
      const m = r.message;
      if (m.type === 'request') {
        const lines = b.toString().split('\r\n');
        const keep = lines.filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
        caller.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), herald.listeners.udp!.port);
        continue;
      }
      if (m.headers.get('call-id') !== call.callId || !(m.headers.get('cseq') ?? '').endsWith(method) || m.status === 100) continue;
      return m;
    }
  }

  async function answeredCall(): Promise<RawCall> {
    const call = new RawCall(herald.listeners.udp!.port);
    const ringing = alice.nextCall();
    call.invite();
    const incoming = await ringing;
    await incoming.invitation.accept();
    let r = await response(call, 'INVITE');
    while (r.status < 200) r = await response(call, 'INVITE');
    expect(r.status).to.equal(200);
    call.toTag = /;tag=([^;\s]+)/.exec(r.headers.get('to') ?? '')![1]!;
    call.ack();
    await inUseBecomes(1);
    return call;
  }

  it('a double BYE from the caller: 200 then 481, one slot released once', async () => {
    const call = await answeredCall();
    call.bye();
    expect((await response(call, 'BYE')).status).to.equal(200);
    call.bye();
    expect((await response(call, 'BYE')).status).to.equal(481);
    await inUseBecomes(0);
    // The limit is 1: the slot really came back, the next call is admitted.
    const next = await answeredCall();
    next.bye();
    await response(next, 'BYE');
    await inUseBecomes(0);
  });

  it('BYE from the caller crossing the callee\'s BYE: the slot comes back exactly once', async () => {
    const call = await answeredCall();
    const session = alice.incoming.at(-1)!.invitation;
    const byes = Promise.all([session.bye().catch(() => undefined), Promise.resolve(call.bye())]);
    await byes;
    const r = await response(call, 'BYE');
    expect([200, 481]).to.include(r.status);
    await inUseBecomes(0);
    const next = await answeredCall();
    next.bye();
    await response(next, 'BYE');
    await inUseBecomes(0);
  });

  it('CANCEL crossing the callee\'s 200: whichever wins, the slot comes back exactly once', async () => {
    const call = new RawCall(herald.listeners.udp!.port);
    const ringing = alice.nextCall();
    call.invite();
    const incoming = await ringing;
    // Answer and cancel at the same moment.
    const accepted = incoming.invitation.accept().catch(() => undefined);
    call.cancel();
    await accepted;
    let final: SipResponse | null = null;
    while (final === null) {
      const r = await response(call, 'INVITE');
      if (r.status >= 200) final = r;
    }
    if (final.status === 200) {
      call.toTag = /;tag=([^;\s]+)/.exec(final.headers.get('to') ?? '')![1]!;
      call.ack();
      call.bye();
      await response(call, 'BYE');
    } else {
      expect(final.status).to.equal(487);
    }
    await inUseBecomes(0);
    const next = await answeredCall();
    next.bye();
    await response(next, 'BYE');
    await inUseBecomes(0);
  });
});
