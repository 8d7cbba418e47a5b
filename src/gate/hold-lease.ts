/**
 * Holding a slot for as long as a session lives: acquire, then renew the
 * lease every TTL/3 until `release()`. Two missed renewals still leave the
 * lease alive (a slow event loop, a Redis hiccup); a crashed process stops
 * renewing and its slot comes back within one TTL.
 *
 * The timer (one for all the leases of a gate with the same TTL) is unref'd:
 * a held lease never keeps a process alive by itself.
 * `release()` is idempotent and never rejects: if the gate cannot be reached
 * the lease simply expires (the error goes to `onError`).
 */
import { Ticker } from '../core/ticker.js';
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
  const renewals = renewalsOf(gate, ttlMs);
  const lease = new Lease(gate, renewals, account, resourceType, sessionId, ttlMs, options);
  renewals.add(lease);
  return { ...result, lease };
}

/** The leases a gate holds with one TTL, renewed together every TTL/3 by one timer (core/ticker.ts). */
const renewals = new WeakMap<ConcurrencyGate, Map<number, Ticker<Lease>>>();

function renewalsOf(gate: ConcurrencyGate, ttlMs: number): Ticker<Lease> {
  let byTtl = renewals.get(gate);
  if (byTtl === undefined) renewals.set(gate, (byTtl = new Map()));
  let r = byTtl.get(ttlMs);
  if (r === undefined) byTtl.set(ttlMs, (r = new Ticker(Math.max(1, Math.floor(ttlMs / 3)), (lease) => lease.renew())));
  return r;
}

class Lease implements HeldLease {
  lost = false;
  private renewing = false;
  private released: Promise<void> | null = null;

  constructor(
    private readonly gate: ConcurrencyGate,
    private readonly renewals: Ticker<Lease>,
    readonly account: string,
    readonly resourceType: string,
    readonly sessionId: string,
    private readonly ttlMs: number,
    private readonly options: HoldLeaseOptions,
  ) {}

  /** One renewal in flight at a time; a lease found gone is lost and renewed no more. */
  renew(): void {
    if (this.renewing || this.released !== null) return;
    this.renewing = true;
    this.gate.renew(this.account, this.resourceType, this.sessionId, this.ttlMs).then(
      (live) => {
        this.renewing = false;
        if (live || this.released !== null) return;
        this.lost = true;
        this.renewals.delete(this);
        this.options.onLost?.(this);
      },
      (err: unknown) => {
        this.renewing = false;
        this.options.onError?.(err);
      },
    );
  }

  release(): Promise<void> {
    if (this.released === null) {
      this.renewals.delete(this);
      this.released = this.gate.release(this.account, this.resourceType, this.sessionId).then(
        () => undefined,
        (err: unknown) => this.options.onError?.(err),
      );
    }
    return this.released;
  }
}
