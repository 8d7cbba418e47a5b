/**
 * The concurrency gate (DESIGN "Gate leases, not counters"): each call or
 * REST request of an account holds a slot of its resource type while it
 * lives, and above the account's limit it is refused.
 *
 * A slot is a *lease*, keyed by the session id that holds it and carrying an
 * expiry its holder renews (`renew`, or `holdLease` which does it on a
 * timer). Counters (INCR on start, DECR on end) drift: a double BYE
 * decrements twice, a CANCEL racing a 200 never decrements, a crashed node
 * never decrements at all. Leases cannot drift:
 *
 * - acquire is idempotent per session id (a retried INVITE does not take a
 *   second slot), and atomic with the limit check;
 * - release is idempotent (the second BYE, or a release of an id that never
 *   held anything, changes nothing);
 * - a lease nobody renews expires by itself, so a crashed holder's slots
 *   come back within one TTL.
 */

/** How long a lease lives without a renewal, unless the caller says otherwise. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

export interface Granted {
  granted: true;
  /** Leases of others this acquire found expired and removed (their holders never released them). */
  expired: number;
}

export interface Refused {
  granted: false;
  /**
   * When, at the latest, a slot frees even if no holder releases: the
   * earliest expiry among the leases held, whole seconds, at least 1. Live
   * holders renew, so this is an upper bound of the wait, not a forecast.
   */
  retryAfterSeconds: number;
  /** Leases held when the request was refused (the limit or more: a lowered limit leaves more). */
  inUse: number;
  limit: number;
  expired: number;
}

export type AcquireResult = Granted | Refused;

export interface ConcurrencyGate {
  /**
   * Takes a slot of `account`/`resourceType` for `sessionId` if fewer than
   * `limit` are held, for `ttlMs` (default: the gate's). A session that
   * already holds a lease keeps its one slot, and its lease is extended.
   */
  acquire(account: string, resourceType: string, sessionId: string, limit: number, ttlMs?: number): Promise<AcquireResult>;
  /** Gives the slot back. True when this call removed a lease; releasing again, or an unknown id, is a no-op (false). */
  release(account: string, resourceType: string, sessionId: string): Promise<boolean>;
  /**
   * Extends a live lease to `ttlMs` from now. False when the session holds no
   * live lease (released, or expired: the holder has lost its slot and must
   * acquire again); a renewal never re-creates a lease.
   */
  renew(account: string, resourceType: string, sessionId: string, ttlMs?: number): Promise<boolean>;
  /** Live leases of `account`/`resourceType` (expired ones not counted). */
  usage(account: string, resourceType: string): Promise<number>;
  /**
   * Optional: resolves at the next release of a lease of
   * `account`/`resourceType`, or after `maxWaitMs`, whichever comes first.
   * A gate that cannot tell (Redis) leaves it out and waiters poll.
   */
  waitForRelease?(account: string, resourceType: string, maxWaitMs: number): Promise<void>;
}

/** Throws on arguments no caller should pass (a bug, not a refusal). */
export function checkAcquireArgs(sessionId: string, limit: number, ttlMs: number): void {
  if (sessionId.length === 0) throw new RangeError('sessionId must not be empty');
  if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`limit must be a whole number >= 0 (got ${limit})`);
  checkTtl(ttlMs);
}

export function checkTtl(ttlMs: number): void {
  if (!(Number.isInteger(ttlMs) && ttlMs >= 1)) throw new RangeError(`ttlMs must be a whole number >= 1 (got ${ttlMs})`);
}

/** `retryAfterSeconds` for a lease that expires in `ms`. */
export function retryAfterFor(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
