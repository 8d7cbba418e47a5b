/**
 * Character classes and small scanners of the RFC 3261 §25 grammar, shared by
 * the URI, name-addr, Via and parameter parsers. Everything here works on
 * strings that the message parser has already unfolded (§7.3.1), so LWS is
 * plain spaces and tabs.
 */

const TOKEN_CHARS = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1;
}

/** RFC 3261 `token`: one or more of alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~". */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] !== 1) return false;
  }
  return true;
}

export function isTokenChar(code: number): boolean {
  return code < 128 && TOKEN_CHARS[code] === 1;
}

export function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Index of the first non-LWS character at or after `i`. */
export function skipWs(s: string, i: number): number {
  while (i < s.length && isWhitespace(s.charCodeAt(i))) i++;
  return i;
}

export type Scan<T> = { ok: true; value: T; next: number } | { ok: false; reason: string };

/**
 * Reads a quoted-string starting at the opening quote at `i`, honouring
 * quoted-pair escapes (§25.1). The value returned is the unescaped content.
 */
export function scanQuoted(s: string, i: number): Scan<string> {
  if (s.charCodeAt(i) !== 0x22) return { ok: false, reason: 'expected a quoted string' };
  let out = '';
  let start = i + 1;
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) {
      // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
      if (j + 1 >= s.length) break;
      const n = s.charCodeAt(j + 1);
      if (n === 0x0a || n === 0x0d) return { ok: false, reason: 'bad escape in quoted string' };
      out += s.slice(start, j) + s[j + 1];
      j++;
      start = j + 1;
    } else if (c === 0x22) {
      out += s.slice(start, j);
      return { ok: true, value: out, next: j + 1 };
    }
  }
  return { ok: false, reason: 'unterminated quoted string' };
}

/** Quotes a string for a quoted-string, escaping `"` and `\`. */
export function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (m) => '\\' + m) + '"';
}

/**
 * Splits a header value on the commas that separate list elements (§7.3.1),
 * ignoring commas inside quoted strings and `<…>`. Returns null when a quote
 * or angle bracket is left open, since such a value cannot be split safely.
 */
export function splitList(value: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) inAngle = true;
    else if (c === 0x3e) inAngle = false;
    else if (c === 0x2c && !inAngle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (inQuote || inAngle) return null;
  out.push(value.slice(start).trim());
  return out;
}

/** Generic parameters (`;name[=value]`, §25.1 generic-param) as an ordered map with lower-case names. */
export type Params = Map<string, string | null>;

/** The one map of every parameter list that is empty (see NO_PARAMS). */
class NoParams extends Map<string, string | null> {
  override set(): this {
    throw new TypeError('an empty parsed parameter list is the shared NO_PARAMS: copy it (new Map(params)) before changing it');
  }
  override delete(): boolean {
    throw new TypeError('an empty parsed parameter list is the shared NO_PARAMS: copy it (new Map(params)) before changing it');
  }
  override clear(): void {
    throw new TypeError('an empty parsed parameter list is the shared NO_PARAMS: copy it (new Map(params)) before changing it');
  }
}

/**
 * The parameters of everything parsed without any (`sip:alice@example.com`,
 * most Request-URIs, To and From URIs, a To without a tag): one shared map
 * instead of a new Map each, which was the largest single allocation of a
 * REGISTER. It cannot be changed (it throws); code that changes parameters
 * copies them first, as it must anyway not to alter a parsed message.
 */
export const NO_PARAMS: Params = new NoParams();

/**
 * Parses `;a=b;c` starting at `i` (which must be at a `;` or the end).
 * LWS is allowed around `;` and `=`. Values may be tokens, hosts or quoted strings;
 * a quoted value keeps its quotes so that formatting gives it back unchanged.
 * `stop` lists characters that end the parameter section (e.g. `,` or `?`).
 * `uri` is set for URI parameters, whose names and values are `1*paramchar`
 * (§25.1), which also allows "[", "]", "/", ":", "&", "+", "$", "(", ")".
 */
export function scanParams(s: string, i: number, stop = '', uri = false): Scan<Params> {
  i = skipWs(s, i);
  if (i >= s.length || stop.includes(s[i] as string)) return { ok: true, value: NO_PARAMS, next: i };
  const params: Params = new Map();
  while (i < s.length) {
    const ch = s[i] as string;
    if (stop.includes(ch)) break;
    if (ch !== ';') return { ok: false, reason: `unexpected "${ch}" before parameter` };
    i = skipWs(s, i + 1);
    let j = i;
    while (j < s.length && (isTokenChar(s.charCodeAt(j)) || (uri && isUriParamExtra(s.charCodeAt(j))))) j++;
    if (j === i) return { ok: false, reason: 'empty parameter name' };
    const name = s.slice(i, j).toLowerCase();
    i = skipWs(s, j);
    let value: string | null = null;
    if (s[i] === '=') {
      i = skipWs(s, i + 1);
      if (s[i] === '"') {
        const q = scanQuoted(s, i);
        if (!q.ok) return q;
        value = s.slice(i, q.next);
        i = q.next;
      } else {
        j = i;
        // token, or host (IPv6 reference in brackets, e.g. received=[::1])
        while (j < s.length) {
          const c = s.charCodeAt(j);
          if (isTokenChar(c) || c === 0x3a || c === 0x5b || c === 0x5d || (uri && isUriParamExtra(c))) j++;
          else break;
        }
        if (j === i) return { ok: false, reason: `empty value for parameter "${name}"` };
        value = s.slice(i, j);
        i = j;
      }
    }
    if (params.has(name)) return { ok: false, reason: `duplicate parameter "${name}"` };
    params.set(name, value);
    i = skipWs(s, i);
  }
  return { ok: true, value: params, next: i };
}

/** paramchar (§25.1) beyond token characters: param-unreserved and the marks "(" ")". */
function isUriParamExtra(c: number): boolean {
  // [ ] / : & $ ( )  ("+" is already a token character)
  return c === 0x5b || c === 0x5d || c === 0x2f || c === 0x3a || c === 0x26 || c === 0x24 || c === 0x28 || c === 0x29;
}

export function formatParams(params: Params): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

/** Decodes %HH escapes; returns null for a malformed escape. */
export function unescapePercent(s: string): string | null {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    // Not UTF-8 (e.g. %00 or a lone byte): decode byte-wise to latin1.
    if (/%(?![0-9a-fA-F]{2})/.test(s)) return null;
    return s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}
