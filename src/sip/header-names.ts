/**
 * Header names: compact forms (RFC 3261 §7.3.3 and the extensions that define
 * one) and the canonical spelling used when Herald writes a header. Lookups use
 * the lower-case long form as key, so `v`, `VIA` and `Via` are one header.
 */

const COMPACT: Record<string, string> = {
  a: 'accept-contact', // RFC 3841
  b: 'referred-by', // RFC 3892
  c: 'content-type',
  d: 'request-disposition', // RFC 3841
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact', // RFC 3841
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  o: 'event', // RFC 6665
  r: 'refer-to', // RFC 3515
  s: 'subject',
  t: 'to',
  u: 'allow-events', // RFC 6665
  v: 'via',
  x: 'session-expires', // RFC 4028
  y: 'identity', // RFC 8224
};

/** Spellings that simple capitalisation of each word would get wrong. */
const SPECIAL: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
  'mime-version': 'MIME-Version',
  rack: 'RAck',
  rseq: 'RSeq',
};

const keyCache = new Map<string, string>();
const nameCache = new Map<string, string>();

/** The lookup key of a header name: lower case, compact forms expanded. */
export function headerKey(name: string): string {
  let key = keyCache.get(name);
  if (key === undefined) {
    const lower = name.toLowerCase();
    // Own properties only: a header named "constructor" or "__proto__" must not find Object.prototype's.
    key = Object.hasOwn(COMPACT, lower) ? (COMPACT[lower] as string) : lower;
    if (keyCache.size < 4096) keyCache.set(name, key);
  }
  return key;
}

export interface HeaderName {
  /** The lookup key (see headerKey). */
  readonly key: string;
  /** The spelling written on the wire: a compact form or a one-letter name in its canonical long form, other spellings as given. */
  readonly spelled: string;
}

const nameInfoCache = new Map<string, HeaderName>();

/** Key and written spelling of a header name, cached: the parser asks for every header line. */
export function headerName(name: string): HeaderName {
  let info = nameInfoCache.get(name);
  if (info === undefined) {
    const key = headerKey(name);
    info = { key, spelled: key === name.toLowerCase() && name.length > 1 ? name : canonicalName(key) };
    if (nameInfoCache.size < 4096) nameInfoCache.set(name, info);
  }
  return info;
}

/** The spelling Herald writes for a header key. */
export function canonicalName(key: string): string {
  let name = nameCache.get(key);
  if (name === undefined) {
    name = Object.hasOwn(SPECIAL, key) ? (SPECIAL[key] as string) : key.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
    if (nameCache.size < 4096) nameCache.set(key, name);
  }
  return name;
}

/**
 * Headers whose value is a comma-separated list (§7.3.1) and may be split.
 * Authorization-style headers are not: their commas separate auth-params.
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  'via',
  'contact',
  'route',
  'record-route',
  'path',
  'service-route',
  'allow',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'allow-events',
  'content-encoding',
  'in-reply-to',
  'warning',
  'reason',
]);

/** Headers that may appear at most once in a message (§20, "single-value" header fields). */
export const SINGLE_HEADERS: ReadonlySet<string> = new Set([
  'call-id',
  'cseq',
  'from',
  'to',
  'max-forwards',
  'content-length',
  'content-type',
  'expires',
  'min-expires',
]);
