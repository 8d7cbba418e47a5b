/** Shared pieces of the transport integration tests: a transport on 127.0.0.1, SIP text, event waits. */
import type { EventEmitter } from 'node:events';
import { SipTransport, type TransportOptions } from '../../../src/transport/sip-transport.js';
import type { Transport, TransportEvents } from '../../../src/transport/types.js';
import { SipResponse, type SipRequest } from '../../../src/sip/message.js';
import { Headers } from '../../../src/sip/headers.js';

export const LOCAL = '127.0.0.1';
export const ANY_PORT = { host: LOCAL, port: 0 };
const WAIT_MS = 5000;

export function makeTransport(options: Partial<TransportOptions>): SipTransport {
  return new SipTransport({
    udp: null,
    tcp: null,
    tls: null,
    ws: null,
    wss: null,
    publicHost: LOCAL,
    maxMessageBytes: 65535,
    maxConnectionsPerAddress: 200,
    idleTimeoutMs: 1_800_000,
    wsAllowedOrigins: null,
    ...options,
  });
}

export function portOf(t: Transport, protocol: string): number {
  const l = t.listeners().find((x) => x.protocol === protocol);
  if (l === undefined) throw new Error(`no ${protocol} listener`);
  return l.port;
}

function timeout(what: string, ms: number): Error {
  return new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** The next transport event (matching `filter`), or a rejection after `ms`. */
export function nextTransportEvent<E extends keyof TransportEvents>(
  t: Transport,
  event: E,
  filter: (arg: Parameters<TransportEvents[E]>[0]) => boolean = () => true,
  ms = WAIT_MS,
): Promise<Parameters<TransportEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const listener = ((arg: Parameters<TransportEvents[E]>[0]) => {
      if (!filter(arg)) return;
      clearTimeout(timer);
      t.off(event, listener);
      resolve(arg);
    }) as TransportEvents[E];
    const timer = setTimeout(() => {
      t.off(event, listener);
      reject(timeout(`transport "${event}"`, ms));
    }, ms);
    t.on(event, listener);
  });
}

/** The arguments of the next `event` of a Node emitter; rejects on timeout (and on 'error' unless that is awaited). */
export function nextEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, ms = WAIT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]): void => {
      cleanup();
      resolve(args as T);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(timeout(`"${event}"`, ms));
    }, ms);
    const cleanup = (): void => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event !== 'error') emitter.off('error', onError);
    };
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  });
}

/** Resolves when `check()` is true, re-checked on every `event`; for data that accumulates. */
export function until(emitter: EventEmitter, event: string, check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) {
      resolve();
      return;
    }
    const onEvent = (): void => {
      if (!check()) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve();
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(timeout(what, ms));
    }, ms);
    emitter.on(event, onEvent);
  });
}

let branchSeq = 0;

export interface RequestSpec {
  method?: string;
  transport?: string;
  /** sent-by host[:port] */
  sentBy?: string;
  viaParams?: string;
  body?: string;
  /** Content-Length to write; default the body length; null omits the header. */
  contentLength?: number | null;
  callId?: string;
  extraHeaders?: string[];
}

export function request(spec: RequestSpec = {}): string {
  const method = spec.method ?? 'OPTIONS';
  const body = spec.body ?? '';
  const branch = `z9hG4bK-test-${++branchSeq}`;
  const lines = [
    `${method} sip:herald@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/${spec.transport ?? 'UDP'} ${spec.sentBy ?? '127.0.0.1:5999'};branch=${branch}${spec.viaParams ?? ''}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:herald@127.0.0.1>',
    `Call-ID: ${spec.callId ?? `call-${branchSeq}@test`}`,
    `CSeq: 1 ${method}`,
    ...(spec.extraHeaders ?? []),
  ];
  const cl = spec.contentLength === undefined ? Buffer.byteLength(body) : spec.contentLength;
  if (cl !== null) lines.push(`Content-Length: ${cl}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

/** A response to `req` (or to partial headers) copying the §8.2.6.2 headers. */
export function responseTo(req: SipRequest | { headers: Headers }, status = 200, reason = 'OK'): SipResponse {
  const h = new Headers();
  for (const f of req.headers.all()) {
    if (['via', 'from', 'to', 'call-id', 'cseq'].includes(f.key)) h.append(f.name, f.value);
  }
  h.append('Content-Length', '0');
  return new SipResponse(status, reason, h);
}

/** Collects what a stream socket receives, as latin1 text. */
export class Received {
  text = '';
  constructor(readonly emitter: EventEmitter) {
    emitter.on('data', (d: Buffer | string) => {
      this.text += typeof d === 'string' ? d : d.toString('latin1');
    });
  }
  waitFor(check: (text: string) => boolean, what: string, ms = WAIT_MS): Promise<void> {
    return until(this.emitter, 'data', () => check(this.text), what, ms);
  }
}

/** The next `n` transport events of one kind, in order. */
export function collectTransportEvents<E extends keyof TransportEvents>(
  t: Transport,
  event: E,
  n: number,
  ms = WAIT_MS,
): Promise<Parameters<TransportEvents[E]>[0][]> {
  return new Promise((resolve, reject) => {
    const got: Parameters<TransportEvents[E]>[0][] = [];
    const listener = ((arg: Parameters<TransportEvents[E]>[0]) => {
      got.push(arg);
      if (got.length < n) return;
      clearTimeout(timer);
      t.off(event, listener);
      resolve(got);
    }) as TransportEvents[E];
    const timer = setTimeout(() => {
      t.off(event, listener);
      reject(timeout(`${n} transport "${event}" events (got ${got.length})`, ms));
    }, ms);
    t.on(event, listener);
  });
}
