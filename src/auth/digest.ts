/**
 * SIP Digest authentication, server side (RFC 3261 §22, computed as in
 * RFC 7616 §3.4.1, with SHA-256 for SIP per RFC 8760). Pure logic: the
 * registrar issues `challenges()` in a 401 and hands the parsed Authorization
 * params of the retry to `verify()`.
 *
 * Offered and accepted: algorithm MD5 (also when the parameter is absent,
 * RFC 7616 §3.3) and SHA-256, with qop=auth. The RFC 2069 form without qop is
 * accepted for MD5 only (old UAs), each nonce then being good for one request.
 * Refused as malformed: the -sess variants, qop=auth-int, userhash.
 */
import { createHash, hash, randomBytes } from 'node:crypto';
import { formatUri, parseUri } from '../sip/uri.js';
import { formatChallenge, type DigestAlgorithm } from './digest-header.js';
import { NonceCodec, nonceExpired, type CountVerdict, type OpenedNonce, type SharedNonceCounter } from './digest-nonce.js';

export { formatChallenge, parseAuthorization } from './digest-header.js';
export type { ChallengeFields, Credentials, DigestAlgorithm } from './digest-header.js';
export { AuthThrottle, type AuthThrottleOptions } from './digest-throttle.js';
export type { SharedNonceCounter } from './digest-nonce.js';

// ---------------------------------------------------------------- computation

const HASHES: Record<DigestAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256' };
const HEX_LENGTH: Record<DigestAlgorithm, number> = { MD5: 32, 'SHA-256': 64 };

/** H(data) as lower-case hex (RFC 7616 §3.4.1; strings are UTF-8, §4). */
function h(algorithm: DigestAlgorithm, data: string): string {
  // One-shot: no hash object per call (three per Digest check).
  return hash(HASHES[algorithm], data, 'hex');
}

interface DigestBase {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  /** the digest-uri as sent in the `uri` parameter. */
  uri: string;
  nonce: string;
}

/** With qop=auth: nc (8 hex digits, as sent) and cnonce are part of the hash. */
export type DigestResponseInput =
  (DigestBase & { qop: 'auth'; nc: string; cnonce: string }) | (DigestBase & { qop?: undefined });

/**
 * The request-digest (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1):
 * HA1 = H(username ":" realm ":" password) (§3.4.2, non-sess),
 * HA2 = H(method ":" digest-uri) (§3.4.3, qop=auth),
 * response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2),
 * or H(HA1 ":" nonce ":" HA2) without qop (RFC 2069 compatibility, RFC 2617 §3.2.2.1).
 */
export function digestResponse(d: DigestResponseInput): string {
  const ha1 = h(d.algorithm, `${d.username}:${d.realm}:${d.password}`);
  const ha2 = h(d.algorithm, `${d.method}:${d.uri}`);
  const middle = d.qop === 'auth' ? `${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}` : d.nonce;
  return h(d.algorithm, `${ha1}:${middle}:${ha2}`);
}

// ---------------------------------------------------------------- reading a response

export type DigestFailureKind = 'stale' | 'invalid' | 'replay' | 'malformed';

export type DigestResult =
  { ok: true; username: string } | { ok: false; kind: DigestFailureKind; reason: string };

type Failure = Extract<DigestResult, { ok: false }>;

function fail(kind: DigestFailureKind, reason: string): Failure {
  return { ok: false, kind, reason };
}

/** The fields of a digest-response (RFC 3261 §25.1, RFC 7616 §3.4) after the syntax checks. */
interface DigestFields {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: DigestAlgorithm;
  opaque: string | null;
  /** null for the RFC 2069 form. */
  qop: { nc: string; count: number; cnonce: string } | null;
}

const REQUIRED = ['username', 'realm', 'nonce', 'uri', 'response'] as const;
/** nc-value = 8LHEX (RFC 7616 §3.4); upper-case hex is tolerated. */
const NC_VALUE = /^[0-9a-fA-F]{8}$/;

/** algorithm: absent means MD5 (RFC 7616 §3.3); names compare case-insensitively. */
function readAlgorithm(value: string | undefined): DigestAlgorithm | Failure {
  const name = (value ?? 'MD5').toUpperCase();
  if (name === 'MD5' || name === 'SHA-256') return name;
  if (name.endsWith('-SESS'))
    return fail('malformed', `algorithm ${value} (session variant) is not supported`);
  return fail('malformed', `algorithm ${value} is not supported`);
}

/** qop=auth needs nc and cnonce (RFC 7616 §3.4); without qop only MD5 (RFC 2069) is allowed. */
function readQop(
  p: Map<string, string>,
  algorithm: DigestAlgorithm,
): DigestFields['qop'] | Failure {
  const qop = p.get('qop');
  if (qop === undefined) {
    if (algorithm !== 'MD5') return fail('malformed', 'qop is required with SHA-256');
    return null;
  }
  if (qop.toLowerCase() !== 'auth') return fail('malformed', `qop ${qop} is not supported`);
  const nc = p.get('nc');
  const cnonce = p.get('cnonce');
  if (nc === undefined) return fail('malformed', 'nc missing');
  if (cnonce === undefined || cnonce === '') return fail('malformed', 'cnonce missing');
  if (!NC_VALUE.test(nc)) return fail('malformed', 'nc must be 8 hex digits');
  const count = parseInt(nc, 16);
  if (count === 0) return fail('malformed', 'nc must be at least 1');
  return { nc, count, cnonce };
}

