/**
 * INVITE server transaction (RFC 3261 §17.2.1, Figure 7, as updated by RFC 6026 §7.1):
 *
 *   Proceeding --3xx-6xx--> Completed --ACK--> Confirmed --Timer I--> Terminated
 *        |                      \--Timer H (no ACK)--> Terminated
 *        \--2xx--> Accepted --Timer L--> Terminated
 *
 * The transaction sends `100 Trying` as soon as it exists. In Completed the
 * final response is retransmitted on UDP (Timer G); in Accepted the 2xx is
 * retransmitted on every transport until its ACK arrives (§13.3.1.4), which
 * the layer recognises by Call-ID, CSeq number and To tag.
 */
import { callIdOf, cseqOf, tagOf, toOf } from '../sip/fields.js';
import { newTag } from '../sip/ids.js';
import { detach } from '../core/strings.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { createResponse } from '../sip/response.js';
import type { Flow } from '../transport/types.js';
import type { TransactionContext } from './context.js';
import { ackKey } from './keys.js';
import { ServerTransactionBase } from './server-base.js';
import type { TimerHandle, TimerName } from './timers.js';

export class InviteServerTransaction extends ServerTransactionBase {
  private cancelListeners: ((cancel: SipRequest) => void)[] | null = null;
  private cancelled = false;
  /** To tag of our responses: chosen by the TU's first tagged response, or by us for a 487 / the CANCEL's 200. */
  private localTag: string | null = null;
  /** Registered with the layer while a 2xx waits for its ACK. */
  private awaitedAck: string | null = null;
  private timerG: TimerHandle | null = null;
  private timerH: TimerHandle | null = null;
  private timerI: TimerHandle | null = null;
  private timerL: TimerHandle | null = null;
  private timer2xx: TimerHandle | null = null;
  private interval = 0;

  constructor(id: string, request: SipRequest, flow: Flow, ctx: TransactionContext) {
    super(id, request, flow, ctx, 'proceeding');
  }

  /** §17.2.1: the server transaction answers `100 Trying` at once. */
  start(): void {
    const trying = createResponse(this.request, 100);
    // §8.2.6.1: a 100 echoes the request's Timestamp.
    const timestamp = this.request.headers.get('timestamp');
    if (timestamp !== undefined) trying.headers.append('Timestamp', timestamp);
    this.sendAndRemember(trying);
  }

  /** The To tag our responses carry (one is chosen if none was sent yet), §9.2. */
  toTag(): string {
    return (this.localTag ??= newTag());
  }

  /** The To tag of the final response, for RFC 2543 ACK matching (§17.2.3). */
  finalToTag(): string | null {
    return this.hasFinalResponse() ? this.localTag : null;
  }

  override onCancel(listener: (cancel: SipRequest) => void): void {
    if (this.cancelled || this.state === 'terminated') return;
    (this.cancelListeners ??= []).push(listener);
  }

  respond(response: SipResponse): void {
    if (!this.acceptable(response)) return;
    const status = response.status;
    if (this.state === 'accepted' && status >= 200 && status < 300) {
      // RFC 6026 §7.1: in Accepted further 2xx from the TU (e.g. a proxy relaying forks) are sent.
      this.send(response);
      return;
    }
    if (this.state !== 'proceeding') {
      this.ctx.log.debug(
        { txn: this.id, status, state: this.state },
        'response after final ignored',
      );
      return;
    }
    if (status > 100) {
      const tag = tagOf(toOf(response));
      if (tag !== null) this.localTag ??= tag;
    }
    if (status < 200) {
      // §17.2.1: provisional responses keep Proceeding; the last one is resent on retransmitted INVITEs.
      this.sendAndRemember(response);
      return;
    }
    // A CANCEL after a final response changes nothing (§9.2): the listeners, and the
    // call they hold, are let go now rather than when Timer L/H ends (32 s later).
    this.cancelListeners = null;
    if (status < 300) {
      this.enterAccepted(response);
    } else {
      this.enterCompleted(response);
    }
  }

  /**
   * RFC 6026 §7.1: 2xx → Accepted; Timer L = 64·T1. §13.3.1.4: the 2xx is
   * retransmitted (T1 doubling to T2) until its ACK arrives, "independent of
   * whatever transport protocols are used to send the response" — a reliable
   * first hop says nothing about the hops beyond it, and the 2xx is end to end.
   */
  private enterAccepted(response: SipResponse): void {
    this.current = 'accepted';
    this.sendAndRemember(response);
    const t1 = this.ctx.settings.t1;
    this.timerL = this.ctx.timers.start(64 * t1, this, 'L');
    this.interval = t1;
    this.timer2xx = this.ctx.timers.start(t1, this, '2xx');
    const callId = callIdOf(this.request);
    const cseq = cseqOf(this.request);
    const tag = tagOf(toOf(response));
    if (callId !== null && cseq !== null && tag !== null) {
      // Detached: a slice of the request's Call-ID would keep its whole text for Timer L.
      this.awaitedAck = detach(ackKey(callId, cseq.seq, tag));
      this.ctx.awaitAck(this.awaitedAck, this);
    }
    // The TU has the request; the 32 s of Accepted need only the key and the 2xx, kept as bytes.
    this.releaseRequest();
  }

