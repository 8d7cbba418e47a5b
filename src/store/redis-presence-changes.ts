/**
 * Presence changes broadcast to every node over Redis pub/sub (one channel
 * per prefix). Pub/sub is fire-and-forget: a node that is disconnected at
 * that moment misses the announcement, and its watchers see the change with
 * the next one or at their next refresh. The alternative, a stream every
 * node reads, would keep state for nodes that died; watchers of presence
 * tolerate a missed intermediate state, not a wrong final one, and every
 * NOTIFY is built from the store, not from the announcement.
 */
import type { PresenceChange, PresenceChangeListener, PresenceChanges } from '../presence/changes.js';
import type { RedisClient } from './redis-client.js';

export class RedisPresenceChanges implements PresenceChanges {
  private readonly listeners: PresenceChangeListener[] = [];
  private readonly channel: string;
  private subscriber: RedisClient | null = null;

  private constructor(
    private readonly client: RedisClient,
    prefix: string,
    private readonly onError: (err: Error) => void,
  ) {
    this.channel = `${prefix}presence-changes`;
  }

  /** Opens the subscriber connection (a subscribed Redis connection can do nothing else). */
  static async open(client: RedisClient, options: { prefix?: string; onError?: (err: Error) => void } = {}): Promise<RedisPresenceChanges> {
    const changes = new RedisPresenceChanges(client, options.prefix ?? 'herald:', options.onError ?? (() => {}));
    const sub = client.duplicate();
    sub.on('error', (err: Error) => changes.onError(err));
    await sub.connect();
    await sub.subscribe(changes.channel, (message: string) => changes.deliver(message));
    changes.subscriber = sub as RedisClient;
    return changes;
  }

  announce(change: PresenceChange): void {
    const message = JSON.stringify([change.accountSid, change.identity]);
    this.client.sendCommand(['PUBLISH', this.channel, message]).catch((err: unknown) => this.onError(err instanceof Error ? err : new Error(String(err))));
  }

  listen(listener: PresenceChangeListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.listeners.length = 0;
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub !== null) await sub.close();
  }

  private deliver(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') return;
    const change: PresenceChange = { accountSid: parsed[0], identity: parsed[1] };
    for (const l of this.listeners) l(change);
  }
}
