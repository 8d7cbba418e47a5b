/**
 * Turns the bytes of one SIP message into a SipRequest or SipResponse
 * (RFC 3261 §7, §25). Only the start line, header boundaries and
 * Content-Length are examined here; header values are parsed on demand.
 * Errors are returned as values with a reason, never thrown: whatever could be
 * read of the headers comes back too, so the caller can still answer 400.
 */
import { isToken } from './grammar.js';
import { headerName } from './header-names.js';
import { Headers, type HeaderField } from './headers.js';
import { EMPTY_BODY, SIP_VERSION, SipRequest, SipResponse, type SipMessage } from './message.js';

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
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');

/** Index just past the blank line that ends the header section, or -1. */
export function findHeaderEnd(buf: Buffer, from: number): { headerEnd: number; bodyStart: number } | null {
  const crlf = buf.indexOf(CRLFCRLF, from);
  if (crlf < 0) {
    const lf = buf.indexOf(LFLF, from);
    return lf < 0 ? null : { headerEnd: lf, bodyStart: lf + 2 };
  }
  // A bare "\n\n" ends the header section only if it comes first; look for one before the CRLFCRLF, not in the body.
  const lf = crlf - from < 2 ? -1 : buf.subarray(from, crlf).indexOf(LFLF);
  return lf < 0 ? { headerEnd: crlf, bodyStart: crlf + 4 } : { headerEnd: from + lf, bodyStart: from + lf + 2 };
}

/** Skips the CRLFs a peer may send before a message (§7.5) and keep-alives. */
export function skipLeadingNewlines(buf: Buffer, i: number): number {
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === CRLF)) i++;
  return i;
}

