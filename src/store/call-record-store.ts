/**
 * Call records (CONTRACT §6 `…/Calls`): one per call and one per dialed leg
 * (its parent is the call), written as the call goes. Behind an interface
 * like every store, so that in cluster mode any node serves any node's calls
 * (memory-call-record-store.ts, redis-call-record-store.ts).
 *
 * Nothing lingers: a live record (queued, ringing, in-progress) expires
 * `liveTtlMs` after its latest write or renewal — its call renews it while
 * it lasts, like a gate lease, so the record of a call whose node crashed
 * goes by itself — and a finished one is kept `retentionMs`.
 */
export const CALL_STATUSES = ['queued', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled'] as const;
export type CallRecordStatus = (typeof CALL_STATUSES)[number];

/** Statuses of a call that has not ended: its record needs renewing. */
export const LIVE_CALL_STATUSES: readonly CallRecordStatus[] = ['queued', 'ringing', 'in-progress'];

export function isLiveStatus(status: CallRecordStatus): boolean {
  return LIVE_CALL_STATUSES.includes(status);
}

export interface CallRecord {
  sid: string;
  accountSid: string;
  /** For a dialed leg: the call it belongs to. */
  parentCallSid: string | null;
  from: string;
  to: string;
  direction: 'inbound' | 'outbound-dial';
  status: CallRecordStatus;
  /** ISO times; null until they happen. */
  startTime: string;
  answerTime: string | null;
  endTime: string | null;
  /** Seconds from answer to end (0 when never answered). */
  duration: number | null;
  /** Why it ended: `caller-hangup`, `callee-hangup`, `busy`, `no-answer`, `canceled`, `time-limit`, `application-error`, … */
  endReason: string | null;
  node: string;
}

export interface CallRecordLifetimes {
  /** How long a live record lasts without a renewal, ms. */
  liveTtlMs: number;
  /** How long a finished record is kept, ms. */
  retentionMs: number;
}

export const DEFAULT_CALL_RECORD_LIFETIMES: CallRecordLifetimes = { liveTtlMs: 30_000, retentionMs: 86_400_000 };

export interface ListOptions {
  status?: CallRecordStatus;
  limit: number;
}

export interface CallRecordStore {
  /**
   * Inserts or replaces the record (same account and sid); its lifetime starts
   * again, by its status. The record is read (copied or serialized) before
   * `put` returns: the caller may go on changing its object.
   */
  put(record: CallRecord): Promise<void>;
  /** Extends the live ones of these records by `liveTtlMs` (their call still runs); finished or missing ones are left alone. */
  renew(accountSid: string, sids: readonly string[]): Promise<void>;
  get(accountSid: string, sid: string): Promise<CallRecord | null>;
  /** Newest start first (ties: greater sid first), at most `limit`; `status` filters. */
  list(accountSid: string, options: ListOptions): Promise<CallRecord[]>;
}
