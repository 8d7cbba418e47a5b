/**
 * Explicit presence statuses (src/presence/status.ts), one record per
 * (account, identity). Asynchronous like the BindingStore: the Redis store
 * sits behind the same interface.
 */
import type { PresenceRecord, SeenStatus } from '../presence/status.js';

export interface PresenceStore {
  get(accountSid: string, identity: string): Promise<PresenceRecord | null>;
  /** The records of several identities of one account; those without one are absent from the map. */
  getMany(accountSid: string, identities: readonly string[]): Promise<Map<string, PresenceRecord>>;
  /** Inserts or replaces the record. */
  put(accountSid: string, identity: string, record: PresenceRecord): Promise<void>;
  /**
   * Replaces the record only if the current one carries entity tag `etag`
   * (RFC 3903 SIP-If-Match); false, and nothing written, otherwise.
   */
  replaceIfEtag(accountSid: string, identity: string, etag: string, record: PresenceRecord): Promise<boolean>;
  /** Removes the record; true when there was one. */
  remove(accountSid: string, identity: string): Promise<boolean>;
  /**
   * The effective status last observed for a client (presence tracker):
   * records `seen` unless the status is the same as the one held, and returns
   * what was held before (null: nothing yet). Atomic, so that of several nodes
   * observing one change exactly one sees the transition.
   */
  swapSeen(accountSid: string, identity: string, seen: SeenStatus): Promise<SeenStatus | null>;
  getSeen(accountSid: string, identity: string): Promise<SeenStatus | null>;
}
