/**
 * The PresenceStore as the registrar-side writers (REST PUT, SIP PUBLISH) see
 * it: every write that succeeds is reported to the tracker, and a published
 * status with an expiry gets its lapse announced when it comes. Wrapping the
 * store keeps the writers free of presence-change plumbing.
 */
import type { PresenceStore } from '../store/presence-store.js';
import type { PresenceRecord, SeenStatus } from './status.js';
import type { PresenceTracker } from './tracker.js';

export class ObservedPresenceStore implements PresenceStore {
  constructor(
    private readonly inner: PresenceStore,
    private readonly tracker: Pick<PresenceTracker, 'changed' | 'lapseAt'>,
  ) {}

  get(accountSid: string, identity: string): Promise<PresenceRecord | null> {
    return this.inner.get(accountSid, identity);
  }

  getMany(accountSid: string, identities: readonly string[]): Promise<Map<string, PresenceRecord>> {
    return this.inner.getMany(accountSid, identities);
  }

  async put(accountSid: string, identity: string, record: PresenceRecord): Promise<void> {
    await this.inner.put(accountSid, identity, record);
    this.written(accountSid, identity, record);
  }

  async replaceIfEtag(accountSid: string, identity: string, etag: string, record: PresenceRecord): Promise<boolean> {
    const done = await this.inner.replaceIfEtag(accountSid, identity, etag, record);
    if (done) this.written(accountSid, identity, record);
    return done;
  }

  async remove(accountSid: string, identity: string): Promise<boolean> {
    const done = await this.inner.remove(accountSid, identity);
    if (done) this.tracker.changed(accountSid, identity);
    return done;
  }

  swapSeen(accountSid: string, identity: string, seen: SeenStatus): Promise<SeenStatus | null> {
    return this.inner.swapSeen(accountSid, identity, seen);
  }

  getSeen(accountSid: string, identity: string): Promise<SeenStatus | null> {
    return this.inner.getSeen(accountSid, identity);
  }

  private written(accountSid: string, identity: string, record: PresenceRecord): void {
    this.tracker.changed(accountSid, identity);
    if (record.expiresAt !== null) this.tracker.lapseAt(accountSid, identity, record.expiresAt);
  }
}
