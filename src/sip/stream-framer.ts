/**
 * Content-Length framing for stream transports (RFC 3261 §18.3): bytes arrive
 * in arbitrary segments; complete messages come out, several from one
 * segment or one from several. CRLF keep-alives between messages are reported
 * separately so the transport can answer them (RFC 5626 §4.4.1).
 */
import { findHeaderEnd } from './parser.js';

const PING = Buffer.from('\r\n\r\n', 'latin1');

export type FrameEvent =
  | { kind: 'message'; bytes: Buffer }
  /** A double CRLF "ping" seen between messages; answer with a single CRLF "pong". */
  | { kind: 'ping' }
  /** Framing is lost (bad Content-Length, header section too large): the flow must close. */
  | { kind: 'error'; reason: string; status: 400 | 513; head: Buffer | null };

export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes waiting for the rest of their message. */
  get pending(): number {
    return this.buf.length;
  }

  /** The incomplete message left when the peer closes (for a last 400). */
  leftover(): Buffer {
    return this.buf;
  }

  push(chunk: Buffer): FrameEvent[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const events: FrameEvent[] = [];
    for (;;) {
      // Between messages: "\r\n\r\n" is a keep-alive ping; any other CR/LF is a pong or noise.
      let i = 0;
      while (i < this.buf.length && (this.buf[i] === 0x0d || this.buf[i] === 0x0a)) {
        const rest = this.buf.subarray(i, i + 4);
        if (rest.equals(PING)) {
          events.push({ kind: 'ping' });
          i += 4;
        } else if (rest.length < 4 && PING.subarray(0, rest.length).equals(rest)) {
          break; // maybe a ping split across segments: wait for the rest
        } else {
          i++;
        }
      }
      if (i > 0) this.buf = this.buf.subarray(i);
      if (this.buf.length === 0 || this.buf[0] === 0x0d || this.buf[0] === 0x0a) return events;

      const bounds = findHeaderEnd(this.buf, 0);
      if (bounds === null) {
        if (this.buf.length > this.maxMessageBytes) {
          events.push({ kind: 'error', reason: 'header section too large', status: 513, head: null });
          this.buf = Buffer.alloc(0);
        }
        return events;
      }
      const head = this.buf.subarray(0, bounds.headerEnd);
      const length = contentLength(head.toString('latin1'));
      if (length === 'bad') {
        events.push({ kind: 'error', reason: 'bad Content-Length', status: 400, head: this.buf.subarray(0, bounds.bodyStart) });
        this.buf = Buffer.alloc(0);
        return events;
      }
      const total = bounds.bodyStart + length;
      if (total > this.maxMessageBytes) {
        events.push({ kind: 'error', reason: 'Message Too Large', status: 513, head: this.buf.subarray(0, bounds.bodyStart) });
        this.buf = Buffer.alloc(0);
        return events;
      }
      if (this.buf.length < total) return events;
      // Copy out: the framer's buffer is reused, the message may be kept (bodies, retransmissions).
      events.push({ kind: 'message', bytes: Buffer.from(this.buf.subarray(0, total)) });
      this.buf = this.buf.subarray(total);
    }
  }
}

/** Content-Length of a header section: 0 when absent, 'bad' when malformed or repeated. */
function contentLength(head: string): number | 'bad' {
  const re = /(?:^|\n)[ \t]*(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)/gi;
  let found: number | 'bad' | null = null;
  for (let m = re.exec(head); m !== null; m = re.exec(head)) {
    if (found !== null) return 'bad';
    const v = (m[1] as string).trim();
    found = /^[0-9]{1,10}$/.test(v) ? Number(v) : 'bad';
  }
  return found ?? 0;
}
