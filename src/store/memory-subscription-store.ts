/** The embedded store's presence subscriptions: maps in this process. */
import type { Subscription, SubscriptionStore } from './subscription-store.js';

const presentityKey = (accountSid: string, presentity: string): string => `${accountSid}\u0000${presentity}`;

export class MemorySubscriptionStore implements SubscriptionStore {
  private readonly byId = new Map<string, Subscription>();
  /** Index: watched client → subscription ids. */
  private readonly byPresentity = new Map<string, Set<string>>();

  async get(id: string): Promise<Subscription | null> {
    const s = this.byId.get(id);
    return s === undefined ? null : copy(s);
  }

  async put(subscription: Subscription): Promise<void> {
    const old = this.byId.get(subscription.id);
    if (old !== undefined) this.unindex(old);
    this.byId.set(subscription.id, copy(subscription));
    const k = presentityKey(subscription.accountSid, subscription.presentity);
    let ids = this.byPresentity.get(k);
    if (ids === undefined) this.byPresentity.set(k, (ids = new Set()));
    ids.add(subscription.id);
  }

  async remove(id: string): Promise<boolean> {
    const s = this.byId.get(id);
    if (s === undefined) return false;
    this.byId.delete(id);
    this.unindex(s);
    return true;
  }

  async watching(accountSid: string, presentity: string, now: number): Promise<Subscription[]> {
    const ids = this.byPresentity.get(presentityKey(accountSid, presentity));
    if (ids === undefined) return [];
    const out: Subscription[] = [];
    for (const id of ids) {
      const s = this.byId.get(id);
      if (s !== undefined && s.expiresAt > now) out.push(copy(s));
    }
    return out;
  }

  async byFlow(node: string, flowId: string): Promise<Subscription[]> {
    return [...this.byId.values()].filter((s) => s.node === node && s.flowId === flowId).map(copy);
  }

  async sweep(node: string, now: number): Promise<Subscription[]> {
    const gone: Subscription[] = [];
    for (const s of this.byId.values()) {
      if (s.node === node && s.expiresAt <= now) gone.push(s);
    }
    for (const s of gone) await this.remove(s.id);
    return gone;
  }

  async count(): Promise<number> {
    return this.byId.size;
  }

  private unindex(s: Subscription): void {
    const k = presentityKey(s.accountSid, s.presentity);
    const ids = this.byPresentity.get(k);
    ids?.delete(s.id);
    if (ids?.size === 0) this.byPresentity.delete(k);
  }
}

function copy(s: Subscription): Subscription {
  return { ...s, routeSet: [...s.routeSet] };
}
