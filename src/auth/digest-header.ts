/**
 * Authorization / WWW-Authenticate header values: parsing credentials
 * (RFC 3261 §25.1 `credentials`, RFC 7235 §2.1 for `token68`, as Bearer
 * tokens are sent per RFC 8898 / RFC 6750 §2.1) and formatting Digest
 * challenges (RFC 3261 §22.4, RFC 7616 §3.3, RFC 8760 §2.3).
 */
import { isTokenChar, quote, scanQuoted } from '../sip/grammar.js';

/** Parsed credentials: the scheme as written, and either auth-params or a token68. */
export interface Credentials {
  /** auth-scheme as written on the wire; compare it case-insensitively (RFC 7235 §2.1). */
  scheme: string;
  /** auth-params with lower-case names and unquoted, unescaped values. */
  params: Map<string, string>;
  /** the token68 form (`Bearer <token>`), or null when the scheme has auth-params. */
  token68: string | null;
}

/** RFC 7235 §2.1: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * LWS (RFC 3261 §25.1). The message parser has already unfolded lines, but a
 * value handed over raw may still hold CR LF, which is treated as LWS too.
 */
function isLws(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

function skipLws(s: string, i: number): number {
  while (i < s.length && isLws(s.charCodeAt(i))) i++;
  return i;
}

/** End index of the run of token characters starting at `i`. */
function scanToken(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/**
 * End index of an unquoted auth-param value. The grammar says `token`, but
 * some UAs leave values such as the digest-uri unquoted (`uri=sip:a@b`), so
 * any visible character except DQUOTE and the list separator is taken.
 */
function scanBareValue(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x22 || c === 0x2c) break;
    i++;
  }
  return i;
}

interface AuthParam {
  name: string;
  value: string;
  next: number;
}

/** auth-param = auth-param-name EQUAL ( token / quoted-string ), EQUAL = SWS "=" SWS (§25.1). */
function scanAuthParam(s: string, i: number): AuthParam | null {
  const nameEnd = scanToken(s, i);
  if (nameEnd === i) return null;
  const name = s.slice(i, nameEnd).toLowerCase();
  i = skipLws(s, nameEnd);
  if (s[i] !== '=') return null;
  i = skipLws(s, i + 1);
  if (s[i] === '"') {
    const q = scanQuoted(s, i);
    return q.ok ? { name, value: q.value, next: q.next } : null;
  }
  const end = scanBareValue(s, i);
  if (end === i) return null;
  return { name, value: s.slice(i, end), next: end };
}

/**
 * Comma-separated auth-params from `i` to the end. Empty list elements are
 * skipped (RFC 7230 §7 #rule); a repeated parameter makes the value
 * ambiguous, so it is refused (RFC 7616 §3.4: each at most once).
 */
function parseAuthParams(s: string, i: number): Map<string, string> | null {
  const params = new Map<string, string>();
  for (;;) {
    while (i < s.length && (isLws(s.charCodeAt(i)) || s[i] === ',')) i++;
    if (i >= s.length) break;
    const p = scanAuthParam(s, i);
    if (p === null || params.has(p.name)) return null;
    params.set(p.name, p.value);
    i = skipLws(s, p.next);
    if (i < s.length && s[i] !== ',') return null;
  }
  return params.size > 0 ? params : null;
}

/**
 * Parses an Authorization (or Proxy-Authorization) header value:
 * `credentials = auth-scheme LWS ( auth-param *(COMMA auth-param) / token68 )`
 * (RFC 3261 §25.1, RFC 7235 §2.1). A bare scheme gives empty params. Returns
 * null when the value does not follow the grammar.
 */
export function parseAuthorization(value: string): Credentials | null {
  const start = skipLws(value, 0);
  const schemeEnd = scanToken(value, start);
  if (schemeEnd === start) return null;
  const scheme = value.slice(start, schemeEnd);
  const i = skipLws(value, schemeEnd);
  if (i === value.length) return { scheme, params: new Map(), token68: null };
  if (i === schemeEnd) return null; // the scheme must be followed by LWS
  const rest = value.slice(i).replace(/[ \t\r\n]+$/, '');
  if (TOKEN68.test(rest)) return { scheme, params: new Map(), token68: rest };
  const params = parseAuthParams(value, i);
  return params === null ? null : { scheme, params, token68: null };
}

/** The digest algorithms Herald offers and accepts (RFC 7616 §3.2, RFC 8760 §2.2). */
export type DigestAlgorithm = 'MD5' | 'SHA-256';

export interface ChallengeFields {
  realm: string;
  nonce: string;
  opaque: string;
  algorithm: DigestAlgorithm;
  stale?: boolean;
}

/**
 * One WWW-Authenticate value (RFC 3261 §25.1 `digest-cln`, RFC 7616 §3.3):
 * realm, nonce and opaque quoted, algorithm a token, qop-options quoted.
 * `stale=true` tells the UA to retry with the new nonce without asking the
 * user (RFC 7616 §3.3 "stale").
 */
export function formatChallenge(c: ChallengeFields): string {
  let out =
    `Digest realm=${quote(c.realm)}, nonce=${quote(c.nonce)}, opaque=${quote(c.opaque)}, ` +
    `algorithm=${c.algorithm}, qop="auth"`;
  if (c.stale === true) out += ', stale=true';
  return out;
}
