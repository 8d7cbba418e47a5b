/**
 * The keepalive's verdicts on the answers to its in-dialog OPTIONS (pure
 * logic, against a recording transaction layer; the e2e proofs with real
 * peers are in test/e2e/gate-races-sipp.test.ts).
 */
import { expect } from 'chai';
import { Dialog, responseEndsDialog } from '../../../src/calls/dialog.js';
import { LegKeepalive, legProbes, type ProbedLeg } from '../../../src/calls/leg-keepalive.js';
import { Headers } from '../../../src/sip/headers.js';
import { SipResponse, type SipRequest } from '../../../src/sip/message.js';
import type { ClientTransactionUser } from '../../../src/transaction/types.js';
import type { SendTarget } from '../../../src/transport/types.js';

interface Sent {
  request: SipRequest;
  leg: string;
  user: ClientTransactionUser;
}

/** Records what the keepalive sends; `next()` resolves with the next probe. */
class RecordingTransactions {
  private readonly queue: Sent[] = [];
  private waiting: Array<(s: Sent) => void> = [];
  sendRequest(request: SipRequest, target: SendTarget, user: ClientTransactionUser): void {
    const sent = { request, leg: 'protocol' in target ? target.address : target.flowId, user };
    const w = this.waiting.shift();
    if (w) w(sent);
    else this.queue.push(sent);
  }
  next(): Promise<Sent> {
    const q = this.queue.shift();
    return q !== undefined ? Promise.resolve(q) : new Promise((r) => this.waiting.push(r));
  }
}

function leg(name: string, lost: string[]): ProbedLeg {
  const dialog = new Dialog({
    callId: `call-${name}`,
    localTag: 'herald',
    remoteTag: name,
    localUri: '<sip:herald@127.0.0.1>',
    remoteUri: `<sip:${name}@192.0.2.1>`,
    remoteTarget: `sip:${name}@192.0.2.1`,
    routeSet: [],
    localCseq: 1,
    remoteCseq: 1,
    flowId: null,
  });
  return {
    dialog,
    target: () => ({ protocol: 'udp', address: name, port: 5060 }),
    contact: '<sip:herald@127.0.0.1:5060>',
    lost: (why) => lost.push(`${name}: ${why}`),
  };
}

const answer = (status: number) => new SipResponse(status, 'X', new Headers());

describe('LegKeepalive', () => {
  let keepalive: LegKeepalive | null = null;
  afterEach(() => keepalive?.stop());

  function start(names: string[], lost: string[]): RecordingTransactions {
    const transactions = new RecordingTransactions();
    keepalive = new LegKeepalive({ probes: legProbes(5), transactions, legs: names.map((n) => leg(n, lost)) });
    keepalive.start();
    return transactions;
  }

  it('probes each leg with an OPTIONS inside its dialog; 200, 405 and 501 mean alive', async () => {
    const lost: string[] = [];
    const t = start(['alice'], lost);
    const seqs: number[] = [];
    for (const status of [100, 200, 405, 501]) {
      const probe = await t.next();
      expect(probe.request.method).to.equal('OPTIONS');
      expect(probe.request.headers.get('to')).to.equal('<sip:alice@192.0.2.1>;tag=alice');
      expect(probe.request.headers.get('call-id')).to.equal('call-alice');
      expect(probe.request.headers.get('accept')).to.equal('application/sdp');
      seqs.push(Number((probe.request.headers.get('cseq') ?? '').split(' ')[0]));
      probe.user.onResponse(answer(status));
      // A provisional answer leaves the probe in flight: the next one comes after a final answer only.
      if (status === 100) probe.user.onResponse(answer(200));
    }
    expect(seqs).to.deep.equal([2, 3, 4, 5]);
    expect(lost).to.deep.equal([]);
  });

  for (const [outcome, why] of [
    ['481', 'OPTIONS answered 481'],
    ['408', 'OPTIONS answered 408'],
    ['timeout', 'OPTIONS not answered (Timer F)'],
    ['transport error', 'OPTIONS could not be sent: refused'],
  ] as const) {
    it(`${outcome}: the leg is lost, and only once for the call`, async () => {
      const lost: string[] = [];
      const t = start(['alice', 'bob'], lost);
      const first = await t.next();
      const second = await t.next();
      const fail = (s: Sent) => {
        if (outcome === 'timeout') s.user.onTimeout();
        else if (outcome === 'transport error') s.user.onTransportError(new Error('refused'));
        else s.user.onResponse(answer(Number(outcome)));
      };
      fail(first);
      fail(second);
      expect(lost).to.deep.equal([`${first.leg}: ${why}`]);
    });
  }

  it('a leg with a probe in flight is not probed again; the others are', async () => {
    const lost: string[] = [];
    const t = start(['alice', 'bob'], lost);
    const [a, b] = [await t.next(), await t.next()];
    const silent = a.leg === 'alice' ? a : b;
    const answering = silent === a ? b : a;
    answering.user.onResponse(answer(200));
    for (let i = 0; i < 3; i++) {
      const probe = await t.next();
      expect(probe.leg).to.equal(answering.leg);
      probe.user.onResponse(answer(200));
    }
    expect(lost).to.deep.equal([]);
  });

  it('no probe within the first interval of the call: a call answered just before a tick waits for the next', async () => {
    const transactions = new RecordingTransactions();
    const probes = legProbes(40);
    // Another call keeps the ticker's phase: this one joins half-way to the next tick.
    const other = new LegKeepalive({ probes, transactions: new RecordingTransactions(), legs: [leg('other', [])] });
    other.start();
    await new Promise((r) => setTimeout(r, 20));
    const startedAt = performance.now();
    keepalive = new LegKeepalive({ probes, transactions, legs: [leg('late', [])] });
    keepalive.start();
    await transactions.next();
    other.stop();
    expect(performance.now() - startedAt, 'the first probe comes a whole interval after the start, at least').to.be.at.least(39);
  });

  it('a leg nothing reaches any more is lost without a probe', async () => {
    const transactions = new RecordingTransactions();
    const why = await new Promise<string>((resolve) => {
      keepalive = new LegKeepalive({ probes: legProbes(5), transactions, legs: [{ ...leg('gone', []), target: () => null, lost: resolve }] });
      keepalive.start();
    });
    expect(why).to.equal('no route to the peer');
  });

  it('RFC 3261 §12.2.1.2: only 481 and 408 end a dialog', () => {
    expect([200, 405, 481, 408, 486, 500, 501, 503].filter(responseEndsDialog)).to.deep.equal([481, 408]);
  });
});
