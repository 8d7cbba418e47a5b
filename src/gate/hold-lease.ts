/**
 * Holding a slot for as long as a session lives: acquire, then renew the
 * lease every TTL/3 until `release()`. Two missed renewals still leave the
 * lease alive (a slow event loop, a Redis hiccup); a crashed process stops
 * renewing and its slot comes back within one TTL.
 *
 * The timer is unref'd: a held lease never keeps a process alive by itself.
 * `release()` is idempotent and never rejects: if the gate cannot be reached
 * the lease simply expires (the error goes to `onError`).
 */
import { DEFAULT_LEASE_TTL_MS, checkTtl, type ConcurrencyGate, type Granted, type Refused } from './gate.js';

export interface HeldLease {
  readonly account: string;
  readonly resourceType: string;
  readonly sessionId: string;
  /** True once a renewal found the lease gone (it expired: the gate was unreachable for longer than the TTL). */
  readonly lost: boolean;
  /** Stops renewing and gives the slot back; every call after the first returns the first one's promise. */
  release(): Promise<void>;
}

export type LeaseResult = (Granted & { lease: HeldLease }) | Refused;

export interface HoldLeaseOptions {
  /** Lease lifetime, ms (renewed every third of it). Default 30 s. */
  ttlMs?: number;
  /** The lease was lost (see `HeldLease.lost`); renewing stops. */
  onLost?: (lease: HeldLease) => void;
  /** A renewal or the release failed (the gate is unreachable); renewing goes on. */
  onError?: (err: unknown) => void;
}

export async function holdLease(
  gate: ConcurrencyGate,
  account: string,
  resourceType: string,
  sessionId: string,
  limit: number,
  options: HoldLeaseOptions = {},
): Promise<LeaseResult> {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  checkTtl(ttlMs);
  const result = await gate.acquire(account, resourceType, sessionId, limit, ttlMs);
  if (!result.granted) return result;

  let lost = false;
  let renewing = false;
  let released: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (renewing || released !== null) return; // one renewal in flight at a time
    renewing = true;
    gate.renew(account, resourceType, sessionId, ttlMs).then(
      (live) => {
        renewing = false;
        if (live || released !== null) return;
        lost = true;
        clearInterval(timer);
        options.onLost?.(lease);
      },
      (err: unknown) => {
        renewing = false;
        options.onError?.(err);
      },
    );
  }, Math.max(1, Math.floor(ttlMs / 3)));
  timer.unref();

  const lease: HeldLease = {
    account,
    resourceType,
    sessionId,
    get lost() {
      return lost;
    },
    release() {
      if (released === null) {
        clearInterval(timer);
        released = gate.release(account, resourceType, sessionId).then(
          () => undefined,
          (err: unknown) => options.onError?.(err),
        );
      }
      return released;
    },
  };
  return { ...result, lease };
}
