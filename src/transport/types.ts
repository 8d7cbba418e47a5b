/**
 * The transport layer's interface (RFC 3261 §18): what the transaction layer
 * and the registrar see of sockets. Nothing above this file touches a socket.
 */
import type { ParseFailure } from '../sip/parser.js';
import type { SipMessage, SipResponse } from '../sip/message.js';

export type Protocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export interface Address {
  address: string;
  port: number;
}

/**
 * A flow (RFC 5626 §3): the path a message came in on. For a connection it
 * is the connection; for UDP it is our socket plus the peer's address:port.
 */
export interface Flow {
  /** Stable for the life of the connection; for UDP derived from both ends. */
  readonly id: string;
  readonly protocol: Protocol;
  readonly local: Address;
  readonly remote: Address;
  /** True for TCP, TLS, WS, WSS: no retransmissions, flow closes are announced. */
  readonly reliable: boolean;
}

export interface ListenerInfo {
  protocol: Protocol;
  /** Address as bound (0.0.0.0 for all interfaces). */
  address: string;
  /** Port as bound (the real one when 0 was asked for). */
  port: number;
}

export interface Inbound {
  message: SipMessage;
  flow: Flow;
  /** Size on the wire, for metrics. */
  bytes: number;
}

export interface InboundFailure {
  /** Status the sender should get if the message was a request and can be answered: 400 or 513. */
  status: 400 | 513;
  reason: string;
  partial: ParseFailure['partial'];
  flow: Flow;
}

/** Where to send a request: an existing flow, or an address (a connection is reused or opened). */
export type SendTarget = { flowId: string } | { protocol: Protocol; address: string; port: number };

export type SendErrorHandler = (err: Error) => void;

/**
 * A response serialized and routed once (§18.2.2), so that a server
 * transaction can resend it on every retransmitted request without keeping
 * the message objects alive: a UDP non-INVITE transaction lingers 32 s
 * (Timer J) and at 20,000 requests/s that is 640,000 of them.
 */
export interface PreparedResponse {
  readonly status: number;
  readonly bytes: Buffer;
  readonly flow: Flow;
  /** Where it goes when the flow is UDP or a closed TCP/TLS connection. */
  readonly target: Address;
}

export interface TransportEvents {
  /** A well-framed, parsed message. Requests have `received`/`rport` already set on their top Via (§18.2.1, RFC 3581). */
  message: (inbound: Inbound) => void;
  /** A message that could not be parsed or framed (the sender may deserve a 400/513). */
  malformed: (failure: InboundFailure) => void;
  /** A connection flow ended (closed by either side, idle timeout, error). */
  flowClosed: (flow: Flow) => void;
}

export interface Transport {
  /** Binds every configured listener; resolves with what was bound. */
  start(): Promise<ListenerInfo[]>;
  listeners(): ListenerInfo[];
  /** sent-by host and port to write in a Via for requests we send over `protocol`. */
  viaSentBy(protocol: Protocol): Address;
  /** Sends a request (or an ACK, or a stateless message) to a flow or an address. Failures reach onError. */
  send(message: SipMessage, target: SendTarget, onError?: SendErrorHandler): void;
  /** The same for a message serialized already (a lingering ACK sent again). */
  sendBytes(bytes: Buffer, target: SendTarget, onError?: SendErrorHandler): void;
  /** Sends a response to the request that arrived on `flow`, routed per §18.2.2 and RFC 3581. */
  sendResponse(response: SipResponse, flow: Flow, onError?: SendErrorHandler): void;
  /** Serializes and routes a response once; `sendPrepared` sends it (again). */
  prepareResponse(response: SipResponse, flow: Flow): PreparedResponse;
  sendPrepared(prepared: PreparedResponse, onError?: SendErrorHandler): void;
  /** Looks up a live flow by id (null once it has closed). */
  flow(flowId: string): Flow | null;
  /** Number of open connection flows (TCP/TLS/WS/WSS). */
  connectionCount(): number;
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void;
  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void;
  /** Closes every listener and connection. */
  stop(): Promise<void>;
}
