/**
 * HTTP Basic authentication of the REST API (CONTRACT §6): `AccountSid:authToken`
 * or `ApiKeySid:secret`, and the credentials must belong to the account named in
 * the path (`/v1/Accounts/{AC}/…`).
 *
 * - no or unreadable credentials, unknown user, wrong secret → 401 with
 *   `WWW-Authenticate: Basic realm="herald"` and code 20003 (one answer for all:
 *   nothing tells a SID that exists from one that does not);
 * - good credentials of one account, path of another account → 403;
 * - good credentials, path naming no configured account → 404.
 *
 * Secrets are compared in constant time (HMACs of both sides under a per-process
 * key, so lengths leak nothing either), and an unknown user costs the same
 * comparison as a known one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AccountConfig } from '../config/schema.js';
import { ApiError } from './errors.js';

export const BASIC_REALM = 'herald';
/** Twilio's "Authenticate" error code, which its clients know. */
export const AUTHENTICATE_CODE = 20003;

export type ApiKey = AccountConfig['apiKeys'][number];

/** Who a request authenticated as. */
export interface Principal {
  account: AccountConfig;
  /** The API key used, or null when the account SID and auth token were. */
  apiKey: ApiKey | null;
}

interface Credential {
  account: AccountConfig;
  apiKey: ApiKey | null;
  digest: Buffer;
}

const BASIC = /^\s*Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i;
/** A header longer than this is not a pair of SIDs and secrets. */
const MAX_HEADER = 4096;

const principals = new WeakMap<FastifyRequest, Principal>();

/** The principal of a request that passed the hook; throws (a bug, 500) otherwise. */
export function principalOf(req: FastifyRequest): Principal {
  const p = principals.get(req);
  if (p === undefined) throw new Error(`no authenticated principal on ${req.method} ${req.url}`);
  return p;
}

/** `user:password` of a Basic Authorization header, or null when there is none or it is malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined || header.length > MAX_HEADER) return null;
  const m = BASIC.exec(header);
  if (m === null) return null;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * The onRequest hook for routes under `/v1/Accounts/:accountSid`. It reads the
 * account SID from the route parameter named `param`.
 */
export function basicAuth(
  accounts: readonly AccountConfig[],
  param = 'accountSid',
): onRequestAsyncHookHandler {
  const key = randomBytes(32);
  const mac = (s: string): Buffer => createHmac('sha256', key).update(s, 'utf8').digest();
  // SID → who it is; an API key SID configured in two accounts has two entries.
  const bySid = new Map<string, Credential[]>();
  const add = (sid: string, c: Credential): void => {
    const list = bySid.get(sid);
    if (list === undefined) bySid.set(sid, [c]);
    else list.push(c);
  };
  for (const account of accounts) {
    add(account.sid, { account, apiKey: null, digest: mac(account.authToken) });
    for (const apiKey of account.apiKeys)
      add(apiKey.sid, { account, apiKey, digest: mac(apiKey.secret) });
  }
  const dummy = mac(randomBytes(32).toString('hex'));
  const unauthorized = (message: string): ApiError =>
    new ApiError(401, message, AUTHENTICATE_CODE, {
      'WWW-Authenticate': `Basic realm="${BASIC_REALM}"`,
    });

  return async (req) => {
    const creds = parseBasic(req.headers.authorization);
    if (creds === null) {
      throw unauthorized(
        'authentication required: HTTP Basic auth with AccountSid:authToken or ApiKeySid:secret',
      );
    }
    const given = mac(creds.password);
    const candidates = bySid.get(creds.user) ?? [];
    // Every candidate is compared (no early exit), and an unknown user is compared against a dummy.
    const matched: Credential[] = [];
    if (candidates.length === 0) timingSafeEqual(given, dummy);
    for (const c of candidates) if (timingSafeEqual(given, c.digest)) matched.push(c);
    if (matched.length === 0) throw unauthorized('invalid credentials');

    const pathSid = (req.params as Record<string, string | undefined>)[param] ?? '';
    const own = matched.find((c) => c.account.sid === pathSid);
    if (own === undefined) {
      if (!accounts.some((a) => a.sid === pathSid))
        throw new ApiError(404, `no account ${pathSid}`);
      throw new ApiError(403, `these credentials are not valid for account ${pathSid}`, 20403);
    }
    principals.set(req, { account: own.account, apiKey: own.apiKey });
  };
}
