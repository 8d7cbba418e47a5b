/**
 * Verification of access tokens in Twilio's AccessToken format (CONTRACT §3),
 * as presented in `Authorization: Bearer …` (CONTRACT §4).
 *
 * Nothing in the token is trusted before its signature verifies: the header is
 * decoded only to pick the algorithm from an explicit allow-list (HS256/384/512,
 * never `none` or an asymmetric one), the payload only to find the signing key —
 * `iss` must be an API key of the account named by `sub`. The signature and the
 * time claims are then checked by `jsonwebtoken` with that one key and that one
 * algorithm, with a small clock tolerance. Every failure is a verdict with a
 * short reason, never an exception, and no reason contains a secret.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AccountConfig } from '../config/schema.js';

export interface VerifiedToken {
  accountSid: string;
  apiKeySid: string;
  identity: string;
  /** grants.voice.incoming.allow === true */
  incoming: boolean;
  /** grants.voice.outgoing.application_sid */
  outgoingApplicationSid: string | null;
  /** grants.voice.outgoing.params (string values only), {} when absent */
  outgoingParams: Record<string, string>;
  /** exp, unix seconds */
  expiresAt: number;
  jti: string | null;
}

export type TokenVerdict = { ok: true; token: VerifiedToken } | { ok: false; reason: string };

export interface VerifyOptions {
  /** unix seconds; default: the current time */
  now?: number;
  /** seconds of clock skew allowed on exp and nbf; default 30 */
  clockToleranceSeconds?: number;
}

export type TokenAccount = Pick<AccountConfig, 'sid' | 'apiKeys'>;

export const DEFAULT_CLOCK_TOLERANCE = 30;
/** Longest token looked at; a Twilio voice token is well under 1 KiB. */
export const MAX_TOKEN_LENGTH = 8192;
export const MAX_IDENTITY_LENGTH = 121;

const ALLOWED_ALGORITHMS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512']);
const TWILIO_CTY = 'twilio-fpa;v=1';
const ACCOUNT_SID = /^AC[0-9a-f]{32}$/;
const API_KEY_SID = /^SK[0-9a-f]{32}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** An algorithm name shown in a reason (it comes from an untrusted header). */
const PRINTABLE_ALG = /^[A-Za-z0-9+_-]{1,20}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

type ApiKey = TokenAccount['apiKeys'][number];

/** Secret keys built once per configured API key (jsonwebtoken would otherwise
 * try to parse a string secret as a PEM public key on every call). */
const keyCache = new WeakMap<ApiKey, { secret: string; key: KeyObject }>();

function secretKeyOf(apiKey: ApiKey): KeyObject | null {
  const cached = keyCache.get(apiKey);
  if (cached !== undefined && cached.secret === apiKey.secret) return cached.key;
  if (typeof apiKey.secret !== 'string' || apiKey.secret.length === 0) return null;
  try {
    const key = createSecretKey(Buffer.from(apiKey.secret, 'utf8'));
    keyCache.set(apiKey, { secret: apiKey.secret, key });
    return key;
  } catch {
    return null;
  }
}

