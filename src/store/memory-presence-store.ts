/** The embedded store's presence records: a map in this process. */
import type { PresenceRecord, SeenStatus } from '../presence/status.js';
import type { PresenceStore } from './presence-store.js';

const key = (accountSid: string, identity: string): string => `${accountSid}\u0000${identity}`;

export class MemoryPresenceStore implements PresenceStore {
  private readonly records = new Map<string, PresenceRecord>();
  private readonly seen = new Map<string, SeenStatus>();

  async get(accountSid: string, identity: string): Promise<PresenceRecord | null> {
    const r = this.records.get(key(accountSid, identity));
    return r === undefined ? null : { ...r };
  }

  async getMany(accountSid: string, identities: readonly string[]): Promise<Map<string, PresenceRecord>> {
    const out = new Map<string, PresenceRecord>();
    for (const id of identities) {
      const r = this.records.get(key(accountSid, id));
      if (r !== undefined) out.set(id, { ...r });
    }
    return out;
  }

  async put(accountSid: string, identity: string, record: PresenceRecord): Promise<void> {
    this.records.set(key(accountSid, identity), { ...record });
  }

  async replaceIfEtag(accountSid: string, identity: string, etag: string, record: PresenceRecord): Promise<boolean> {
    const k = key(accountSid, identity);
    if (this.records.get(k)?.etag !== etag) return false;
    this.records.set(k, { ...record });
    return true;
  }

  async remove(accountSid: string, identity: string): Promise<boolean> {
    return this.records.delete(key(accountSid, identity));
  }

  async swapSeen(accountSid: string, identity: string, seen: SeenStatus): Promise<SeenStatus | null> {
    const k = key(accountSid, identity);
    const before = this.seen.get(k) ?? null;
    if (before === null || before.status !== seen.status) this.seen.set(k, { ...seen });
    return before === null ? null : { ...before };
  }

  async getSeen(accountSid: string, identity: string): Promise<SeenStatus | null> {
    const s = this.seen.get(key(accountSid, identity));
    return s === undefined ? null : { ...s };
  }
}
