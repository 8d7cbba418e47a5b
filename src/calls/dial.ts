/**
 * A `<Dial>` in progress (CONTRACT §5.5): every target rung in parallel, the
 * first 2xx wins and the others get CANCEL with
 * `Reason: SIP;cause=200;text="Call completed elsewhere"`; a 2xx that comes
 * after that is ACKed and hung up (outbound-leg.ts). The dial ends with one
 * outcome:
 *
 *   answered    a leg answered (the call engine bridges it)
 *   busy        every leg answered 486, 600 or 603 (or a client was dnd)
 *   no-answer   the ring timeout passed, or legs timed out / were unavailable
 *   failed      anything else (no target could be dialed or reached, 4xx/5xx)
 *   canceled    the caller hung up first
 */
import type { SipResponse } from '../sip/message.js';
import type { DialCallStatus } from '../instructions/index.js';
import { OutboundLeg, type OutboundLegOptions } from './outbound-leg.js';

export const COMPLETED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"';

export type DialOutcomeKind = 'answered' | Exclude<DialCallStatus, 'completed'>;

export type DialOutcome =
  | { kind: 'answered'; leg: OutboundLeg; response: SipResponse }
  | { kind: Exclude<DialOutcomeKind, 'answered'>; statuses: number[] };

export interface DialOptions {
  legs: Array<Omit<OutboundLegOptions, 'events'>>;
  /** Ring timeout, seconds. */
  timeout: number;
  /** Targets that count as busy without being rung (a dnd client). */
  busyWithoutRinging: number;
  /** Targets that could not be dialed at all: with nothing rung, the dial has `failed`. */
  unreachable: number;
  /** A 180/183 from any leg (the caller hears ringing once). */
  onRinging(leg: OutboundLeg, response: SipResponse): void;
  /**
   * Asked of each 2xx before it wins: a failure status (488 when its media
   * cannot meet the caller's) makes that leg fail instead — ACKed, hung up
   * with the status as Reason — and the dial goes on with the others.
   */
  acceptAnswer?(leg: OutboundLeg, response: SipResponse): { status: number; text: string } | null;
}

export class Dial {
  readonly legs: OutboundLeg[];
  private readonly statuses: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private done = false;
  private resolve!: (o: DialOutcome) => void;
  readonly outcome: Promise<DialOutcome>;

  constructor(private readonly o: DialOptions) {
    this.outcome = new Promise((r) => (this.resolve = r));
    this.legs = o.legs.map(
      (leg) =>
        new OutboundLeg({
          ...leg,
          events: {
            provisional: (l, r) => {
              if (!this.done) this.o.onRinging(l, r);
            },
            answered: (l, r) => this.answered(l, r),
            failed: (_l, status) => this.failed(status),
          },
        }),
    );
  }

  start(): void {
    if (this.legs.length === 0) {
      const kind = this.o.busyWithoutRinging > 0 ? 'busy' : this.o.unreachable > 0 ? 'failed' : 'no-answer';
      this.finish({ kind, statuses: [] });
      return;
    }
    this.timer = setTimeout(() => this.timedOut(), this.o.timeout * 1000);
    for (const leg of this.legs) leg.start();
  }

  /** The caller gave up (CANCEL): every leg is cancelled, the outcome is `canceled`. */
  cancel(): void {
    if (this.done) return;
    for (const leg of this.legs) leg.cancel();
    this.finish({ kind: 'canceled', statuses: this.statuses });
  }

  private answered(leg: OutboundLeg, response: SipResponse): void {
    if (this.done) {
      // Too late (the dial ended): answered anyway, so hang it up.
      leg.ack();
      leg.bye();
      return;
    }
    const refused = this.o.acceptAnswer?.(leg, response) ?? null;
    if (refused !== null) {
      leg.ack();
      leg.bye(`SIP;cause=${refused.status};text="${refused.text.replace(/["\\]/g, '')}"`);
      this.failed(refused.status);
      return;
    }
    for (const other of this.legs) if (other !== leg) other.cancel(COMPLETED_ELSEWHERE);
    this.finish({ kind: 'answered', leg, response });
  }

  private failed(status: number): void {
    this.statuses.push(status);
    if (this.done) return;
    if (this.legs.some((l) => l.state === 'calling' || l.state === 'ringing')) return;
    this.finish({ kind: classify(this.statuses, this.o.busyWithoutRinging), statuses: this.statuses });
  }

  private timedOut(): void {
    this.timer = null;
    if (this.done) return;
    for (const leg of this.legs) leg.cancel();
    this.finish({ kind: 'no-answer', statuses: this.statuses });
  }

  private finish(outcome: DialOutcome): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.resolve(outcome);
  }
}

/** The dial's status from its legs' final responses (Twilio's DialCallStatus). */
function classify(statuses: readonly number[], busyWithoutRinging: number): Exclude<DialOutcomeKind, 'answered' | 'canceled'> {
  const busy = (s: number) => s === 486 || s === 600 || s === 603;
  const unanswered = (s: number) => s === 408 || s === 480 || s === 487;
  if (statuses.every(busy) && (statuses.length > 0 || busyWithoutRinging > 0)) return 'busy';
  if (statuses.some(busy) && statuses.every((s) => busy(s) || unanswered(s))) return 'busy';
  if (statuses.every(unanswered)) return 'no-answer';
  return 'failed';
}
