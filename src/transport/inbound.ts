/**
 * From bytes to events, for every transport: parse, stamp the top Via of
 * requests (§18.2.1, RFC 3581), emit `message`; or emit `malformed` with the
 * status the sender deserves (400, or 513 Message Too Large, §21.4.1 / §21.5.14)
 * and whatever headers could be read so that a request can still be answered.
 */
import { parseMessage, type ParseFailure, type ParseOptions, type ParseResult } from '../sip/parser.js';
import { SipRequest } from '../sip/message.js';
import type { TransportEmitter } from './emitter.js';
import type { Flow } from './types.js';
import { stampVia } from './via-received.js';

const STREAM: ParseOptions = { stream: true };
const DATAGRAM: ParseOptions = { stream: false };

type Partial = ParseFailure['partial'];

export class InboundDispatcher {
  constructor(private readonly emitter: TransportEmitter) {}

  /**
   * One complete message: a UDP datagram (§18.3: octets past Content-Length are
   * ignored), a framed stream message, or one WebSocket frame (RFC 7118 §5).
   */
  deliver(bytes: Buffer, flow: Flow, stream: boolean): void {
    const r = parseMessage(bytes, stream ? STREAM : DATAGRAM);
    if (!r.ok) {
      this.emitter.malformed({ status: 400, reason: r.reason, partial: stampPartial(r.partial, flow), flow });
      return;
    }
    const message = r.message;
    if (message.type === 'request') stampVia(message, flow.remote.address, flow.remote.port);
    this.emitter.message({ message, flow, bytes: bytes.length });
  }

  /**
   * Input that cannot be delivered as a message (framing lost, too large,
   * truncated): `head` holds the bytes that were read, parsed only to give
   * the layer above the method and headers it needs for an answer.
   */
  fail(status: 400 | 513, reason: string, head: Buffer | null, flow: Flow, stream: boolean): void {
    const partial = head === null ? null : partialOf(parseMessage(head, stream ? STREAM : DATAGRAM));
    this.emitter.malformed({ status, reason, partial: stampPartial(partial, flow), flow });
  }
}

function partialOf(r: ParseResult): Partial {
  if (!r.ok) return r.partial;
  const m = r.message;
  return { type: m.type, method: m.type === 'request' ? m.method : null, headers: m.headers };
}

/**
 * A 400/513 built from the partial headers is routed by their top Via like any
 * response, so that Via gets `received`/`rport` too (else a NATed sender would
 * never see its error).
 */
function stampPartial(partial: Partial, flow: Flow): Partial {
  if (partial !== null && partial.type === 'request') {
    stampVia(new SipRequest(partial.method ?? 'UNKNOWN', '', partial.headers), flow.remote.address, flow.remote.port);
  }
  return partial;
}
