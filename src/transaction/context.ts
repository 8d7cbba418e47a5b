/**
 * What a transaction sees of the layer that owns it: the transport, the timer
 * queue and settings, a logger, and the hooks that keep the layer's maps in
 * step with transaction lifetimes.
 */
import type { SipResponse } from '../sip/message.js';
import type { Flow, PreparedResponse, SendErrorHandler, SendTarget, Transport } from '../transport/types.js';
import type { LingerId } from './lingering.js';
import type { TimerQueue, TransactionTimerSettings } from './timers.js';

/** pino-compatible logger subset. */
export interface TransactionLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = (): void => {};
export const SILENT_LOGGER: TransactionLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
};

/** A transaction that the layer tracks in one of its maps. */
export interface Tracked {
  readonly id: string;
}

/** The layer's compact table of completed UDP non-INVITE transactions (lingering.ts). */
export interface Lingering {
  /** Keeps `response` under `key` in place of its transaction until Timer J; returns the entry's id. */
  add(key: string, response: PreparedResponse): LingerId;
  /** True until Timer J forgets entry `id`. */
  holds(key: string, id: LingerId): boolean;
  /** Runs `listener` when Timer J forgets entry `id` (at once if it has). */
  onForgotten(key: string, id: LingerId, listener: () => void): void;
}

/** The layer's compact table of INVITE client transactions that only ACK a retransmitted final response (lingering.ts). */
export interface LingeringAcks {
  /** Keeps the ACK's bytes (empty: absorb only) under `key` in place of its transaction until 64·T1; returns the entry's id. */
  addMessage(key: string, bytes: Buffer, flow: SendTarget, target: null): LingerId;
  holds(key: string, id: LingerId): boolean;
  onForgotten(key: string, id: LingerId, listener: () => void): void;
}

export interface TransactionContext {
  readonly transport: Transport;
  readonly timers: TimerQueue;
  readonly lingering: Lingering;
  readonly lingeringAcks: LingeringAcks;
  readonly settings: TransactionTimerSettings;
  readonly log: TransactionLogger;
  /** Logs a failure to send a response (the transport already tried §18.2.2's fallbacks). */
  readonly onResponseError: SendErrorHandler;
  /** Sends a response on a flow, logging failures. */
  sendResponse(response: SipResponse, flow: Flow): void;
  serverTerminated(txn: Tracked): void;
  clientTerminated(txn: Tracked): void;
  /** An INVITE server transaction entered Accepted and waits for the ACK of its 2xx under `key`. */
  awaitAck(key: string, txn: { ackReceived(): void }): void;
  /** Forgets an `awaitAck` registration (ACK arrived or the transaction ended). */
  forgetAck(key: string): void;
}