function isFailure<T>(v: T | Failure): v is Failure {
  return typeof v === 'object' && v !== null && 'ok' in v && v.ok === false;
}

/** Syntax and capability checks of the auth-params; no secrets involved yet. */
function readFields(p: Map<string, string>): DigestFields | Failure {
  for (const name of REQUIRED) {
    if (!p.get(name)) return fail('malformed', `${name} missing`);
  }
  if (p.get('userhash')?.toLowerCase() === 'true')
    return fail('malformed', 'userhash is not supported');
  const algorithm = readAlgorithm(p.get('algorithm'));
  if (isFailure(algorithm)) return algorithm;
  const qop = readQop(p, algorithm);
  if (isFailure(qop)) return qop;
  const response = (p.get('response') as string).toLowerCase();
  if (response.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(response)) {
    return fail(
      'malformed',
      `response must be ${HEX_LENGTH[algorithm]} hex digits for ${algorithm}`,
    );
  }
  return {
    username: p.get('username') as string,
    realm: p.get('realm') as string,
    nonce: p.get('nonce') as string,
    uri: p.get('uri') as string,
    response,
    algorithm,
    opaque: p.get('opaque') ?? null,
    qop,
  };
}

// ---------------------------------------------------------------- the authenticator

export interface DigestAuthenticatorOptions {
  /** the protection domain (RFC 3261 §22.1); Herald uses the account's sipDomain. */
  realm: string;
  /** server key for nonces; servers sharing it accept each other's nonces. */
  secret: Buffer;
  /** nonce lifetime; default 300 s. */
  nonceTtlSeconds?: number;
  /** clock in ms; default Date.now. */
  now?: () => number;
  /**
   * How many of the latest nonces issued have their nonce-count tracked
   * (a ring, see digest-nonce.ts); default 2^18. Older ones, and those
   * issued before this authenticator existed (the secret may survive a
   * restart, and they may have been used already), are answered as stale.
   */
  maxTrackedNonces?: number;
}

export interface DigestVerifyInput {
  /** the request's method (HA2 uses it, RFC 3261 §22.4). */
  method: string;
  /** params of the Authorization header, from parseAuthorization (scheme already checked as Digest). */
  authorization: Map<string, string>;
  /** the user's password, or null for an unknown user. */
  password: (username: string) => string | null;
  /**
   * Whether the digest `uri` names the resource of this request (RFC 2617
   * §3.2.2.5, which RFC 3261 §22.4 follows), so that a response computed
   * for one request cannot authorize another. Unchecked when absent. See
   * `sameResource`.
   */
  uriMatches?: (digestUri: string) => boolean;
}

/** One message for wrong user and wrong password alike: no user enumeration (RFC 7616 §5.1). */
const BAD_CREDENTIALS = 'credentials do not match';
/** nc above any 8-hex nonce-count: marks a nonce used once in the RFC 2069 form. */
const SINGLE_USE = 0x1_0000_0000;

export class DigestAuthenticator {
  readonly realm: string;
  private readonly nonces: NonceCodec;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly opaque: string;
  private readonly dummyPassword: string;

  constructor(opts: DigestAuthenticatorOptions) {
    const ttl = opts.nonceTtlSeconds ?? 300;
    if (!Number.isFinite(ttl) || ttl <= 0) throw new RangeError('nonceTtlSeconds must be positive');
    if (opts.secret.length < 16) throw new RangeError('secret must be at least 16 bytes');
    this.realm = opts.realm;
    this.ttlMs = ttl * 1000;
    this.now = opts.now ?? Date.now;
    this.nonces = new NonceCodec(opts.secret, opts.realm, opts.maxTrackedNonces);
    // opaque (RFC 7616 §3.3): constant per server key and realm, echoed by the UA.
    this.opaque = createHash('sha256')
      .update('herald-digest-opaque\0')
      .update(opts.secret)
      .update(opts.realm, 'utf8')
      .digest('base64url')
      .slice(0, 22);
    this.dummyPassword = randomBytes(18).toString('base64url');
  }

  /**
   * WWW-Authenticate values for a 401 (RFC 3261 §22.2, RFC 8760 §2.3): MD5
   * first, since many UAs read only the first challenge, then SHA-256; both
   * with the same nonce. `stale` when the last request's nonce had expired.
   */
  challenges(opts: { stale?: boolean } = {}): string[] {
    const nonce = this.nonces.issue(this.now());
    const base = { realm: this.realm, nonce, opaque: this.opaque, stale: opts.stale === true };
    return [
      formatChallenge({ ...base, algorithm: 'MD5' }),
      formatChallenge({ ...base, algorithm: 'SHA-256' }),
    ];
  }

