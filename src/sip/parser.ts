/**
 * Turns the bytes of one SIP message into a SipRequest or SipResponse
 * (RFC 3261 §7, §25). Only the start line, header boundaries and
 * Content-Length are examined here; header values are parsed on demand.
 * Errors are returned as values with a reason, never thrown: whatever could be
 * read of the headers comes back too, so the caller can still answer 400.
 */
import { isToken } from './grammar.js';
import { Headers, type HeaderField } from './headers.js';
import { EMPTY_BODY, SipRequest, SipResponse, type SipMessage } from './message.js';

export interface ParseFailure {
  ok: false;
  reason: string;
  /** What was read before the error: enough to build a 400 when it is a request. */
  partial: { type: 'request' | 'response' | 'unknown'; method: string | null; headers: Headers } | null;
}

export type ParseResult = { ok: true; message: SipMessage } | ParseFailure;

export interface ParseOptions {
  /**
   * Stream transports frame by Content-Length before parsing (`StreamFramer`),
   * so a missing Content-Length there means an empty body rather than "the
   * rest of the datagram" (§18.3).
   */
  stream?: boolean;
}

const VERSION = /^SIP\/[0-9]+\.[0-9]+$/i;
const CRLF = 0x0a;

/** Index just past the blank line that ends the header section, or -1. */
export function findHeaderEnd(buf: Buffer, from: number): { headerEnd: number; bodyStart: number } | null {
  const crlf = buf.indexOf('\r\n\r\n', from, 'latin1');
  const lf = buf.indexOf('\n\n', from, 'latin1');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { headerEnd: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { headerEnd: lf, bodyStart: lf + 2 };
  return null;
}

/** Skips the CRLFs a peer may send before a message (§7.5) and keep-alives. */
export function skipLeadingNewlines(buf: Buffer, i: number): number {
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === CRLF)) i++;
  return i;
}

export function parseMessage(buf: Buffer, options: ParseOptions = {}): ParseResult {
  const start = skipLeadingNewlines(buf, 0);
  const bounds = findHeaderEnd(buf, start);
  let headerText: string;
  let bodyStart: number;
  if (bounds === null) {
    // No blank line: a datagram may end right after the last header.
    headerText = buf.toString('utf8', start).replace(/\r?\n$/, '');
    bodyStart = buf.length;
  } else {
    headerText = buf.toString('utf8', start, bounds.headerEnd);
    bodyStart = bounds.bodyStart;
  }
  const lines = headerText.split('\n');
  const startLine = stripCr(lines[0] ?? '');

  const fields: HeaderField[] = [];
  let headerError: string | null = null;
  for (let n = 1; n < lines.length; n++) {
    const line = stripCr(lines[n] as string);
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      // Line folding (§7.3.1): a continuation line joins the previous value with one space.
      const last = fields.pop();
      if (last === undefined) {
        headerError ??= 'continuation line before the first header';
        continue;
      }
      fields.push({ ...last, value: (last.value + ' ' + line.trim()).trim() });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      headerError ??= 'malformed header line (no colon)';
      continue;
    }
    const name = line.slice(0, colon).trimEnd();
    if (!isToken(name)) {
      headerError ??= `malformed header name "${name.slice(0, 32)}"`;
      continue;
    }
    fields.push(Headers.field(name, line.slice(colon + 1).trim()));
  }
  const headers = new Headers(fields);

  const head = parseStartLine(startLine);
  const partial = { type: head.type, method: head.method, headers };
  if (!head.ok) return { ok: false, reason: head.reason, partial };
  if (headerError !== null) return { ok: false, reason: headerError, partial };

  const lengths = headers.getAll('content-length');
  let body = EMPTY_BODY;
  if (lengths.length > 1) return { ok: false, reason: 'multiple Content-Length headers', partial };
  if (lengths.length === 1) {
    const text = lengths[0] as string;
    if (!/^[0-9]{1,10}$/.test(text)) return { ok: false, reason: 'bad Content-Length', partial };
    const length = Number(text);
    if (bodyStart + length > buf.length) {
      return { ok: false, reason: 'Content-Length larger than the message', partial };
    }
    // Octets past Content-Length in a datagram are discarded (§18.3, RFC 4475 §3.1.1.8).
    if (length > 0) body = buf.subarray(bodyStart, bodyStart + length);
  } else if (!options.stream && bodyStart < buf.length) {
    body = buf.subarray(bodyStart);
  }

  const message: SipMessage =
    head.type === 'request'
      ? new SipRequest(head.method, head.uri, headers, body, head.version)
      : new SipResponse(head.status, head.reason, headers, body, head.version);
  return { ok: true, message };
}

type StartLine =
  | { ok: true; type: 'request'; method: string; uri: string; version: string }
  | { ok: true; type: 'response'; method: null; status: number; reason: string; version: string }
  | { ok: false; type: 'request' | 'response' | 'unknown'; method: string | null; reason: string };

function parseStartLine(line: string): StartLine {
  if (line.length === 0) return { ok: false, type: 'unknown', method: null, reason: 'empty start line' };
  if (/^SIP\//i.test(line)) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
    const m = /^(SIP\/[0-9]+\.[0-9]+) ([0-9]+)(?: (.*))?$/i.exec(line);
    if (!m) return { ok: false, type: 'response', method: null, reason: 'malformed Status-Line' };
    const code = m[2] as string;
    if (code.length !== 3 || code < '100' || code > '699') {
      return { ok: false, type: 'response', method: null, reason: 'bad status code' };
    }
    return { ok: true, type: 'response', method: null, status: Number(code), reason: m[3] ?? '', version: (m[1] as string).toUpperCase() };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (§7.1): exactly one SP between elements.
  const parts = line.split(' ');
  const method = parts[0] as string;
  const validMethod = isToken(method) ? method : null;
  if (parts.length !== 3) {
    const reason = /\s$/.test(line)
      ? 'trailing whitespace in Request-Line'
      : /  /.test(line)
        ? 'more than one space between Request-Line elements'
        : parts.length > 3
          ? 'whitespace inside Request-URI'
          : 'malformed Request-Line';
    return { ok: false, type: 'request', method: validMethod, reason };
  }
  const [, uri, version] = parts as [string, string, string];
  if (validMethod === null) return { ok: false, type: 'request', method: null, reason: 'bad method' };
  if (uri.length === 0) return { ok: false, type: 'request', method, reason: 'empty Request-URI' };
  if (uri.startsWith('<')) return { ok: false, type: 'request', method, reason: 'Request-URI enclosed in <>' };
  if (!VERSION.test(version)) return { ok: false, type: 'request', method, reason: 'malformed SIP-Version' };
  return { ok: true, type: 'request', method, uri, version: version.toUpperCase() };
}

function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line;
}