  /** §17.2.1: 3xx–6xx → Completed; Timer G (UDP) from T1 doubling up to T2; Timer H = 64·T1. */
  private enterCompleted(response: SipResponse): void {
    this.current = 'completed';
    this.sendAndRemember(response);
    const t1 = this.ctx.settings.t1;
    if (!this.reliable) {
      this.interval = t1;
      this.timerG = this.ctx.timers.start(t1, this, 'G');
    }
    this.timerH = this.ctx.timers.start(64 * t1, this, 'H');
    this.releaseRequest();
  }

  receiveRetransmission(_request: SipRequest): void {
    // §17.2.1: Proceeding resends the last provisional, Completed the final response.
    // RFC 6026 §7.1: Accepted absorbs them (the 2xx is retransmitted on its own timer); so does Confirmed.
    if (this.state === 'proceeding' || this.state === 'completed') this.resendLast();
  }

  /**
   * An ACK matching this transaction by branch (or by the RFC 2543 rules).
   * Returns true when it must go on to the TU: the ACK of a 2xx (RFC 6026 §7.1).
   */
  receiveAck(_ack: SipRequest): boolean {
    if (this.state === 'completed') {
      // §17.2.1: ACK in Completed → Confirmed; Timer G stops; Timer I = T4 on UDP, 0 on reliable transports.
      this.current = 'confirmed';
      this.timerG = this.ctx.timers.cancel(this.timerG);
      this.timerH = this.ctx.timers.cancel(this.timerH);
      if (this.reliable) this.terminate();
      else this.timerI = this.ctx.timers.start(this.ctx.settings.t4, this, 'I');
      return false;
    }
    if (this.state === 'accepted') {
      this.ackReceived();
      return true;
    }
    // Confirmed absorbs ACK retransmissions; an ACK before any final response is meaningless.
    return false;
  }

  /**
   * The ACK of our 2xx arrived: stop retransmitting it (§13.3.1.4); Timer L
   * still runs (RFC 6026), and for its 32 s the transaction only absorbs
   * retransmitted INVITEs: the layer keeps it as its 2xx (`compact`).
   */
  ackReceived(): void {
    this.timer2xx = this.ctx.timers.cancel(this.timer2xx);
    this.forgetAck();
    if (this.state === 'accepted') this.compact();
  }

  /**
   * A CANCEL for this INVITE arrived (§9.2). Without a final response the
   * onCancel listeners run once; if nobody listens, the INVITE is answered
   * `487 Request Terminated` here.
   */
  cancel(cancel: SipRequest): void {
    if (this.cancelled || this.state !== 'proceeding') return;
    this.cancelled = true;
    const listeners = this.cancelListeners;
    this.cancelListeners = null;
    if (listeners === null || listeners.length === 0) {
      this.respond(createResponse(this.request, 487, undefined, this.toTag()));
      return;
    }
    for (const l of listeners) {
      try {
        l(cancel);
      } catch (err) {
        this.ctx.log.error({ err, txn: this.id }, 'onCancel listener threw');
      }
    }
  }

  onTimer(name: TimerName): void {
    const timers = this.ctx.timers;
    const t2 = this.ctx.settings.t2;
    switch (name) {
      case 'G':
        // §17.2.1: Timer G retransmits the final response, interval doubling up to T2.
        this.timerG = null;
        if (this.state !== 'completed') return;
        this.resendLast();
        this.interval = Math.min(2 * this.interval, t2);
        this.timerG = timers.start(this.interval, this, 'G');
        return;
      case 'H':
        // §17.2.1, §17.2.4: no ACK within 64·T1 → Terminated (the TU learns through onTerminated).
        this.timerH = null;
        if (this.state !== 'completed') return;
        this.ctx.log.info({ txn: this.id }, 'Timer H: no ACK for the final response');
        this.terminate();
        return;
      case 'I':
        // §17.2.1: Timer I ends Confirmed.
        this.timerI = null;
        if (this.state === 'confirmed') this.terminate();
        return;
      case 'L':
        // RFC 6026 §7.1: Timer L ends Accepted.
        this.timerL = null;
        if (this.state === 'accepted') this.terminate();
        return;
      case '2xx':
        // §13.3.1.4: the 2xx is retransmitted from T1 doubling up to T2 until the ACK (or Timer L).
        this.timer2xx = null;
        if (this.state !== 'accepted') return;
        this.resendLast();
        this.interval = Math.min(2 * this.interval, t2);
        this.timer2xx = timers.start(this.interval, this, '2xx');
        return;
      default:
        return;
    }
  }

  protected clearTimers(): void {
    const timers = this.ctx.timers;
    this.timerG = timers.cancel(this.timerG);
    this.timerH = timers.cancel(this.timerH);
    this.timerI = timers.cancel(this.timerI);
    this.timerL = timers.cancel(this.timerL);
    this.timer2xx = timers.cancel(this.timer2xx);
    this.forgetAck();
    this.cancelListeners = null;
  }

  private forgetAck(): void {
    if (this.awaitedAck !== null) {
      this.ctx.forgetAck(this.awaitedAck);
      this.awaitedAck = null;
    }
  }
}
