/**
 * Test doubles for the transaction layer: a Transport that records what is
 * sent and lets a test inject inbound messages, recording transaction users,
 * and SIP message builders.
 */
import { parseMessage } from '../../../src/sip/parser.js';
import { serialize } from '../../../src/sip/serializer.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/message.js';
import type {
  Address,
  Flow,
  InboundFailure,
  ListenerInfo,
  Protocol,
  PreparedResponse,
  SendErrorHandler,
  SendTarget,
  Transport,
  TransportEvents,
} from '../../../src/transport/types.js';
import type {
  ClientTransactionUser,
  ServerTransaction,
  ServerTransactionUser,
} from '../../../src/transaction/types.js';

/** An append-only list whose growth can be awaited. */
export class EventLog<T> {
  readonly items: T[] = [];
  private waiters: { pred: (t: T) => boolean; count: number; resolve: () => void }[] = [];

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (this.items.filter(w.pred).length >= w.count) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  filter(pred: (t: T) => boolean): T[] {
    return this.items.filter(pred);
  }

  /** Resolves with the matching items once at least `count` of them were pushed; rejects after `timeoutMs`. */
  waitFor(pred: (t: T) => boolean = () => true, count = 1, timeoutMs = 3000): Promise<T[]> {
    if (this.items.filter(pred).length >= count) return Promise.resolve(this.items.filter(pred));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `waited ${timeoutMs} ms for ${count} matching events, saw ${this.items.filter(pred).length}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(this.items.filter(pred));
      };
      this.waiters.push({ pred, count, resolve: done });
    });
  }
}

export interface Sent {
  kind: 'request' | 'response';
  message: SipMessage;
  target: SendTarget | null;
  flow: Flow | null;
  at: number;
}

export function udpFlow(
  id = 'udp:1',
  remote: Address = { address: '192.0.2.10', port: 5060 },
): Flow {
  return {
    id,
    protocol: 'udp',
    local: { address: '192.0.2.1', port: 5060 },
    remote,
    reliable: false,
  };
}

export function tcpFlow(
  id = 'tcp:1',
  remote: Address = { address: '192.0.2.10', port: 40000 },
): Flow {
  return {
    id,
    protocol: 'tcp',
    local: { address: '192.0.2.1', port: 5060 },
    remote,
    reliable: true,
  };
}

export class FakeTransport implements Transport {
  readonly sent = new EventLog<Sent>();
  readonly flows = new Map<string, Flow>();
  /** When set, every send reports this error through its onError callback. */
  failWith: Error | null = null;
  private readonly handlers: { [E in keyof TransportEvents]: TransportEvents[E][] } = {
    message: [],
    malformed: [],
    flowClosed: [],
  };

  async start(): Promise<ListenerInfo[]> {
    return this.listeners();
  }

  listeners(): ListenerInfo[] {
    return [{ protocol: 'udp', address: '192.0.2.1', port: 5060 }];
  }

  viaSentBy(_protocol: Protocol): Address {
    return { address: '192.0.2.1', port: 5060 };
  }

  send(message: SipMessage, target: SendTarget, onError?: SendErrorHandler): void {
    this.sent.push({ kind: 'request', message, target, flow: null, at: performance.now() });
    if (this.failWith !== null) onError?.(this.failWith);
  }

  sendBytes(bytes: Buffer, target: SendTarget, onError?: SendErrorHandler): void {
    // A lingering ACK comes back rebuilt from its bytes, so recorded sends stay inspectable.
    const r = parseMessage(bytes);
    if (!r.ok) throw new Error('sendBytes with bytes that are not a message');
    this.send(r.message, target, onError);
  }

  /** The message behind each prepared response, so recorded sends stay inspectable. */
  private readonly prepared = new WeakMap<PreparedResponse, SipResponse>();

  prepareResponse(response: SipResponse, flow: Flow): PreparedResponse {
    const p: PreparedResponse = { status: response.status, bytes: serialize(response), flow, target: flow.remote };
    this.prepared.set(p, response);
    return p;
  }

  sendPrepared(prepared: PreparedResponse, onError?: SendErrorHandler): void {
    // A lingering response comes back rebuilt from its bytes (lingering.ts keeps no objects).
    const response = this.prepared.get(prepared) ?? reparsed(prepared.bytes);
    this.sendResponse(response, prepared.flow, onError);
  }

  sendResponse(response: SipResponse, flow: Flow, onError?: SendErrorHandler): void {
    this.sent.push({
      kind: 'response',
      message: response,
      target: null,
      flow,
      at: performance.now(),
    });
    if (this.failWith !== null) onError?.(this.failWith);
  }

  flow(flowId: string): Flow | null {
    return this.flows.get(flowId) ?? null;
  }

  connectionCount(): number {
    return 0;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    this.handlers[event].push(listener);
  }

  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    const list = this.handlers[event] as TransportEvents[E][];
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  }

  async stop(): Promise<void> {}

  listenerCount(event: keyof TransportEvents): number {
    return this.handlers[event].length;
  }

  /** Delivers a message as if it arrived on `flow`. */
  inject(message: SipMessage, flow: Flow): void {
    for (const l of this.handlers.message.slice()) l({ message, flow, bytes: 0 });
  }

  injectMalformed(failure: InboundFailure): void {
    for (const l of this.handlers.malformed.slice()) l(failure);
  }

  /** Sent responses, optionally only those with `status`. */
  responses(status?: number): SipResponse[] {
    return this.sent.items
      .filter((s) => s.kind === 'response')
      .map((s) => s.message as SipResponse)
      .filter((r) => status === undefined || r.status === status);
  }

  /** Sent requests, optionally only those with `method`. */
  requests(method?: string): SipRequest[] {
    return this.sent.items
      .filter((s) => s.kind === 'request')
      .map((s) => s.message as SipRequest)
      .filter((r) => method === undefined || r.method === method);
  }

  waitResponses(status: number, count = 1, timeoutMs?: number): Promise<Sent[]> {
    return this.sent.waitFor(
      (s) => s.kind === 'response' && (s.message as SipResponse).status === status,
      count,
      timeoutMs,
    );
  }

  waitRequests(method: string, count = 1, timeoutMs?: number): Promise<Sent[]> {
    return this.sent.waitFor(
      (s) => s.kind === 'request' && (s.message as SipRequest).method === method,
      count,
      timeoutMs,
    );
  }
}

/** A server TU that records everything and answers through `onRequestImpl` when set. */
export class RecordingServerUser implements ServerTransactionUser {
  readonly requests = new EventLog<{ request: SipRequest; txn: ServerTransaction }>();
  readonly acks = new EventLog<{ ack: SipRequest; flow: Flow }>();
  onRequestImpl: ((request: SipRequest, txn: ServerTransaction) => void) | null = null;

  onRequest(request: SipRequest, txn: ServerTransaction): void {
    this.requests.push({ request, txn });
    this.onRequestImpl?.(request, txn);
  }

  onAck(ack: SipRequest, flow: Flow): void {
    this.acks.push({ ack, flow });
  }
}

export type ClientEvent =
  | { type: 'response'; response: SipResponse }
  | { type: 'timeout' }
  | { type: 'error'; error: Error };

export class RecordingClientUser implements ClientTransactionUser {
  readonly events = new EventLog<ClientEvent>();

  onResponse(response: SipResponse): void {
    this.events.push({ type: 'response', response });
  }

  onTimeout(): void {
    this.events.push({ type: 'timeout' });
  }

  onTransportError(error: Error): void {
    this.events.push({ type: 'error', error });
  }

  responses(status?: number): SipResponse[] {
    return this.events.items.flatMap((e) =>
      e.type === 'response' && (status === undefined || e.response.status === status)
        ? [e.response]
        : [],
    );
  }

  count(type: ClientEvent['type']): number {
    return this.events.filter((e) => e.type === type).length;
  }

  waitFor(type: ClientEvent['type'], count = 1, timeoutMs?: number): Promise<ClientEvent[]> {
    return this.events.waitFor((e) => e.type === type, count, timeoutMs);
  }

  waitStatus(status: number, count = 1, timeoutMs?: number): Promise<ClientEvent[]> {
    return this.events.waitFor(
      (e) => e.type === 'response' && e.response.status === status,
      count,
      timeoutMs,
    );
  }
}

export function parse(text: string): SipMessage {
  const r = parseMessage(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8'));
  if (!r.ok) throw new Error(`test message does not parse: ${r.reason}`);
  return r.message;
}

export interface RequestSpec {
  method: string;
  uri?: string;
  /** Full top Via value; default UDP from 192.0.2.10 with `branch`; null for none (a request we originate). */
  via?: string | null;
  branch?: string;
  fromTag?: string;
  toTag?: string | null;
  callId?: string;
  cseq?: number;
  /** CSeq method, default `method`. */
  cseqMethod?: string;
  extra?: string[];
  noMaxForwards?: boolean;
}

export function request(spec: RequestSpec): SipRequest {
  const via =
    spec.via !== undefined
      ? spec.via
      : `SIP/2.0/UDP 192.0.2.10:5060;branch=${spec.branch ?? 'z9hG4bK-test-1'}`;
  const to = `<sip:bob@example.com>${spec.toTag ? `;tag=${spec.toTag}` : ''}`;
  const lines = [
    `${spec.method} ${spec.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    ...(via === null ? [] : [`Via: ${via}`]),
    ...(spec.noMaxForwards ? [] : ['Max-Forwards: 70']),
    `From: "Alice" <sip:alice@example.com>;tag=${spec.fromTag ?? 'from-1'}`,
    `To: ${to}`,
    `Call-ID: ${spec.callId ?? 'call-1@example.com'}`,
    `CSeq: ${spec.cseq ?? 1} ${spec.cseqMethod ?? spec.method}`,
    ...(spec.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  return parse(lines.join('\r\n')) as SipRequest;
}

/** A response to `req` as a peer UAS would send it (copies Via, From, To, Call-ID, CSeq). */
export function responseTo(
  req: SipRequest,
  status: number,
  toTag: string | null = 'uas-tag',
  reason = 'Reason',
): SipResponse {
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const f of req.headers.all()) {
    if (f.key === 'via' || f.key === 'from' || f.key === 'call-id' || f.key === 'cseq')
      lines.push(`${f.name}: ${f.value}`);
    else if (f.key === 'to')
      lines.push(
        `To: ${f.value}${toTag !== null && !/;tag=/.test(f.value) ? `;tag=${toTag}` : ''}`,
      );
  }
  lines.push('Content-Length: 0', '', '');
  return parse(lines.join('\r\n')) as SipResponse;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Test timers: fast enough for mocha, with 64·T1 = 640 ms. */
export const FAST = { t1: 10, t2: 40, t4: 50, timerD: 100 };

/** Resolves when the transaction terminates. */
export function terminated(txn: { onTerminated(listener: () => void): void }): Promise<void> {
  return new Promise((resolve) => txn.onTerminated(resolve));
}

/** For conditions no event announces (e.g. a layer-internal CANCEL transaction ending): checks every few ms. */
export async function eventually(cond: () => boolean, timeoutMs = 3000, stepMs = 5): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(stepMs);
  }
}

function reparsed(bytes: Buffer): SipResponse {
  const r = parseMessage(bytes);
  if (!r.ok || r.message.type !== 'response') throw new Error('sendPrepared with bytes that are not a response');
  return r.message;
}
