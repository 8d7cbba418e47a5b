/**
 * What INVITE and non-INVITE client transactions share (RFC 3261 §17.1):
 * identity, sending through the transport, reporting to the TU, termination.
 */
import type { SipRequest, SipResponse } from '../sip/message.js';
import { ackAnswers } from './ack.js';
import { HeldRequest } from './held-request.js';
import type { SendTarget } from '../transport/types.js';
import type { TransactionContext } from './context.js';
import { entryGone, type LingerId } from './lingering.js';
import type { TimerName, TimerOwner } from './timers.js';
import { IGNORE_OUTCOME, type ClientTransaction, type ClientTransactionState, type ClientTransactionUser } from './types.js';

const NO_BYTES = Buffer.alloc(0);

export abstract class ClientTransactionBase implements ClientTransaction, TimerOwner {
  private current: ClientTransactionState;
  /** The layer's entry for this transaction once it is kept as bytes (see `compact`). */
  private compacted: LingerId | null = null;
  private terminatedListeners: (() => void)[] | null = null;
  /** Passed to every transport send of this transaction. */
  protected readonly onSendError = (err: Error): void => this.transportFailed(err);

  /** Let go of once nothing needs it (held-request.ts). */
  private readonly held: HeldRequest;

  constructor(
    readonly id: string,
    request: SipRequest,
    readonly target: SendTarget,
    /** False only for UDP: retransmission timers run and the wait timers (D, K) are non-zero. */
    readonly reliable: boolean,
    protected user: ClientTransactionUser,
    protected readonly ctx: TransactionContext,
    initial: ClientTransactionState,
  ) {
    this.held = new HeldRequest(request);
    this.current = initial;
  }

  get state(): ClientTransactionState {
    // A compacted transaction is Terminated once its entry has gone (64·T1 later).
    if (this.current !== 'terminated' && entryGone(this.ctx.lingeringAcks, this.id, this.compacted)) this.current = 'terminated';
    return this.current;
  }

  set state(state: ClientTransactionState) {
    this.current = state;
  }

  get request(): SipRequest {
    return this.held.get();
  }

  /**
   * Lets go of the request once nothing will send it again or build from it
   * (an INVITE after its final response: no retransmission, no CANCEL; the
   * ACK of a failure is built already). Accepted and Completed last 32 s.
   */
  protected releaseRequest(): void {
    this.held.release();
  }

  /** What is left of the transaction only absorbs: the request and the TU (and through it, a call) are let go. */
  protected letGo(): void {
    this.user = IGNORE_OUTCOME;
    this.releaseRequest();
  }

  /** Sends the request and starts the timers. */
  abstract start(): void;

  /** A response whose branch and CSeq method matched this transaction (§17.1.3). */
  abstract receiveResponse(response: SipResponse): void;

  abstract onTimer(name: TimerName): void;

  protected abstract clearTimers(): void;

  /** True while the request itself is still in flight (Calling / Trying / Proceeding). */
  protected abstract pending(): boolean;

  settle(ack: Buffer | null, target: SendTarget): void {
    this.user = IGNORE_OUTCOME;
    if (this.compacted !== null || this.state !== 'accepted') return;
    const bytes = ack ?? NO_BYTES;
    if (this.compact(bytes, target)) return;
    // Someone waits for the end: the object lives on, with a TU that only ACKs.
    const transport = this.ctx.transport;
    this.user = {
      onResponse: (r) => {
        if (ackAnswers(bytes, r)) transport.sendBytes(bytes, target, this.onSendError);
      },
      onTimeout() {},
      onTransportError() {},
    };
  }

  /**
   * Lets the layer keep this transaction as `ack`'s bytes (resent to `target`
   * for a retransmitted final response with the ACK's To tag) until 64·T1,
   * instead of this object, its timers and its TU: an INVITE's 32 s of
   * Accepted or Completed would otherwise keep them all through every
   * garbage collection. Not done while someone waits for the end (they are
   * told when the entry goes, as here). False when not compacted.
   */
  protected compact(ack: Buffer, target: SendTarget): boolean {
    if (this.terminatedListeners !== null || this.state === 'terminated') return false;
    this.clearTimers();
    this.letGo();
    this.compacted = this.ctx.lingeringAcks.addMessage(this.id, ack, target, null);
    return true;
  }

  onTerminated(listener: () => void): void {
    const compacted = this.compacted;
    if (compacted !== null && this.current !== 'terminated') {
      this.ctx.lingeringAcks.onForgotten(this.id, compacted, listener);
      return;
    }
    if (this.state === 'terminated') {
      this.safely('onTerminated', listener);
      return;
    }
    (this.terminatedListeners ??= []).push(listener);
  }

  protected send(message: SipRequest): void {
    this.ctx.transport.send(message, this.target, this.onSendError);
  }

  /** Passes a response to the TU. */
  protected deliver(response: SipResponse): void {
    this.safely('onResponse', () => this.user.onResponse(response));
  }

  /** Timer B / F: Terminated, and the TU treats it as a 408 (§8.1.3.1). */
  protected timeout(): void {
    this.terminate();
    this.safely('onTimeout', () => this.user.onTimeout());
  }

  /**
   * §17.1.1.2, §17.1.2.2: a transport error while the request is pending
   * terminates the transaction and is reported to the TU (as a 503, §8.1.3.1).
   * The report is deferred by a microtask so that an error raised inside
   * `sendRequest` reaches the TU after `sendRequest` has returned.
   */
  transportFailed(err: Error): void {
    if (!this.pending()) {
      this.ctx.log.debug(
        { err, txn: this.id, state: this.state },
        'transport error after the request was answered',
      );
      return;
    }
    this.terminate();
    queueMicrotask(() => this.safely('onTransportError', () => this.user.onTransportError(err)));
  }

  protected terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearTimers();
    this.ctx.clientTerminated(this);
    const listeners = this.terminatedListeners;
    this.terminatedListeners = null;
    if (listeners !== null) for (const l of listeners) this.safely('onTerminated', l);
  }

  /** Layer shutdown: stop without notifying anyone. */
  dispose(): void {
    this.state = 'terminated';
    this.terminatedListeners = null;
    this.clearTimers();
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.ctx.log.error({ err, txn: this.id }, `client transaction user ${what} threw`);
    }
  }
}
