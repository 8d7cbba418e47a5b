/**
 * The gate of a single node (the embedded default). Every operation runs to
 * completion inside one synchronous turn of the event loop, so the check
 * against the limit and the insertion cannot interleave with another acquire:
 * exactness comes from Node's single thread, with no locks.
 *
 * Per account and resource type a pool maps session id → expiry (monotonic
 * clock, so a wall-clock step cannot expire or resurrect leases). Expired
 * leases are removed lazily by the next acquire, which reports them; the
 * pool remembers its earliest expiry so an acquire scans only when something
 * may have expired. An empty pool is dropped, so idle accounts cost nothing.
 */
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_LEASE_TTL_MS,
  checkAcquireArgs,
  checkTtl,
  retryAfterFor,
  type AcquireResult,
  type ConcurrencyGate,
} from './gate.js';

export interface MemoryGateOptions {
  /** Lease lifetime when a caller gives none, ms. Default 30 s. */
  defaultTtlMs?: number;
  /** Clock in ms (monotonic); tests may pass their own. Default `performance.now`. */
  now?: () => number;
}

interface Pool {
  leases: Map<string, number>;
  /** ≤ the earliest expiry in `leases` (renewals only raise expiries, so it may be low, never high). */
  minExpiry: number;
}

export class MemoryConcurrencyGate implements ConcurrencyGate {
  private readonly pools = new Map<string, Map<string, Pool>>();
  /** account \n resourceType → callbacks waiting for a release (queued REST requests). */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly defaultTtlMs: number;
  private readonly now: () => number;

  constructor(options: MemoryGateOptions = {}) {
    this.defaultTtlMs = options.defaultTtlMs ?? DEFAULT_LEASE_TTL_MS;
    checkTtl(this.defaultTtlMs);
    this.now = options.now ?? (() => performance.now());
  }

  async acquire(account: string, resourceType: string, sessionId: string, limit: number, ttlMs = this.defaultTtlMs): Promise<AcquireResult> {
    checkAcquireArgs(sessionId, limit, ttlMs);
    const now = this.now();
    let pool = this.pool(account, resourceType);
    let expired = 0;
    if (pool !== undefined && pool.minExpiry <= now) {
      expired = purge(pool, now);
      if (pool.leases.size === 0) {
        this.dropPool(account, resourceType);
        pool = undefined;
      }
    }
    if (pool === undefined) {
      // Nothing held: the common case of a quiet account.
      if (limit === 0) return { granted: false, retryAfterSeconds: 1, inUse: 0, limit, expired };
      pool = this.newPool(account, resourceType);
    }
    const leases = pool.leases;
    if (!leases.has(sessionId) && leases.size >= limit) {
      let earliest = Infinity;
      for (const e of leases.values()) if (e < earliest) earliest = e;
      pool.minExpiry = earliest;
      return { granted: false, retryAfterSeconds: retryAfterFor(earliest - now), inUse: leases.size, limit, expired };
    }
    // A session that holds a lease keeps it, extended (never shortened).
    const expiry = Math.max(now + ttlMs, leases.get(sessionId) ?? 0);
    leases.set(sessionId, expiry);
    if (expiry < pool.minExpiry) pool.minExpiry = expiry;
    return { granted: true, expired };
  }

  async release(account: string, resourceType: string, sessionId: string): Promise<boolean> {
    const pool = this.pool(account, resourceType);
    if (pool === undefined || !pool.leases.delete(sessionId)) return false;
    if (pool.leases.size === 0) this.dropPool(account, resourceType);
    if (this.waiters.size > 0) this.wake(account, resourceType);
    return true;
  }

  async renew(account: string, resourceType: string, sessionId: string, ttlMs = this.defaultTtlMs): Promise<boolean> {
    checkTtl(ttlMs);
    const now = this.now();
    const leases = this.pool(account, resourceType)?.leases;
    const expiry = leases?.get(sessionId);
    // An expired lease stays for the next acquire to remove (and report); it is not revived.
    if (leases === undefined || expiry === undefined || expiry <= now) return false;
    // Never shortens a lease (as ZADD GT in Redis), so `minExpiry` stays a lower bound.
    leases.set(sessionId, Math.max(expiry, now + ttlMs));
    return true;
  }

  async usage(account: string, resourceType: string): Promise<number> {
    const pool = this.pool(account, resourceType);
    if (pool === undefined) return 0;
    const now = this.now();
    if (pool.minExpiry > now) return pool.leases.size;
    let live = 0;
    for (const e of pool.leases.values()) if (e > now) live += 1;
    return live;
  }

  waitForRelease(account: string, resourceType: string, maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const key = `${account}\n${resourceType}`;
      let set = this.waiters.get(key);
      if (set === undefined) this.waiters.set(key, (set = new Set()));
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        resolve();
      };
      // The timer also covers expiries, which are lazy and announce nothing.
      const timer = setTimeout(done, Math.max(0, maxWaitMs));
      waiters.add(done);
    });
  }

  /** Wakes every waiter: each tries again and all but the winners wait once more. */
  private wake(account: string, resourceType: string): void {
    const set = this.waiters.get(`${account}\n${resourceType}`);
    if (set !== undefined) for (const done of [...set]) done();
  }

  private pool(account: string, resourceType: string): Pool | undefined {
    return this.pools.get(account)?.get(resourceType);
  }

  private newPool(account: string, resourceType: string): Pool {
    let byType = this.pools.get(account);
    if (byType === undefined) this.pools.set(account, (byType = new Map()));
    const pool: Pool = { leases: new Map(), minExpiry: Infinity };
    byType.set(resourceType, pool);
    return pool;
  }

  private dropPool(account: string, resourceType: string): void {
    const byType = this.pools.get(account);
    if (byType === undefined) return;
    byType.delete(resourceType);
    if (byType.size === 0) this.pools.delete(account);
  }
}

/** Removes the leases expired at `now`; how many. Leaves `minExpiry` exact. */
function purge(pool: Pool, now: number): number {
  let removed = 0;
  let earliest = Infinity;
  for (const [id, e] of pool.leases) {
    if (e <= now) {
      pool.leases.delete(id);
      removed += 1;
    } else if (e < earliest) earliest = e;
  }
  pool.minExpiry = earliest;
  return removed;
}
