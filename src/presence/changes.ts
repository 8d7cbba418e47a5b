/**
 * "Something about this client's presence may have changed": a binding came
 * or went, its explicit status was set, a call began or ended. Watchers'
 * NOTIFYs (subscriptions.ts) are driven by these, on every node: in cluster
 * mode the change happens on one node and the watcher's connection may be
 * held by another, so the Redis implementation (store/redis-presence-changes.ts)
 * broadcasts them over pub/sub.
 *
 * A change carries no status: each receiver reads the current presence from
 * the store, so a late or duplicated announcement never shows a stale state.
 */
export interface PresenceChange {
  accountSid: string;
  identity: string;
}

export type PresenceChangeListener = (change: PresenceChange) => void;

export interface PresenceChanges {
  /** Announces a change to every node (this one included). */
  announce(change: PresenceChange): void;
  listen(listener: PresenceChangeListener): void;
  close(): Promise<void>;
}

/** One process: listeners run on a later tick, never inside the writer's call. */
export class LocalPresenceChanges implements PresenceChanges {
  private readonly listeners: PresenceChangeListener[] = [];

  announce(change: PresenceChange): void {
    if (this.listeners.length === 0) return;
    queueMicrotask(() => {
      for (const l of this.listeners) l(change);
    });
  }

  listen(listener: PresenceChangeListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.listeners.length = 0;
  }
}
