/**
 * A gate that tells an observer the outcome of every acquire (metrics:
 * granted, refused, leases found expired) and of every release (a lease
 * removed, or none there: released twice, or expired first), and otherwise
 * passes everything through. Wrapping the gate once, where the server builds
 * it, counts every user alike: REST requests and calls.
 */
import type { AcquireResult, ConcurrencyGate } from './gate.js';

export interface GateObserver {
  acquired(account: string, resourceType: string, result: AcquireResult): void;
  /** `removed`: this release removed a live lease (false: there was none to remove). */
  released(account: string, resourceType: string, removed: boolean): void;
}

export class ObservedGate implements ConcurrencyGate {
  readonly waitForRelease?: (account: string, resourceType: string, maxWaitMs: number) => Promise<void>;

  constructor(
    readonly inner: ConcurrencyGate,
    private readonly observer: GateObserver,
  ) {
    const wait = inner.waitForRelease;
    if (wait !== undefined) this.waitForRelease = (account, resourceType, maxWaitMs) => wait.call(inner, account, resourceType, maxWaitMs);
  }

  async acquire(account: string, resourceType: string, sessionId: string, limit: number, ttlMs?: number): Promise<AcquireResult> {
    const result = await this.inner.acquire(account, resourceType, sessionId, limit, ttlMs);
    this.observer.acquired(account, resourceType, result);
    return result;
  }

  async release(account: string, resourceType: string, sessionId: string): Promise<boolean> {
    const removed = await this.inner.release(account, resourceType, sessionId);
    this.observer.released(account, resourceType, removed);
    return removed;
  }

  renew(account: string, resourceType: string, sessionId: string, ttlMs?: number): Promise<boolean> {
    return this.inner.renew(account, resourceType, sessionId, ttlMs);
  }

  usage(account: string, resourceType: string): Promise<number> {
    return this.inner.usage(account, resourceType);
  }
}
