/**
 * Brake on password guessing (RFC 7616 §5.1 and RFC 3261 §26.3.2.4 leave
 * the defence against online guessing to the server): failed attempts are
 * counted per key in a sliding window, and a key with too many is blocked
 * until its oldest counted failure leaves the window.
 *
 * Keys are the caller's choice; the registrar counts the source address and,
 * separately, the username (e.g. `ip:192.0.2.1` and `user:bob@acme`).
 */

export interface AuthThrottleOptions {
  /** failures within the window that block the key; default 20. */
  maxFailures?: number;
  /** length of the sliding window; default 60 s. */
  windowSeconds?: number;
  /** most keys remembered; default 100 000. */
  maxKeys?: number;
  /** clock in ms; default Date.now. */
  now?: () => number;
}

export class AuthThrottle {
  /** key -> failure times (ms), oldest first, at most maxFailures; map order = last failure. */
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(opts: AuthThrottleOptions = {}) {
    this.maxFailures = positiveInt(opts.maxFailures ?? 20, 'maxFailures');
    this.windowMs = positiveNumber(opts.windowSeconds ?? 60, 'windowSeconds') * 1000;
    this.maxKeys = positiveInt(opts.maxKeys ?? 100_000, 'maxKeys');
    this.now = opts.now ?? Date.now;
  }

  /** Number of keys currently remembered. */
  get size(): number {
    return this.failures.size;
  }

  /** Failures of `key` still inside the window. */
  count(key: string): number {
    return this.recent(key, this.now())?.length ?? 0;
  }

  isBlocked(key: string): boolean {
    return this.count(key) >= this.maxFailures;
  }

  /** Counts one failed attempt for `key`. */
  fail(key: string): void {
    const now = this.now();
    const times = this.recent(key, now) ?? [];
    times.push(now);
    if (times.length > this.maxFailures) times.shift();
    // Re-insert so that map order is the order of last failures.
    this.failures.delete(key);
    this.makeRoom(now);
    this.failures.set(key, times);
  }

  /** A successful attempt forgets the key's failures. */
  succeed(key: string): void {
    this.failures.delete(key);
  }

  /** The key's failure times inside the window (pruned in place), or null when none. */
  private recent(key: string, now: number): number[] | null {
    const times = this.failures.get(key);
    if (times === undefined) return null;
    while (times.length > 0 && this.outside(times[0] as number, now)) times.shift();
    if (times.length === 0) {
      this.failures.delete(key);
      return null;
    }
    return times;
  }

  private outside(time: number, now: number): boolean {
    return now - time >= this.windowMs;
  }

  /**
   * Keeps the map under maxKeys. The front holds the keys whose last failure
   * is oldest, so keys with nothing left in the window are dropped from there;
   * if all are live, the oldest is forgotten.
   */
  private makeRoom(now: number): void {
    for (const [key, times] of this.failures) {
      const last = times[times.length - 1];
      const stale = last === undefined || this.outside(last, now);
      if (!stale && this.failures.size < this.maxKeys) break;
      this.failures.delete(key);
    }
  }
}

function positiveInt(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer`);
  return n;
}

function positiveNumber(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number`);
  return n;
}
