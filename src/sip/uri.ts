/**
 * URIs of RFC 3261 §19.1 (sip, sips), RFC 3966 (tel) and any other absolute URI
 * (kept opaque, so that `To: <isbn:…>` or `<http://…>` still parse: RFC 4475 §3.3.4).
 * The user part and headers are kept as written (with their %-escapes) so that
 * formatting gives back exactly what was parsed; `decodeUser` unescapes.
 */
import { formatParams, isWhitespace, scanParams, unescapePercent, type Params } from './grammar.js';

export interface SipUri {
  kind: 'sip';
  scheme: 'sip' | 'sips';
  user: string | null;
  password: string | null;
  /** host as written; an IPv6 reference keeps its brackets. */
  host: string;
  port: number | null;
  params: Params;
  /** the raw `hname=hvalue&…` part after `?`, or null. */
  headers: string | null;
}

export interface TelUri {
  kind: 'tel';
  scheme: 'tel';
  number: string;
  params: Params;
}

export interface AbsoluteUri {
  kind: 'absolute';
  scheme: string;
  opaque: string;
}

export type Uri = SipUri | TelUri | AbsoluteUri;

export type UriResult = { ok: true; uri: Uri } | { ok: false; reason: string };

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;
// user = 1*( unreserved / escaped / user-unreserved ), RFC 3261 §25.1
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
const PASSWORD = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$/;
const URI_HEADERS = /^(?:[A-Za-z0-9\-_.!~*'()[\]/?:+$=&]|%[0-9A-Fa-f]{2})*$/;

export function parseUri(text: string): UriResult {
  for (let i = 0; i < text.length; i++) {
    if (isWhitespace(text.charCodeAt(i)) || text.charCodeAt(i) < 0x20) {
      return { ok: false, reason: 'whitespace or control character in URI' };
    }
  }
  const colon = text.indexOf(':');
  if (colon <= 0) return { ok: false, reason: 'URI has no scheme' };
  const scheme = text.slice(0, colon);
  if (!SCHEME.test(scheme)) return { ok: false, reason: 'bad URI scheme' };
  const lower = scheme.toLowerCase();
  const rest = text.slice(colon + 1);
  if (lower === 'sip' || lower === 'sips') return parseSipUri(lower, rest);
  if (lower === 'tel') return parseTelUri(rest);
  if (rest.length === 0) return { ok: false, reason: 'empty URI' };
  return { ok: true, uri: { kind: 'absolute', scheme: lower, opaque: rest } };
}

function parseSipUri(scheme: 'sip' | 'sips', rest: string): UriResult {
  let user: string | null = null;
  let password: string | null = null;
  const at = rest.indexOf('@');
  let i = 0;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const pc = userinfo.indexOf(':');
    user = pc >= 0 ? userinfo.slice(0, pc) : userinfo;
    password = pc >= 0 ? userinfo.slice(pc + 1) : null;
    if (!USER.test(user)) return { ok: false, reason: 'bad user part in URI' };
    if (password !== null && !PASSWORD.test(password)) return { ok: false, reason: 'bad password in URI' };
    i = at + 1;
  }
  let end = i;
  if (rest[i] === '[') {
    end = rest.indexOf(']', i);
    if (end < 0) return { ok: false, reason: 'unterminated IPv6 reference' };
    end++;
  } else {
    while (end < rest.length && !':;?'.includes(rest[end] as string)) end++;
  }
  const host = rest.slice(i, end);
  if (!(IPV6.test(host) || HOSTNAME.test(host))) return { ok: false, reason: 'bad host in URI' };
  i = end;
  let port: number | null = null;
  if (rest[i] === ':') {
    let j = i + 1;
    while (j < rest.length && rest.charCodeAt(j) >= 0x30 && rest.charCodeAt(j) <= 0x39) j++;
    if (j === i + 1 || j - i > 6) return { ok: false, reason: 'bad port in URI' };
    port = Number(rest.slice(i + 1, j));
    if (port > 65535) return { ok: false, reason: 'bad port in URI' };
    i = j;
  }
  const p = scanParams(rest, i, '?', true);
  if (!p.ok) return { ok: false, reason: `bad URI parameter: ${p.reason}` };
  i = p.next;
  let headers: string | null = null;
  if (rest[i] === '?') {
    headers = rest.slice(i + 1);
    if (!URI_HEADERS.test(headers)) return { ok: false, reason: 'bad URI headers' };
  } else if (i < rest.length) {
    return { ok: false, reason: 'trailing characters in URI' };
  }
  return { ok: true, uri: { kind: 'sip', scheme, user, password, host, port, params: p.value, headers } };
}

function parseTelUri(rest: string): UriResult {
  const semi = rest.indexOf(';');
  const number = semi >= 0 ? rest.slice(0, semi) : rest;
  if (!/^\+?[0-9A-Fa-f*#().-]+$/.test(number)) return { ok: false, reason: 'bad tel number' };
  const p = scanParams(rest, semi >= 0 ? semi : rest.length, '', true);
  if (!p.ok) return { ok: false, reason: `bad tel parameter: ${p.reason}` };
  if (p.next < rest.length) return { ok: false, reason: 'trailing characters in tel URI' };
  return { ok: true, uri: { kind: 'tel', scheme: 'tel', number, params: p.value } };
}

export function formatUri(uri: Uri): string {
  switch (uri.kind) {
    case 'sip': {
      let s = uri.scheme + ':';
      if (uri.user !== null) s += uri.password !== null ? `${uri.user}:${uri.password}@` : `${uri.user}@`;
      s += uri.host;
      if (uri.port !== null) s += ':' + uri.port;
      s += formatParams(uri.params);
      if (uri.headers !== null) s += '?' + uri.headers;
      return s;
    }
    case 'tel':
      return 'tel:' + uri.number + formatParams(uri.params);
    case 'absolute':
      return uri.scheme + ':' + uri.opaque;
  }
}

/** The user part with %-escapes decoded (RFC 3261 §19.1.4 compares unescaped). */
export function decodeUser(uri: SipUri): string | null {
  return uri.user === null ? null : unescapePercent(uri.user);
}

/** Host without IPv6 brackets, as a socket API wants it. */
export function socketHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Host as a URI or Via wants it: IPv6 addresses get brackets. */
export function uriHost(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}
