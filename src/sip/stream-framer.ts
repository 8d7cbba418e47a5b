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
  /**
   * The bytes not yet framed are store[start, end). The store grows by
   * doubling and is compacted when it is full, so a message that arrives one
   * byte at a time costs linear, not quadratic, time.
   */
  private store: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  /** How many bytes at `start` are known not to contain the end of the header section. */
  private searched = 0;
  /** Total length of the message at `start`, once its header section has been read. */
  private total: number | null = null;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes waiting for the rest of their message. */
  get pending(): number {
    return this.end - this.start;
  }

  /** The incomplete message left when the peer closes (for a last 400). */
  leftover(): Buffer {
    return this.store.subarray(this.start, this.end);
  }

  push(chunk: Buffer): FrameEvent[] {
    this.append(chunk);
    const events: FrameEvent[] = [];
    for (;;) {
      if (this.total === null) {
        // Between messages: "\r\n\r\n" is a keep-alive ping; any other CR/LF is a pong or noise.
        let i = this.start;
        while (i < this.end && (this.store[i] === 0x0d || this.store[i] === 0x0a)) {
          const rest = this.store.subarray(i, Math.min(i + 4, this.end));
          if (rest.equals(PING)) {
            events.push({ kind: 'ping' });
            i += 4;
          } else if (rest.length < 4 && PING.subarray(0, rest.length).equals(rest)) {
            break; // maybe a ping split across segments: wait for the rest
          } else {
            i++;
          }
        }
        if (i > this.start) {
          this.start = i;
          this.searched = 0;
        }
        if (this.start === this.end || this.store[this.start] === 0x0d || this.store[this.start] === 0x0a) return events;

        const buf = this.store.subarray(this.start, this.end);
        // Resume the search where the previous one stopped (a delimiter may straddle the old end).
        const bounds = findHeaderEnd(buf, Math.max(0, this.searched - 3));
        if (bounds === null) {
          this.searched = buf.length;
          if (buf.length > this.maxMessageBytes) {
            events.push({ kind: 'error', reason: 'header section too large', status: 513, head: null });
            this.reset();
          }
          return events;
        }
        const length = contentLength(buf.toString('latin1', 0, bounds.headerEnd));
        if (typeof length !== 'number') {
          events.push({ kind: 'error', reason: length.bad, status: 400, head: Buffer.from(buf.subarray(0, bounds.bodyStart)) });
          this.reset();
          return events;
        }
        const total = bounds.bodyStart + length;
        if (total > this.maxMessageBytes) {
          events.push({ kind: 'error', reason: 'Message Too Large', status: 513, head: Buffer.from(buf.subarray(0, bounds.bodyStart)) });
          this.reset();
          return events;
        }
        this.total = total;
      }
      if (this.end - this.start < this.total) return events;
      // Copy out: the framer's buffer is reused, the message may be kept (bodies, retransmissions).
      events.push({ kind: 'message', bytes: Buffer.from(this.store.subarray(this.start, this.start + this.total)) });
      this.start += this.total;
      this.total = null;
      this.searched = 0;
    }
  }

  private append(chunk: Buffer): void {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.end + chunk.length > this.store.length) {
      const live = this.end - this.start;
      const next = Buffer.allocUnsafe(Math.max(2 * (live + chunk.length), 1024));
      this.store.copy(next, 0, this.start, this.end);
      this.store = next;
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.store, this.end);
    this.end += chunk.length;
  }

  /** Framing is lost: drop everything (the flow closes). */
  private reset(): void {
    this.store = Buffer.alloc(0);
    this.start = this.end = 0;
    this.searched = 0;
    this.total = null;
  }
}

/**
 * Content-Length of a header section: 0 when absent, or the reason it cannot
 * be used (malformed, repeated), worded as the parser words it.
 * Read as the parser reads it: a line starting with SP/HT continues the previous
 * header (§7.3.1), so it is never a Content-Length of its own, and a folded
 * Content-Length value is unfolded.
 */
function contentLength(head: string): number | { bad: string } {
  const re = /(?:^|\n)(?:content-length|l)[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)/gi;
  let found: number | null = null;
  let malformed = false;
  for (let m = re.exec(head); m !== null; m = re.exec(head)) {
    if (found !== null || malformed) return { bad: 'multiple Content-Length headers' };
    const v = (m[1] as string).replace(/\r?\n/g, ' ').trim();
    if (/^[0-9]{1,10}$/.test(v)) found = Number(v);
    else malformed = true;
  }
  return malformed ? { bad: 'bad Content-Length' } : (found ?? 0);
}
