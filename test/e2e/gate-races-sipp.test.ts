/**
 * Issue 5, driven by sipp: the races that make a concurrency counter drift
 * — a double BYE, a BYE crossing a BYE, a CANCEL crossing a 200 — and a
 * peer that crashes mid-call, each run for many calls against a real
 * `herald serve`. sipp is the trunk caller (test/sipp/uac-*.xml, from
 * 127.0.0.1 to the account's number) and the callee Herald dials
 * (test/sipp/uas-*.xml, `<Dial><Sip>sip:uas@127.0.0.1:PORT</Sip>`); the
 * crashed peers are sipp processes killed with SIGKILL and SIP.js phones
 * whose WebSocket is destroyed.
 *
 * After each race: no call in use (Usage), and on /metrics the account's
 * `calls` slots granted equal those released, none released twice or after
 * expiring. The races run on the memory gate and on a real redis-server (the
 * count then comes from Redis). How many calls really crossed is read from
 * sipp's per-step counts and printed.
 *
 * The config makes a vanished peer quick to notice: keepalive OPTIONS every
 * second, T1 = 50 ms (no answer within Timer F = 64·T1 = 3.2 s: gone).
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { mintAccessToken } from '../../src/auth/access-token.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { counted, expectAllSucceeded, freeUdpPort, startSipp, udpPortBound, type Sipp, type SippReport } from '../helpers/sipp.js';
import { registerPhone, startPhone, type Phone } from '../helpers/sipjs-phone.js';
import { ACCOUNT, APP, AS_ACCOUNT, KEY, SECRET, accountYaml, callSlotCounters, callsInUseBecomes, type CallSlotCounters } from '../helpers/test-account.js';

const CALLS = 30;
const CRASHED_CALLS = 10;

for (const store of ['memory', 'redis'] as const) {
  describe(`call races driven by sipp: the calls gate stays exact (${store})`, function () {
    this.timeout(120_000);
    let herald: HeraldProcess;
    let redis: RedisServer | null = null;
    let app: Server;
    let twiml = '';

    before(async () => {
      app = createServer((_req, res) => {
        res.setHeader('content-type', 'text/xml');
        res.end(twiml);
      });
      await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
      const config = writeConfig(
        accountYaml({
          voiceUrl: `http://127.0.0.1:${(app.address() as AddressInfo).port}/voice`,
          calls: 2 * CALLS,
          extra: 'sip: { timers: { t1: 50, t2: 400, t4: 500 } }\ncalls: { keepaliveInterval: 1 }\n',
        }),
      );
      if (store === 'redis') redis = await startRedis();
      herald = await startHerald({ config, env: redis !== null ? { HERALD_REDIS_URL: redis.url } : {} });
    });
    after(async () => {
      await herald?.stop();
      await redis?.stop();
      await new Promise((r) => app?.close(r));
    });

    /** A callee sipp listening on a fresh port, which the application's `<Dial><Sip>` rings. */
    async function callee(scenario: string, calls: number): Promise<Sipp> {
      const port = await freeUdpPort();
      twiml = `<Response><Dial timeout="10"><Sip>sip:uas@127.0.0.1:${port}</Sip></Dial></Response>`;
      const uas = startSipp({ scenario, calls, port });
      await udpPortBound(port);
      return uas;
    }

    const caller = (scenario: string, calls: number, rate = 10): Sipp => startSipp({ scenario, calls, heraldPort: herald.listeners.udp!.port, rate });

    /** Both sipps of a race, run to their end. */
    async function race(uasScenario: string, uacScenario: string, calls: number): Promise<{ uas: SippReport; uac: SippReport }> {
      const uas = await callee(uasScenario, calls);
      const uac = caller(uacScenario, calls);
      const [uacReport, uasReport] = await Promise.all([uac.report, uas.report]);
      expectAllSucceeded(uacReport, calls);
      expectAllSucceeded(uasReport, calls);
      return { uas: uasReport, uac: uacReport };
    }

    /** No call in use, and exactly `calls` slots granted and released since `before`, none twice, none expired. */
    async function expectSlotsReturned(before: CallSlotCounters, calls: number): Promise<void> {
      await callsInUseBecomes(herald, 0);
      const now = await callSlotCounters(herald);
      expect(now.granted - before.granted, 'calls slots granted').to.equal(calls);
      expect(now.released - before.released, 'calls slots released').to.equal(calls);
      expect(now.missed, 'releases that found no lease (double or late)').to.equal(0);
      expect(now.expired, 'leases left to expire').to.equal(0);
    }

    it(`double BYE (${CALLS} calls): the second BYE gets 481, each slot is released once`, async () => {
      const before = await callSlotCounters(herald);
      const { uac } = await race('uas-answer.xml', 'uac-double-bye.xml', CALLS);
      expect(counted(uac, '_481_Recv')).to.equal(CALLS);
      // Step 9 of uac-double-bye.xml: the first BYE's 200 came after the second BYE was out.
      console.log(`      double BYE: in ${counted(uac, '9_200_Recv')} of ${CALLS} calls the second BYE left before the first was answered`);
      await expectSlotsReturned(before, CALLS);
    });

    it(`BYE crossing BYE (${CALLS} calls): whichever side wins, each slot is released once`, async () => {
      const before = await callSlotCounters(herald);
      const { uas, uac } = await race('uas-bye-crossing.xml', 'uac-bye-crossing.xml', CALLS);
      // In each call one BYE wins (200); the other side's BYE, if it crossed that one, gets 481.
      const won = counted(uac, '_200_Recv') - CALLS /* the INVITEs' 200s */ + counted(uas, '_200_Recv');
      const crossed = counted(uac, '_481_Recv') + counted(uas, '_481_Recv');
      expect(won, 'BYEs answered 200: one per call').to.equal(CALLS);
      console.log(`      BYE crossing BYE: ${crossed} of ${CALLS} crossed (caller lost ${counted(uac, '_481_Recv')}, callee lost ${counted(uas, '_481_Recv')})`);
      expect(crossed, 'no call crossed: the race was not exercised').to.be.greaterThan(0);
      await expectSlotsReturned(before, CALLS);
    });

    it(`CANCEL crossing 200 (${CALLS} calls, again up to 4 times until one crosses): canceled or answered, each slot is released once`, async () => {
      // A crossing needs the CANCEL and the 200 in flight together: a window of about the path's
      // latency inside the callee's 12 ms spread, so a batch of 30 can miss it on a quiet machine.
      // Every batch must return its slots exactly; batches repeat only to be sure the race happened.
      let crossings = 0;
      for (let batch = 1; batch <= 4 && crossings === 0; batch++) {
        const before = await callSlotCounters(herald);
        const { uas, uac } = await race('uas-cancel-crossing.xml', 'uac-cancel-crossing.xml', CALLS);
        const canceled = counted(uac, '_487_Recv');
        const answeredAfterCancel = counted(uac, '_CANCEL_Sent') - canceled;
        // Step 5 of uas-cancel-crossing.xml: a CANCEL after the callee's 200 was out.
        const lateCancels = counted(uas, '5_CANCEL_Recv');
        console.log(
          `      CANCEL crossing 200 (batch ${batch}): ${counted(uac, '_CANCEL_Sent')} CANCELs sent; ${canceled} calls canceled, ${answeredAfterCancel} answered across the CANCEL; ` +
            `the callee got ${lateCancels} CANCELs after its 200`,
        );
        await expectSlotsReturned(before, CALLS);
        crossings = answeredAfterCancel + lateCancels;
      }
      expect(crossings, 'no CANCEL crossed a 200 in 4 batches: the race was not exercised').to.be.greaterThan(0);
    });

    /** `CRASHED_CALLS` calls answered, then one side's sipp gets SIGKILL: Herald's keepalive must end them all, BYE to the survivor. */
    async function killMidCall(victim: 'caller' | 'callee'): Promise<void> {
      const before = await callSlotCounters(herald);
      const uas = await callee('uas-answer.xml', CRASHED_CALLS);
      const uac = caller('uac-wait-bye.xml', CRASHED_CALLS);
      // Every call answered and ACKed (a slot in use is not enough: a call whose ACK never came ends as no-ack).
      await uac.counts('_ACK_Sent', CRASHED_CALLS);
      await callsInUseBecomes(herald, CRASHED_CALLS);
      const [killed, survivor] = victim === 'caller' ? [uac, uas] : [uas, uac];
      const mark = herald.logs.length;
      killed.peer.proc.kill('SIGKILL');
      expect((await killed.report).exit.signal).to.equal('SIGKILL');
      expectAllSucceeded(await survivor.report, CRASHED_CALLS);
      await expectSlotsReturned(before, CRASHED_CALLS);
      expect(await endReasons(CRASHED_CALLS)).to.deep.equal(Array(CRASHED_CALLS).fill(`${victim}-lost`));
      expect(peersGone(mark)).to.deep.equal(Array(CRASHED_CALLS).fill(`${victim}: OPTIONS not answered (Timer F)`));
    }

    it(`the callee is killed mid-call (${CRASHED_CALLS} calls): the keepalive finds it gone, the callers get BYE`, () => killMidCall('callee'));

    if (store === 'memory') {
      it(`the caller is killed mid-call (${CRASHED_CALLS} calls): the keepalive finds it gone, the callees get BYE`, () => killMidCall('caller'));
    }

    it('a SIP.js callee whose WebSocket is destroyed mid-call (3 calls): the caller gets BYE at once', async () => {
      twiml = '<Response><Dial timeout="10"><Client>alice</Client></Dial></Response>';
      const before = await callSlotCounters(herald);
      const mark = herald.logs.length;
      for (let i = 0; i < 3; i++) {
        const alice = await phone('alice', true);
        const uac = caller('uac-wait-bye.xml', 1);
        const incoming = await alice.nextCall(20_000);
        await incoming.invitation.accept();
        await callsInUseBecomes(herald, 1);
        crash(alice);
        expectAllSucceeded(await uac.report, 1);
        await alice.stop();
      }
      await expectSlotsReturned(before, 3);
      expect(await endReasons(3)).to.deep.equal(['callee-lost', 'callee-lost', 'callee-lost']);
      // At once: the connection's close, not the keepalive, ended each call.
      expect(peersGone(mark).map((l) => l.replace(/ before the call was bridged$/, ''))).to.deep.equal(Array(3).fill('callee: connection closed'));
    });

    if (store === 'memory') {
      it('keepalive OPTIONS answered 405, then 501: the peer is there; answered 408: the call ends, the other leg gets BYE', async () => {
        const before = await callSlotCounters(herald);
        const mark = herald.logs.length;
        const { uac } = await race('uas-answer.xml', 'uac-probe-answers.xml', 1);
        expect(counted(uac, '_OPTIONS_Recv')).to.equal(3);
        await expectSlotsReturned(before, 1);
        expect(await endReasons(1)).to.deep.equal(['caller-lost']);
        expect(peersGone(mark)).to.deep.equal(['caller: OPTIONS answered 408']);
      });

      it('a relayed INFO answered 481: the 481 goes back to the sender, then a BYE ends its leg', async () => {
        const before = await callSlotCounters(herald);
        const mark = herald.logs.length;
        await race('uas-info-481.xml', 'uac-info-481.xml', 1);
        await expectSlotsReturned(before, 1);
        expect(await endReasons(1)).to.deep.equal(['callee-lost']);
        expect(peersGone(mark)).to.deep.equal(['callee: INFO answered 481']);
      });

      it('a SIP.js caller whose WebSocket is destroyed while the callee rings: the callee gets CANCEL', async () => {
        twiml = '<Response><Dial timeout="20"><Client>alice</Client></Dial></Response>';
        const before = await callSlotCounters(herald);
        const mark = herald.logs.length;
        const alice = await phone('alice', true);
        const bob = await phone('bob', false);
        void clientCall(bob);
        const incoming = await alice.nextCall(20_000);
        crash(bob);
        await incoming.canceled;
        await expectSlotsReturned(before, 1);
        expect(await endReasons(1)).to.deep.equal(['caller-lost']);
        expect(peersGone(mark)).to.deep.equal(['caller: connection closed']);
        await Promise.all([alice.stop(), bob.stop()]);
      });
    }

    it('a SIP.js caller whose WebSocket is destroyed mid-call (3 calls): the callee gets BYE at once', async () => {
      const before = await callSlotCounters(herald);
      const mark = herald.logs.length;
      const uas = await callee('uas-answer.xml', 3);
      for (let i = 0; i < 3; i++) {
        const bob = await phone('bob', false);
        expect(await clientCall(bob)).to.equal(200);
        await callsInUseBecomes(herald, 1);
        crash(bob);
        await callsInUseBecomes(herald, 0);
        await bob.stop();
      }
      expectAllSucceeded(await uas.report, 3);
      await expectSlotsReturned(before, 3);
      expect(await endReasons(3)).to.deep.equal(['caller-lost', 'caller-lost', 'caller-lost']);
      expect(peersGone(mark)).to.deep.equal(Array(3).fill('caller: connection closed'));
    });

    /** A SIP.js phone over WebSocket; registered (to be dialed) or not (to place a call with its outgoing grant). */
    async function phone(identity: string, register: boolean): Promise<Phone> {
      const p = await startPhone({ identity, wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, sdpPort: 31000 });
      if (register) expect(await registerPhone(p, token(identity))).to.equal(200);
      return p;
    }

    const token = (identity: string) => mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity, incoming: true, outgoingApplicationSid: APP, ttl: 3600 });

    /** A client call of bob's through the application (whose TwiML says whom it dials): its final status. */
    async function clientCall(p: Phone): Promise<number> {
      const { Inviter, UserAgent } = await import('sip.js');
      const inviter = new Inviter(p.ua, UserAgent.makeURI('sip:+15550001111@herald.test')!, { extraHeaders: [`Authorization: Bearer ${token('bob')}`] });
      return new Promise<number>((resolve, reject) => {
        inviter
          .invite({ requestDelegate: { onAccept: (r) => resolve(r.message.statusCode ?? 0), onReject: (r) => resolve(r.message.statusCode ?? 0) } })
          .catch(reject);
      });
    }

    /** The phone's process "crashes": its TCP connection is destroyed, no WebSocket close, no BYE. */
    function crash(p: Phone): void {
      const ws = (p.ua.transport as unknown as { ws?: WebSocket }).ws;
      if (ws === undefined) throw new Error('the phone has no WebSocket');
      ws.terminate();
      // What SIP.js says from now on (its requests cannot be sent) is expected.
      p.ua.getLoggerFactory().builtinEnabled = false;
    }

    /** Herald's "peer gone" log lines since log line `mark`, as `<side>: <why>`. */
    function peersGone(mark: number): string[] {
      return herald.logs.slice(mark).filter((l) => l.msg === 'peer gone: call ended').map((l) => `${String(l.lost)}: ${String(l.why)}`);
    }

    /** endReason of the account's `n` most recently ended calls (the records of dialed legs left out). */
    async function endReasons(n: number): Promise<string[]> {
      const res = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Calls?limit=200`, { headers: { authorization: AS_ACCOUNT } });
      const { calls } = (await res.json()) as { calls: Array<{ parentCallSid: string | null; endReason: string | null }> };
      return calls.filter((c) => c.parentCallSid === null).slice(0, n).map((c) => c.endReason ?? 'not ended');
    }
  });
}
