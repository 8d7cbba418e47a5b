/**
 * name-addr / addr-spec with header parameters (RFC 3261 §20.10, §20.20, §20.39,
 * §25.1): the value of From, To, Contact, Route, Record-Route, Path, Refer-To…
 */
import { formatParams, isTokenChar, quote, scanParams, scanQuoted, skipWs, type Params } from './grammar.js';
import { formatUri, parseUri, type Uri } from './uri.js';

export interface NameAddr {
  /** Display name, unescaped; null when absent. */
  displayName: string | null;
  uri: Uri;
  /** Header parameters (tag, expires, q, +sip.instance…), outside the URI. */
  params: Params;
  /** True when the URI was (or must be) written in angle brackets. */
  angle: boolean;
}

export type NameAddrResult = { ok: true; value: NameAddr } | { ok: false; reason: string };

export function parseNameAddr(input: string): NameAddrResult {
  const s = input.trim();
  let displayName: string | null = null;
  let i = 0;
  if (s.startsWith('"')) {
    const q = scanQuoted(s, 0);
    if (!q.ok) return q;
    displayName = q.value;
    i = skipWs(s, q.next);
    if (s[i] !== '<') return { ok: false, reason: 'display name not followed by <URI>' };
  } else {
    const lt = s.indexOf('<');
    // A "<" after a ";" or '"' is inside an addr-spec's header parameter
    // (`sip:a@b;+sip.instance="<urn:…>"`), not the start of a name-addr.
    const semi = s.indexOf(';');
    const dquote = s.indexOf('"');
    if (lt >= 0 && (semi < 0 || lt < semi) && (dquote < 0 || lt < dquote)) {
      const words = s.slice(0, lt).trim();
      if (words.length > 0) {
        for (let k = 0; k < words.length; k++) {
          const c = words.charCodeAt(k);
          if (!isTokenChar(c) && c !== 0x20 && c !== 0x09) {
            return { ok: false, reason: 'display name has characters that must be quoted' };
          }
        }
        displayName = words.replace(/[ \t]+/g, ' ');
      }
      i = lt;
    }
  }
  if (s[i] === '<') {
    const gt = s.indexOf('>', i);
    if (gt < 0) return { ok: false, reason: 'unterminated <URI>' };
    const u = parseUri(s.slice(i + 1, gt));
    if (!u.ok) return u;
    const p = scanParams(s, gt + 1);
    if (!p.ok) return p;
    if (p.next < s.length) return { ok: false, reason: 'trailing characters after parameters' };
    return { ok: true, value: { displayName, uri: u.uri, params: p.value, angle: true } };
  }
  // addr-spec: the URI ends at the first ";" and its parameters belong to the header.
  let end = s.indexOf(';');
  if (end < 0) end = s.length;
  const spec = s.slice(0, end).trimEnd();
  if (/[,?]/.test(spec)) return { ok: false, reason: 'URI with "," or "?" must be enclosed in <>' };
  const u = parseUri(spec);
  if (!u.ok) return u;
  const p = scanParams(s, end);
  if (!p.ok) return p;
  if (p.next < s.length) return { ok: false, reason: 'trailing characters after parameters' };
  return { ok: true, value: { displayName: null, uri: u.uri, params: p.value, angle: false } };
}

/** Writes a name-addr; always uses <> (safe for every URI, §20.10). */
export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName === null ? '' : quote(na.displayName) + ' ';
  return `${dn}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

/**
 * The URI of a Contact, Route or Record-Route value (name-addr or
 * addr-spec), as written; null when the value does not parse.
 */
export function nameAddrUri(value: string): string | null {
  const na = parseNameAddr(value);
  return na.ok ? formatUri(na.value.uri) : null;
}