function refuse(reason: string): TokenVerdict {
  return { ok: false, reason };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodePart(part: string): Record<string, unknown> | null {
  if (part.length === 0 || !BASE64URL.test(part)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

function findAccount(accounts: readonly TokenAccount[], sid: string): TokenAccount | undefined {
  for (const a of accounts) if (a.sid === sid) return a;
  return undefined;
}

function findKey(account: TokenAccount, sid: string): ApiKey | undefined {
  for (const k of account.apiKeys) if (k.sid === sid) return k;
  return undefined;
}

/** Why jsonwebtoken refused a token, in the words of this module. */
function describeJwtError(err: unknown): string {
  if (err instanceof jwt.TokenExpiredError) return 'token expired';
  if (err instanceof jwt.NotBeforeError) return 'token not yet valid (nbf is in the future)';
  if (err instanceof jwt.JsonWebTokenError) {
    switch (err.message) {
      case 'invalid signature':
        return 'signature does not verify';
      case 'invalid nbf value':
        return 'nbf is not a number';
      case 'invalid exp value':
        return 'exp is not a number';
      case 'jwt malformed':
      case 'invalid token':
        return 'malformed token';
      default:
        // jsonwebtoken's own messages name no key material.
        return `token refused: ${err.message}`;
    }
  }
  return 'malformed token';
}

function readVoiceGrant(
  grants: Record<string, unknown>,
): Pick<VerifiedToken, 'incoming' | 'outgoingApplicationSid' | 'outgoingParams'> {
  const voice = grants['voice'];
  if (!isObject(voice))
    return { incoming: false, outgoingApplicationSid: null, outgoingParams: {} };
  const incoming = isObject(voice['incoming']) && voice['incoming']['allow'] === true;
  const outgoing = voice['outgoing'];
  let outgoingApplicationSid: string | null = null;
  let outgoingParams: Record<string, string> = {};
  if (isObject(outgoing)) {
    const appSid = outgoing['application_sid'];
    if (typeof appSid === 'string' && appSid.length > 0) outgoingApplicationSid = appSid;
    const params = outgoing['params'];
    if (isObject(params)) {
      // fromEntries defines own properties, so a "__proto__" key stays a plain key.
      outgoingParams = Object.fromEntries(
        Object.entries(params).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
    }
  }
  return { incoming, outgoingApplicationSid, outgoingParams };
}

/**
 * Verifies an access token against the configured accounts and their API keys.
 * Never throws: a refusal is `{ ok: false, reason }`.
 */
export function verifyAccessToken(
  token: string,
  accounts: readonly TokenAccount[],
  options: VerifyOptions = {},
): TokenVerdict {
  try {
    return verify(token, accounts, options);
  } catch {
    // Defensive: verify() is written not to throw, but a verdict is promised.
    return refuse('malformed token');
  }
}

function verify(
  token: string,
  accounts: readonly TokenAccount[],
  options: VerifyOptions,
): TokenVerdict {
  if (typeof token !== 'string' || token.length === 0) return refuse('no token');
  if (token.length > MAX_TOKEN_LENGTH) return refuse('malformed token: too long');
  const parts = token.split('.');
  if (parts.length !== 3) return refuse(`malformed token: ${parts.length} parts instead of 3`);
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

  // The header, untrusted: only the algorithm is taken from it, from the allow-list.
  const header = decodePart(headerPart);
  if (header === null) return refuse('malformed token: header is not base64url JSON');
  const alg = header['alg'];
  if (typeof alg !== 'string') return refuse('malformed token: no alg in header');
  if (!ALLOWED_ALGORITHMS.has(alg)) {
    const shown = PRINTABLE_ALG.test(alg) ? alg : JSON.stringify(alg.slice(0, 20));
    return refuse(`algorithm ${shown} is not allowed`);
  }
  if ('cty' in header && header['cty'] !== TWILIO_CTY) return refuse(`cty must be ${TWILIO_CTY}`);
  if ('crit' in header) return refuse('critical header extensions are not supported');
  if (signaturePart.length === 0) return refuse('token is not signed');
  if (!BASE64URL.test(signaturePart)) return refuse('malformed token: signature is not base64url');

  // The payload, untrusted: only to find the key that must have signed it.
  const payload = decodePart(payloadPart);
  if (payload === null) return refuse('malformed token: payload is not base64url JSON');
  const sub = payload['sub'];
  const iss = payload['iss'];
  if (typeof sub !== 'string' || !ACCOUNT_SID.test(sub))
    return refuse('sub must be an account SID (AC + 32 hex digits)');
  if (typeof iss !== 'string' || !API_KEY_SID.test(iss))
    return refuse('iss must be an API key SID (SK + 32 hex digits)');
  const account = findAccount(accounts, sub);
  if (account === undefined) return refuse(`unknown account ${sub}`);
  const apiKey = findKey(account, iss);
  // A key of another account gets the same answer as a key that does not exist.
  if (apiKey === undefined) return refuse(`unknown API key ${iss} for account ${sub}`);
  if (!('exp' in payload)) return refuse('missing exp');
  if (typeof payload['exp'] !== 'number' || !Number.isFinite(payload['exp']))
    return refuse('exp is not a number');
  const key = secretKeyOf(apiKey);
  if (key === null) return refuse(`API key ${iss} has no usable secret`);

  const now =
    typeof options.now === 'number' && Number.isFinite(options.now)
      ? Math.floor(options.now)
      : Math.floor(Date.now() / 1000);
  const tolerance =
    typeof options.clockToleranceSeconds === 'number' &&
    Number.isFinite(options.clockToleranceSeconds) &&
    options.clockToleranceSeconds >= 0
      ? options.clockToleranceSeconds
      : DEFAULT_CLOCK_TOLERANCE;

  let verified: unknown;
  try {
    verified = jwt.verify(token, key, {
      algorithms: [alg as jwt.Algorithm],
      clockTolerance: tolerance,
      clockTimestamp: now,
    });
  } catch (err) {
    return refuse(describeJwtError(err));
  }

  // From here the claims are the account's own words.
  if (!isObject(verified) || verified['sub'] !== sub || verified['iss'] !== iss)
    return refuse('malformed token');
  const exp = verified['exp'];
  if (typeof exp !== 'number') return refuse('missing exp');
  const grants = verified['grants'];
  if (!isObject(grants)) return refuse('missing grants');
  const identity = grants['identity'];
  if (typeof identity !== 'string' || identity.length === 0)
    return refuse('missing identity (grants.identity)');
  if (identity.length > MAX_IDENTITY_LENGTH && [...identity].length > MAX_IDENTITY_LENGTH) {
    return refuse(`identity longer than ${MAX_IDENTITY_LENGTH} characters`);
  }
  if (CONTROL_CHARS.test(identity)) return refuse('identity contains control characters');
  const jti = verified['jti'];

  return {
    ok: true,
    token: {
      accountSid: sub,
      apiKeySid: iss,
      identity,
      ...readVoiceGrant(grants),
      expiresAt: exp,
      jti: typeof jti === 'string' ? jti : null,
    },
  };
}
