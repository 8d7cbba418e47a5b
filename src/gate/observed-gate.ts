/**
 * A gate that tells an observer the outcome of every acquire (metrics:
 * granted, refused, leases found expired), and otherwise passes everything
 * through. Wrapping the gate once, where the server builds it, counts every
 * user alike: REST requests now, calls later.
 */
import type { AcquireResult, ConcurrencyGate } from './gate.js';

export interface GateObserver {
  acquired(account: string, resourceType: string, result: AcquireResult): void;
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

  release(account: string, resourceType: string, sessionId: string): Promise<boolean> {
    return this.inner.release(account, resourceType, sessionId);
  }

  renew(account: string, resourceType: string, sessionId: string, ttlMs?: number): Promise<boolean> {
    return this.inner.renew(account, resourceType, sessionId, ttlMs);
  }

  usage(account: string, resourceType: string): Promise<number> {
    return this.inner.usage(account, resourceType);
  }
}
