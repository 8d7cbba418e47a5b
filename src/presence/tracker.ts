/**
 * Where presence changes start. Every write that may change a client's
 * presence (a binding added or removed, a status set, a published status
 * lapsing, a call beginning or ending) calls `changed` on the node where it
 * happened, which
 *
 *   1. announces it to every node (PresenceChanges), whose watchers get a
 *      NOTIFY if what they see changed (subscriptions.ts), and
 *   2. records the effective status it now reads (PresenceStore.swapSeen):
 *      when that differs from the last one recorded, the status really
 *      changed — the client's `lastChange` moves and the account's
 *      `presenceCallback` gets one POST.
 *
 * Observations of one client on this node are serialized, so they are
 * recorded in the order they were read. Two nodes observing one client at
 * the same instant may still record in the other order; the next change
 * corrects it, and NOTIFYs never depend on it (they are built from the store).
 */
import type { AccountConfig } from '../config/schema.js';
import type { Log } from '../log.js';
import type { PresenceChanges } from './changes.js';
import { readPresence, type PresenceSnapshot, type PresenceSources } from './snapshot.js';
import type { SeenStatus } from './status.js';

/** A status transition, as the presence callback reports it. */
export interface PresenceTransition {
  account: AccountConfig;
  snapshot: PresenceSnapshot;
  previous: SeenStatus | null;
}

export interface PresenceTrackerOptions {
  accounts: readonly AccountConfig[];
  sources: PresenceSources;
  changes: PresenceChanges;
  log: Log;
  now?: () => number;
  /** Called once per real transition of a client's effective status (the presence callback). */
  transition?: (t: PresenceTransition) => void;
}

export class PresenceTracker {
  private readonly now: () => number;
  private readonly accounts: Map<string, AccountConfig>;
  /** Per client: the observation in progress (later ones chain on it). */
  private readonly pending = new Map<string, Promise<void>>();
  /** Published statuses that lapse: a timer per client announces the lapse. */
  private readonly lapses = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly o: PresenceTrackerOptions) {
    this.now = o.now ?? Date.now;
    this.accounts = new Map(o.accounts.map((a) => [a.sid, a]));
  }

  changed(accountSid: string, identity: string): void {
    if (this.closed) return;
    this.o.changes.announce({ accountSid, identity });
    const k = `${accountSid}\u0000${identity}`;
    const next = (this.pending.get(k) ?? Promise.resolve())
      .then(() => this.observe(accountSid, identity))
      .catch((err: unknown) => this.o.log.error({ err, accountSid, identity }, 'observing a presence change failed'))
      .finally(() => {
        if (this.pending.get(k) === next) this.pending.delete(k);
      });
    this.pending.set(k, next);
  }

  /** A published status lapses at `at` (ms): announce it then (status.ts `explicitAt`). */
  lapseAt(accountSid: string, identity: string, at: number): void {
    if (this.closed) return;
    const k = `${accountSid}\u0000${identity}`;
    clearTimeout(this.lapses.get(k));
    const timer = setTimeout(
      () => {
        this.lapses.delete(k);
        this.changed(accountSid, identity);
      },
      Math.max(0, at - this.now()) + 5,
    );
    timer.unref();
    this.lapses.set(k, timer);
  }

  /** Resolves once every observation started so far is recorded (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()]);
  }

  close(): void {
    this.closed = true;
    for (const t of this.lapses.values()) clearTimeout(t);
    this.lapses.clear();
  }

  private async observe(accountSid: string, identity: string): Promise<void> {
    const now = this.now();
    const snapshot = await readPresence(this.o.sources, accountSid, identity, now);
    const previous = await this.o.sources.presence.swapSeen(accountSid, identity, { status: snapshot.status, at: now });
    // A client never seen before that is offline has not changed (a REST PUT for an unregistered client).
    if (previous === null ? snapshot.status === 'offline' : previous.status === snapshot.status) return;
    const account = this.accounts.get(accountSid);
    if (account !== undefined) this.o.transition?.({ account, snapshot, previous });
  }
}
