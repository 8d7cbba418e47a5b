/**
 * Whether the peers of an answered call are still there. A softphone that
 * crashed on UDP never says goodbye: without a probe its call would hold the
 * account's `calls` slot until a BYE that never comes (or the Dial's
 * timeLimit, four hours by default).
 *
 * Every `intervalMs` each leg gets an OPTIONS inside its dialog (RFC 3261
 * §11: it changes no dialog or session state). A 481 or a 408 (§12.2.1.2),
 * no answer within Timer F (64·T1, a timeout counts as a 408, §8.1.3.1), or
 * a request that cannot be sent at all means the peer is gone; any other
 * final answer — 200, or a 405/501 from a UA that does not do OPTIONS in a
 * dialog — came from a live peer. A leg has at most one probe in flight:
 * with a short interval Timer F can outlast it.
 */
import { Ticker } from '../core/ticker.js';
import type { SipRequest } from '../sip/message.js';
import type { ClientTransactionUser } from '../transaction/types.js';
import type { SendTarget } from '../transport/types.js';
import { responseEndsDialog, type Dialog } from './dialog.js';

export interface ProbedLeg {
  dialog: Dialog;
  /** Where requests of the dialog go now; null when nothing reaches the peer any more. */
  target(): SendTarget | null;
  /** Herald's Contact on this leg. */
  contact: string;
  /** The peer is gone; `why` is for the log. Called once at most: the first lost leg stops the probes. */
  lost(why: string): void;
}

/** The ticker that probes the legs of every call's keepalive made with it, every `intervalMs`. */
export function legProbes(intervalMs: number): Ticker<LegKeepalive> {
  return new Ticker(intervalMs, (keepalive) => keepalive.probeAll());
}

export interface LegKeepaliveOptions {
  /** Probes every leg at each tick (`legProbes`); null disables the probes. */
  probes: Ticker<LegKeepalive> | null;
  /** The transaction layer's `sendRequest` (what it returns is not needed). */
  transactions: { sendRequest(request: SipRequest, target: SendTarget, user: ClientTransactionUser): unknown };
  legs: readonly ProbedLeg[];
}

export class LegKeepalive {
  private running = false;
  private startedAt = 0;
  private readonly inFlight = new Set<ProbedLeg>();

  constructor(private readonly o: LegKeepaliveOptions) {}

  start(): void {
    if (this.o.probes === null || this.running) return;
    this.running = true;
    this.startedAt = performance.now();
    // One shared, unref'd timer: a call never keeps the process alive by itself (its timeLimit timer is unref'd too).
    this.o.probes.add(this);
  }

  /** No more probes; answers to probes in flight are ignored. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.o.probes?.delete(this);
  }

  /**
   * One round of probes (the ticker calls it). Not in the first interval of
   * the call: a call answered just before a tick is not probed at once (most
   * calls end before their first probe, and a peer that does not expect an
   * OPTIONS so soon — sipp as a trunk — would take it as an error).
   */
  probeAll(): void {
    const probes = this.o.probes;
    if (probes === null || performance.now() - this.startedAt < probes.everyMs) return;
    for (const leg of this.o.legs) this.probe(leg);
  }

  private probe(leg: ProbedLeg): void {
    if (this.inFlight.has(leg)) return;
    const target = leg.target();
    if (target === null) return this.gone(leg, 'no route to the peer');
    this.inFlight.add(leg);
    const settled = (why: string | null): void => {
      this.inFlight.delete(leg);
      if (why !== null) this.gone(leg, why);
    };
    const options = leg.dialog.request('OPTIONS', leg.contact, undefined, [['Accept', 'application/sdp']]);
    this.o.transactions.sendRequest(options, target, {
      onResponse: (r) => {
        if (r.status >= 200) settled(responseEndsDialog(r.status) ? `OPTIONS answered ${r.status}` : null);
      },
      onTimeout: () => settled('OPTIONS not answered (Timer F)'),
      onTransportError: (err) => settled(`OPTIONS could not be sent: ${err.message}`),
    });
  }

  private gone(leg: ProbedLeg, why: string): void {
    if (!this.running) return;
    this.stop();
    leg.lost(why);
  }
}
