/**
 * The embedded store's call records: a map in this process, bounded twice —
 * by the lifetimes of call-record-store.ts and by a count (the oldest
 * written go first), so a busy node's memory stays flat.
 */
import {
  DEFAULT_CALL_RECORD_LIFETIMES,
  isLiveStatus,
  type CallRecord,
  type CallRecordLifetimes,
  type CallRecordStore,
  type ListOptions,
} from './call-record-store.js';

interface Entry {
  record: CallRecord;
  expiresAt: number;
}

export interface MemoryCallRecordStoreOptions extends Partial<CallRecordLifetimes> {
  /** Most records held. Default 10,000. */
  capacity?: number;
  now?: () => number;
}

/** Expired entries are dropped at most this often (a full scan), and never read meanwhile. */
const PRUNE_EVERY_MS = 1000;

export class MemoryCallRecordStore implements CallRecordStore {
  private readonly entries = new Map<string, Entry>();
  private readonly lifetimes: CallRecordLifetimes;
  private readonly capacity: number;
  private readonly now: () => number;
  private nextPrune = 0;

  constructor(options: MemoryCallRecordStoreOptions = {}) {
    this.lifetimes = { ...DEFAULT_CALL_RECORD_LIFETIMES, ...definedOnly(options) };
    this.capacity = options.capacity ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  async put(record: CallRecord): Promise<void> {
    const now = this.now();
    this.prune(now);
    const ttl = isLiveStatus(record.status) ? this.lifetimes.liveTtlMs : this.lifetimes.retentionMs;
    // Replacing keeps the first write's place, so the capacity bound drops the oldest calls first.
    this.entries.set(keyOf(record.accountSid, record.sid), { record: { ...record }, expiresAt: now + ttl });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  async renew(accountSid: string, sids: readonly string[]): Promise<void> {
    const now = this.now();
    for (const sid of sids) {
      const e = this.live(keyOf(accountSid, sid), now);
      if (e !== null && isLiveStatus(e.record.status)) e.expiresAt = now + this.lifetimes.liveTtlMs;
    }
  }

  async get(accountSid: string, sid: string): Promise<CallRecord | null> {
    const e = this.live(keyOf(accountSid, sid), this.now());
    return e === null ? null : { ...e.record };
  }

  async list(accountSid: string, options: ListOptions): Promise<CallRecord[]> {
    const now = this.now();
    const out: CallRecord[] = [];
    for (const e of this.entries.values()) {
      if (e.expiresAt <= now || e.record.accountSid !== accountSid) continue;
      if (options.status !== undefined && e.record.status !== options.status) continue;
      out.push({ ...e.record });
    }
    return out.sort(newestFirst).slice(0, options.limit);
  }

  private live(key: string, now: number): Entry | null {
    const e = this.entries.get(key);
    if (e === undefined) return null;
    if (e.expiresAt > now) return e;
    this.entries.delete(key);
    return null;
  }

  private prune(now: number): void {
    if (now < this.nextPrune) return;
    this.nextPrune = now + PRUNE_EVERY_MS;
    for (const [key, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(key);
  }
}

function keyOf(accountSid: string, sid: string): string {
  return `${accountSid}\u0000${sid}`;
}

/** The order both stores list in: start time, then sid, descending. */
function newestFirst(a: CallRecord, b: CallRecord): number {
  const byStart = Date.parse(b.startTime) - Date.parse(a.startTime);
  if (byStart !== 0) return byStart;
  return a.sid < b.sid ? 1 : a.sid > b.sid ? -1 : 0;
}

function definedOnly(o: Partial<CallRecordLifetimes>): Partial<CallRecordLifetimes> {
  return {
    ...(o.liveTtlMs !== undefined ? { liveTtlMs: o.liveTtlMs } : {}),
    ...(o.retentionMs !== undefined ? { retentionMs: o.retentionMs } : {}),
  };
}