export function parseMessage(buf: Buffer, options: ParseOptions = {}): ParseResult {
  const start = skipLeadingNewlines(buf, 0);
  const bounds = findHeaderEnd(buf, start);
  let text: string;
  let bodyStart: number;
  if (bounds === null) {
    // No blank line: a datagram may end right after the last header.
    text = buf.toString('utf8', start).replace(/\r?\n$/, '');
    bodyStart = buf.length;
  } else {
    text = buf.toString('utf8', start, bounds.headerEnd);
    bodyStart = bounds.bodyStart;
  }

  // The lines are text split at "\n", each without one trailing "\r"; the
  // first is the start line. Names and values are sliced straight out of `text`.
  let nl = text.indexOf('\n');
  const startLine = text.slice(0, lineEnd(text, 0, nl < 0 ? text.length : nl));
  const fields: HeaderField[] = [];
  let headerError: string | null = null;
  // Line folding (§7.3.1): the continuation lines of fields[folded], joined with one space at the end.
  let folded = -1;
  let foldParts: string[] | null = null;
  while (nl >= 0) {
    const ls = nl + 1;
    nl = text.indexOf('\n', ls);
    const le = lineEnd(text, ls, nl < 0 ? text.length : nl);
    const c0 = text.charCodeAt(ls);
    if (ls < le && (c0 === SP || c0 === HTAB)) {
      // A continuation line joins the value of the last header read with one space.
      if (fields.length === 0) {
        headerError ??= 'continuation line before the first header';
        continue;
      }
      if (foldParts === null || folded !== fields.length - 1) {
        if (foldParts !== null) finishFold(fields, folded, foldParts);
        folded = fields.length - 1;
        foldParts = [(fields[folded] as HeaderField).value];
      }
      const part = sliceLws(text, ls, le);
      if (part.length > 0) foldParts.push(part);
      continue;
    }
    let colon = ls;
    while (colon < le && text.charCodeAt(colon) !== 0x3a) colon++;
    if (colon === ls || colon === le) {
      headerError ??= 'malformed header line (no colon)';
      continue;
    }
    // HCOLON = *( SP / HTAB ) ":" SWS (a stray CR is tolerated there too).
    let nameEnd = colon;
    while (nameEnd > ls && isLwsOrCr(text.charCodeAt(nameEnd - 1))) nameEnd--;
    const name = text.slice(ls, nameEnd);
    if (!isToken(name)) {
      headerError ??= `malformed header name "${name.slice(0, 32)}"`;
      continue;
    }
    const { key, spelled } = headerName(name);
    fields.push({ key, name: spelled, value: sliceLws(text, colon + 1, le) });
  }
  if (foldParts !== null) finishFold(fields, folded, foldParts);
  const headers = new Headers(fields);

  const head = parseStartLine(startLine);
  const partial = { type: head.type, method: head.method, headers };
  if (!head.ok) return { ok: false, reason: head.reason, partial };
  if (headerError !== null) return { ok: false, reason: headerError, partial };

  let contentLength: string | null = null;
  for (const f of fields) {
    if (f.key !== 'content-length') continue;
    if (contentLength !== null) return { ok: false, reason: 'multiple Content-Length headers', partial };
    contentLength = f.value;
  }
  let body = EMPTY_BODY;
  if (contentLength !== null) {
    if (!/^[0-9]{1,10}$/.test(contentLength)) return { ok: false, reason: 'bad Content-Length', partial };
    const length = Number(contentLength);
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

/** End of the line [start, end) of `text` without one trailing "\r". */
function lineEnd(text: string, start: number, end: number): number {
  return end > start && text.charCodeAt(end - 1) === CR ? end - 1 : end;
}

/** text[start, end) without the LWS (SP, HTAB and stray CRs) at either end. */
function sliceLws(text: string, start: number, end: number): string {
  while (start < end && isLwsOrCr(text.charCodeAt(start))) start++;
  while (end > start && isLwsOrCr(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isLwsOrCr(c: number): boolean {
  return c === SP || c === HTAB || c === CR;
}

/** Sets the value of a folded header: its parts (already without LWS at their ends) joined by one space. */
function finishFold(fields: HeaderField[], at: number, parts: string[]): void {
  const f = fields[at] as HeaderField;
  fields[at] = { key: f.key, name: f.name, value: parts.filter((p) => p.length > 0).join(' ') };
}

type StartLine =
  | { ok: true; type: 'request'; method: string; uri: string; version: string }
  | { ok: true; type: 'response'; method: null; status: number; reason: string; version: string }
  | { ok: false; type: 'request' | 'response' | 'unknown'; method: string | null; reason: string };

function parseStartLine(line: string): StartLine {
  if (line.length === 0) return { ok: false, type: 'unknown', method: null, reason: 'empty start line' };
  if (/^SIP\//i.test(line)) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
    // `s`: the reason phrase may contain U+2028/U+2029 (UTF8-NONASCII), which `.` would not match.
    const m = /^(SIP\/[0-9]+\.[0-9]+) ([0-9]+)(?: (.*))?$/is.exec(line);
    if (!m) return { ok: false, type: 'response', method: null, reason: 'malformed Status-Line' };
    const code = m[2] as string;
    if (code.length !== 3 || code < '100' || code > '699') {
      return { ok: false, type: 'response', method: null, reason: 'bad status code' };
    }
    return { ok: true, type: 'response', method: null, status: Number(code), reason: m[3] ?? '', version: (m[1] as string).toUpperCase() };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (§7.1): exactly one SP between elements.
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp2 >= 0 && line.indexOf(' ', sp2 + 1) < 0) {
    // The usual case, three elements: the checks below without splitting.
    const method = line.slice(0, sp1);
    const uri = line.slice(sp1 + 1, sp2);
    const version = line.slice(sp2 + 1);
    if (!isToken(method)) return { ok: false, type: 'request', method: null, reason: 'bad method' };
    if (uri.length === 0) return { ok: false, type: 'request', method, reason: 'empty Request-URI' };
    if (uri.charCodeAt(0) === 0x3c) return { ok: false, type: 'request', method, reason: 'Request-URI enclosed in <>' };
    if (version === SIP_VERSION) return { ok: true, type: 'request', method, uri, version };
    if (!VERSION.test(version)) return { ok: false, type: 'request', method, reason: 'malformed SIP-Version' };
    return { ok: true, type: 'request', method, uri, version: version.toUpperCase() };
  }
  // Not three elements.
  const parts = line.split(' ');
  const method = parts[0] as string;
  const reason = /\s$/.test(line)
    ? 'trailing whitespace in Request-Line'
    : / {2}/.test(line)
      ? 'more than one space between Request-Line elements'
      : parts.length > 3
        ? 'whitespace inside Request-URI'
        : 'malformed Request-Line';
  return { ok: false, type: 'request', method: isToken(method) ? method : null, reason };
}
