/**
 * What INVITE and non-INVITE server transactions share (RFC 3261 §17.2):
 * identity, the last response sent (resent when the request is
 * retransmitted), termination and its listeners.
 */
import type { SipRequest, SipResponse } from '../sip/message.js';
import { HeldRequest } from './held-request.js';
import type { Flow, PreparedResponse } from '../transport/types.js';
import type { TransactionContext } from './context.js';
import { entryGone, type LingerId } from './lingering.js';
import type { TimerName, TimerOwner } from './timers.js';
import type { ServerTransaction, ServerTransactionState } from './types.js';


export abstract class ServerTransactionBase implements ServerTransaction, TimerOwner {
  protected current: ServerTransactionState;
  /**
   * The last response sent, serialized and routed: resent on a retransmitted
   * request (§17.2.1, §17.2.2) without keeping the response objects alive.
   */
  protected last: PreparedResponse | null = null;
  private terminatedListeners: (() => void)[] | null = null;
  /** Let go of once nothing needs it (held-request.ts). */
  private readonly held: HeldRequest;
  /** The layer's entry for this transaction once it is kept as its final response (see `compact`). */
  private compacted: LingerId | null = null;

  constructor(
    readonly id: string,
    request: SipRequest,
    readonly flow: Flow,
    protected readonly ctx: TransactionContext,
    initial: ServerTransactionState,
  ) {
    this.held = new HeldRequest(request);
    this.current = initial;
  }

  get state(): ServerTransactionState {
    // A compacted transaction is Terminated once the layer has forgotten its entry (64·T1 later).
    if (this.current !== 'terminated' && entryGone(this.ctx.lingering, this.id, this.compacted)) this.current = 'terminated';
    return this.current;
  }

  /**
   * Lets the layer keep this transaction as its final response (lingering.ts)
   * until 64·T1, in place of this object and its timers, when all that is left
   * of its life is absorbing retransmissions: Completed non-INVITE over UDP
   * (the response is resent), Accepted INVITE once its 2xx is ACKed (they
   * are absorbed, RFC 6026 §7.1). Not while someone waits for the end (they are
   * told when the entry goes, as here). False when not compacted.
   */
  protected compact(): boolean {
    const last = this.last;
    if (last === null || this.terminatedListeners !== null || this.compacted !== null) return false;
    this.clearTimers();
    this.releaseRequest();
    this.compacted = this.ctx.lingering.add(this.id, last);
    return true;
  }

  get request(): SipRequest {
    return this.held.get();
  }

  /**
   * Memory diet for a transaction that lingers only to absorb retransmissions
   * (Timer J holds a UDP non-INVITE transaction 64·T1 = 32 s; at 20,000
   * requests/s that is 640,000 of them): its response is already kept as
   * bytes, and of the request only the method and Request-URI stay. The TU
   * got the full request in `onRequest` and keeps it if it needs it.
   */
  protected releaseRequest(): void {
    this.held.release();
  }

  abstract respond(response: SipResponse): void;

  /** A retransmission of the request that created the transaction arrived. */
  abstract receiveRetransmission(request: SipRequest): void;

  /** True once a final (≥ 200) response was sent. */
  hasFinalResponse(): boolean {
    return this.last !== null && this.last.status >= 200;
  }

  abstract onTimer(name: TimerName): void;

  /** Cancels the running timers; called on termination. */
  protected abstract clearTimers(): void;

  /** Only INVITE transactions can be cancelled (§9.2); a no-op here. */
  onCancel(_listener: (cancel: SipRequest) => void): void {}

  onTerminated(listener: () => void): void {
    const compacted = this.compacted;
    if (compacted !== null && this.current !== 'terminated') {
      this.ctx.lingering.onForgotten(this.id, compacted, listener);
      return;
    }
    if (this.state === 'terminated') {
      this.callListener(listener);
      return;
    }
    (this.terminatedListeners ??= []).push(listener);
  }

  get reliable(): boolean {
    return this.flow.reliable;
  }

  /** Sends a response that is not to be resent (a further 2xx in Accepted, RFC 6026 §7.1). */
  protected send(response: SipResponse): void {
    this.ctx.transport.sendResponse(response, this.flow, this.ctx.onResponseError);
  }

  /** Sends a response and keeps it as the one to resend on retransmissions. */
  protected sendAndRemember(response: SipResponse): void {
    // Never throws: a transaction unwound half-way (state moved, timers not
    // started) would stay in the layer's map for ever.
    try {
      this.last = this.ctx.transport.prepareResponse(response, this.flow);
      this.ctx.transport.sendPrepared(this.last, this.ctx.onResponseError);
    } catch (err) {
      this.ctx.log.error({ err, txn: this.id, status: response.status }, 'sending a response failed');
    }
  }

  /** Resends the last response, if any (retransmission absorption, §17.2.1, §17.2.2). */
  protected resendLast(): void {
    if (this.last !== null) this.ctx.transport.sendPrepared(this.last, this.ctx.onResponseError);
  }

  /** Enters Terminated: timers stop, the layer forgets the transaction, listeners run. */
  protected terminate(): void {
    if (this.current === 'terminated') return;
    this.current = 'terminated';
    this.clearTimers();
    this.ctx.serverTerminated(this);
    const listeners = this.terminatedListeners;
    this.terminatedListeners = null;
    if (listeners !== null) for (const l of listeners) this.callListener(l);
  }

  /** Layer shutdown: stop without notifying anyone. */
  dispose(): void {
    this.current = 'terminated';
    this.terminatedListeners = null;
    this.clearTimers();
  }

  protected callListener(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      this.ctx.log.error({ err, txn: this.id }, 'onTerminated listener threw');
    }
  }

  /** Checks a response handed to `respond`; false (and a warning) when it cannot be sent. */
  protected acceptable(response: SipResponse): boolean {
    if (this.state === 'terminated') {
      this.ctx.log.debug(
        { txn: this.id, status: response.status },
        'response after termination ignored',
      );
      return false;
    }
    if (!Number.isInteger(response.status) || response.status < 100 || response.status > 699) {
      this.ctx.log.warn(
        { txn: this.id, status: response.status },
        'response with invalid status ignored',
      );
      return false;
    }
    return true;
  }
}
