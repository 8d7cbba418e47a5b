/**
 * The transaction layer's interface (RFC 3261 §17, RFC 6026): how a
 * transaction user — the core router, the registrar, the call engine — plugs in.
 */
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { Flow, SendTarget } from '../transport/types.js';

export type ServerTransactionState =
  | 'trying'
  | 'proceeding'
  | 'completed'
  | 'confirmed'
  | 'accepted'
  | 'terminated';

export type ClientTransactionState =
  | 'calling'
  | 'trying'
  | 'proceeding'
  | 'completed'
  | 'accepted'
  | 'terminated';

export interface ServerTransaction {
  readonly id: string;
  /**
   * The request that started the transaction. Once a non-INVITE transaction
   * has sent its final response over UDP, only method and Request-URI remain
   * (it lingers 32 s for retransmissions; keeping every header costs too much):
   * keep the request given to `onRequest` if it is needed later.
   */
  readonly request: SipRequest;
  readonly flow: Flow;
  readonly state: ServerTransactionState;
  /**
   * Sends a response. Provisional responses keep the transaction open; a
   * final one completes it (a 2xx to INVITE moves it to Accepted, RFC 6026).
   * Responses after the final one are ignored.
   */
  respond(response: SipResponse): void;
  /** INVITE only: called once when a matching CANCEL arrives while no final response was sent. */
  onCancel(listener: (cancel: SipRequest) => void): void;
  /** Called once when the transaction terminates. */
  onTerminated(listener: () => void): void;
}

export interface ServerTransactionUser {
  /** A request that starts a new server transaction (never ACK, never a retransmission). */
  onRequest(request: SipRequest, txn: ServerTransaction): void;
  /** An ACK that matches no INVITE server transaction: the ACK of a 2xx, passed end to end (§17.2.3, §13.2.2.4). */
  onAck(ack: SipRequest, flow: Flow): void;
}

export interface ClientTransactionUser {
  /** Every response of the transaction; for INVITE also 2xx retransmissions while Accepted (RFC 6026). */
  onResponse(response: SipResponse): void;
  /** Timer B or F fired: treat as 408 (§8.1.3.1). */
  onTimeout(): void;
  /** The transport could not send the request (§8.1.3.1: treat as 503). */
  onTransportError(error: Error): void;
}

/** For requests whose outcome changes nothing (a BYE after the call ended, a CANCEL): responses are dropped. */
export const IGNORE_OUTCOME: ClientTransactionUser = { onResponse() {}, onTimeout() {}, onTransportError() {} };

export interface ClientTransaction {
  readonly id: string;
  readonly request: SipRequest;
  readonly state: ClientTransactionState;
  readonly target: SendTarget;
  /** Called once when the transaction terminates (at once if it already has). */
  onTerminated(listener: () => void): void;
  /**
   * The TU is done with this transaction. An INVITE's transaction outlives
   * the call by up to 64·T1 (RFC 6026 Accepted, Timer D); from now on a
   * retransmitted final response of the same dialog (same To tag) is
   * answered with `ack` sent again to `target` (the bytes of the ACK of a
   * 2xx as `TransactionLayer.sendAck` sent them; null: absorbed), a failure's own ACK is resent as
   * before, and nothing reaches the TU. The layer keeps such a transaction
   * as bytes (lingering.ts), so neither the call nor the transaction's
   * objects are kept those 32 s.
   */
  settle(ack: Buffer | null, target: SendTarget): void;
}

export interface TimerSettings {
  /** RTT estimate, ms (default 500). */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, ms (default 4000). */
  t2: number;
  /** Maximum duration a message remains in the network, ms (default 5000). */
  t4: number;
}

export const DEFAULT_TIMERS: TimerSettings = { t1: 500, t2: 4000, t4: 5000 };
