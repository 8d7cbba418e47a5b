/**
 * The REST side of the concurrency gate (CONTRACT §6): every account-scoped
 * request holds a slot of its REST resource type for as long as it is in
 * progress, up to `limits.api` per account and resource type; over it the
 * answer is `429` with `Retry-After` and code 20429.
 *
 * The resource type is the last fixed segment of the route after the
 * account: `/Clients/:identity/Presence` → `api:Presence`, `/Clients` →
 * `api:Clients`, `/Tokens` → `api:Tokens`, `/Usage` → `api:Usage`,
 * `/Calls` and `/Calls/:sid` → `api:Calls`. So a burst of one kind (e.g.
 * presence polling) cannot starve another (minting tokens). Requests that
 * match no route are not gated: they do no work.
 *
 * The slot is taken in an onRequest hook (after Basic auth, before the body
 * is read) and given back on the raw response's `close`, which Node emits
 * both when the response has been sent and when the client went away
 * first, so an aborted request cannot leak its slot. The lease is renewed
 * while the request lives (holdLease) and would expire by itself if this
 * node died.
 *
 * With `gate.apiQueueMs` > 0 a request over the limit waits up to that long
 * for a slot (wait-for-slot.ts) before its 429.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { ConcurrencyGate } from '../gate/gate.js';
import { holdLease, type HeldLease, type LeaseResult } from '../gate/hold-lease.js';
import { apiResourceType } from '../gate/resources.js';
import { waitForSlot } from '../gate/wait-for-slot.js';
import type { Log } from '../log.js';
import { principalOf } from './basic-auth.js';
import { ApiError } from './errors.js';

/** Twilio's "Too Many Requests" code. */
export const TOO_MANY_REQUESTS_CODE = 20429;
/**
 * Retry-After of a 429. A REST slot is held for one request (milliseconds),
 * so one second is a fair wait; the gate's own bound (the earliest lease
 * expiry) keeps moving while live holders renew and would say ~TTL.
 */
export const API_RETRY_AFTER_SECONDS = 1;

export interface GateSettings {
  /** Lease lifetime of a REST request's slot, ms (renewed every third of it while the request lasts). */
  leaseTtlMs: number;
  /** How long a request over the limit waits for a slot, ms; 0 = 429 at once. */
  apiQueueMs: number;
}

export interface ApiGateDeps {
  gate: ConcurrencyGate;
  settings: GateSettings;
  /** The route parameter that names the account. */
  accountParam: string;
  /** A 429 was sent (metrics). */
  throttled?: (account: string, resourceType: string) => void;
  log?: Log;
}

const leases = new WeakMap<FastifyRequest, HeldLease>();

/** The slot a request holds (the Usage endpoint leaves its own out of the count). */
export function leaseOf(req: FastifyRequest): HeldLease | undefined {
  return leases.get(req);
}

/** The REST resource a route addresses: the last fixed path segment after the account; null for the account itself. */
export function restResourceOf(routeUrl: string | undefined, accountParam: string): string | null {
  if (routeUrl === undefined) return null;
  const segments = routeUrl.split('/');
  const at = segments.indexOf(`:${accountParam}`);
  if (at < 0) return null;
  const fixed = segments.slice(at + 1).filter((s) => s !== '' && !s.startsWith(':'));
  return fixed[fixed.length - 1] ?? null;
}

export function apiGate(deps: ApiGateDeps): onRequestAsyncHookHandler {
  const { gate, settings } = deps;
  return async (req, reply) => {
    const resource = restResourceOf(req.routeOptions.url, deps.accountParam);
    if (resource === null) return;
    const { account } = principalOf(req);
    const type = apiResourceType(resource);
    const limit = account.limits.api;

    // Listen for the end before acquiring: a client that leaves while we wait must not leave a slot behind.
    const gone = new AbortController();
    let lease: HeldLease | null = null;
    reply.raw.once('close', () => {
      gone.abort();
      if (lease !== null) void lease.release();
    });

    const attempt = (): Promise<LeaseResult> =>
      holdLease(gate, account.sid, type, randomUUID(), limit, {
        ttlMs: settings.leaseTtlMs,
        onError: (err) => deps.log?.warn({ err, account: account.sid, resource: type }, 'gate lease renewal or release failed'),
      });
    let result: LeaseResult;
    try {
      result = await waitForSlot(attempt, {
        waitMs: settings.apiQueueMs,
        signal: gone.signal,
        ...(gate.waitForRelease !== undefined ? { wake: (ms: number) => gate.waitForRelease!(account.sid, type, ms) } : {}),
      });
    } catch (err) {
      deps.log?.error({ err, account: account.sid, resource: type }, 'concurrency gate unavailable');
      throw new ApiError(503, 'concurrency gate unavailable, try again', 20503, { 'Retry-After': String(API_RETRY_AFTER_SECONDS) });
    }
    if (result.granted) {
      if (gone.signal.aborted) void result.lease.release();
      else {
        lease = result.lease;
        leases.set(req, lease);
      }
      return;
    }
    if (gone.signal.aborted) return; // nobody left to answer
    deps.throttled?.(account.sid, type);
    throw new ApiError(
      429,
      `too many concurrent ${resource} requests for account ${account.sid}: ${result.inUse} in progress, limit ${limit} (limits.api)`,
      TOO_MANY_REQUESTS_CODE,
      { 'Retry-After': String(API_RETRY_AFTER_SECONDS) },
    );
  };
}