  /**
   * Checks a digest-response (RFC 3261 §22.4, RFC 7616 §3.4.1). In order:
   * syntax (malformed), realm, nonce MAC and opaque (invalid), the response
   * itself (invalid), nonce age (stale), nonce-count (replay). A nonce is
   * only declared stale for a correct response, as RFC 7616 §3.3 asks.
   */
  verify(input: DigestVerifyInput): DigestResult {
    const checked = this.check(input);
    if (!('fields' in checked)) return checked;
    const { fields: f, opened } = checked;
    return this.countResult(f, this.nonces.advance(opened, countOf(f)));
  }

  /**
   * `verify` with the nonce-counts kept by `counter` (shared by the nodes of
   * a cluster) instead of this process's memory.
   */
  async verifyShared(input: DigestVerifyInput, counter: SharedNonceCounter): Promise<DigestResult> {
    const checked = this.check(input);
    if (!('fields' in checked)) return checked;
    const { fields: f, opened, now } = checked;
    return this.countResult(f, await counter.advance(this.realm, f.nonce, opened.issuedAt, countOf(f), now, this.ttlMs));
  }

  /** Everything but the nonce-count. */
  private check(input: DigestVerifyInput): Failure | { fields: DigestFields; opened: OpenedNonce; now: number } {
    const f = readFields(input.authorization);
    if (isFailure(f)) return f;
    if (f.realm !== this.realm) return fail('invalid', 'realm does not match');
    const opened = this.nonces.open(f.nonce);
    if (opened === null) return fail('invalid', 'nonce was not issued by this server');
    if (f.opaque !== null && f.opaque !== this.opaque)
      return fail('invalid', 'opaque does not match');
    if (input.uriMatches !== undefined && !input.uriMatches(f.uri)) {
      return fail('invalid', 'uri does not match the Request-URI');
    }
    if (!this.responseMatches(f, input)) return fail('invalid', BAD_CREDENTIALS);
    const now = this.now();
    if (nonceExpired(opened.issuedAt, now, this.ttlMs)) return fail('stale', 'nonce expired');
    return { fields: f, opened, now };
  }

  /**
   * Computes the expected response with the user's password, or with a dummy
   * one for an unknown user so both cases cost the same, and compares in
   * constant time.
   */
  private responseMatches(f: DigestFields, input: DigestVerifyInput): boolean {
    const known = input.password(f.username);
    const base: DigestBase = {
      algorithm: f.algorithm,
      username: f.username,
      realm: f.realm,
      password: known ?? this.dummyPassword,
      method: input.method,
      uri: f.uri,
      nonce: f.nonce,
    };
    const expected = digestResponse(
      f.qop === null ? base : { ...base, qop: 'auth', nc: f.qop.nc, cnonce: f.qop.cnonce },
    );
    return sameText(expected, f.response) && known !== null;
  }

  /**
   * RFC 7616 §3.4 / §5.5: nc must grow with each request on a nonce. Without
   * qop there is no count, so the nonce is good once; reusing it, or a nonce
   * whose record was evicted, is answered as stale so the UA takes a new one.
   */
  private countResult(f: DigestFields, verdict: CountVerdict): DigestResult {
    if (verdict === 'forgotten') return fail('stale', 'nonce no longer tracked');
    if (verdict === 'replay') {
      return f.qop === null
        ? fail('stale', 'nonce already used (no qop: one request per nonce)')
        : fail('replay', `nonce-count ${f.qop.nc} not greater than the last one seen`);
    }
    return { ok: true, username: f.username };
  }
}

/**
 * Equality of two strings in time that depends on their length only (the
 * lengths of a digest are public): what timingSafeEqual does, without two
 * Buffers per check.
 */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The count a request spends on its nonce: without qop (RFC 2069) the whole nonce. */
function countOf(f: DigestFields): number {
  return f.qop === null ? SINGLE_USE : f.qop.count;
}

/**
 * Whether the digest `uri` and the Request-URI name the same resource:
 * same scheme, user, host (case-insensitive) and port. URI parameters are
 * left out on purpose: UAs differ in whether they copy `;transport=` or
 * `;ob` into the digest uri, and they do not change whom the request is for.
 */
export function sameResource(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const a = parseUri(digestUri);
  const b = parseUri(requestUri);
  if (!a.ok || !b.ok) return false;
  if (a.uri.kind !== 'sip' || b.uri.kind !== 'sip') return formatUri(a.uri) === formatUri(b.uri);
  return (
    a.uri.scheme === b.uri.scheme &&
    a.uri.user === b.uri.user &&
    a.uri.host.toLowerCase() === b.uri.host.toLowerCase() &&
    (a.uri.port ?? (a.uri.scheme === 'sips' ? 5061 : 5060)) === (b.uri.port ?? (b.uri.scheme === 'sips' ? 5061 : 5060))
  );
}
