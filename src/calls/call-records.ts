/**
 * Call records (CONTRACT §6 `…/Calls`): one per call and one per dialed leg
 * (its parent is the call), written as the call goes and kept after it ends.
 * Behind an interface like every store: memory here; the cluster keeps them
 * in Redis (store/redis-call-records.ts).
 */
export const CALL_STATUSES = ['queued', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled'] as const;
export type CallRecordStatus = (typeof CALL_STATUSES)[number];

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

export interface CallRecordStore {
  put(record: CallRecord): Promise<void>;
  get(accountSid: string, sid: string): Promise<CallRecord | null>;
  /** Newest first, at most `limit`; `status` filters. */
  list(accountSid: string, options: { status?: CallRecordStatus; limit: number }): Promise<CallRecord[]>;
}

/** The embedded store: the newest `capacity` records per process (older ones are forgotten). */
export class MemoryCallRecordStore implements CallRecordStore {
  private readonly records = new Map<string, CallRecord>();

  constructor(private readonly capacity = 10_000) {}

  async put(record: CallRecord): Promise<void> {
    const k = `${record.accountSid}:${record.sid}`;
    this.records.delete(k);
    this.records.set(k, { ...record });
    if (this.records.size > this.capacity) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }

  async get(accountSid: string, sid: string): Promise<CallRecord | null> {
    const r = this.records.get(`${accountSid}:${sid}`);
    return r === undefined ? null : { ...r };
  }

  async list(accountSid: string, options: { status?: CallRecordStatus; limit: number }): Promise<CallRecord[]> {
    const out: CallRecord[] = [];
    for (const r of [...this.records.values()].reverse()) {
      if (r.accountSid !== accountSid) continue;
      if (options.status !== undefined && r.status !== options.status) continue;
      out.push({ ...r });
      if (out.length >= options.limit) break;
    }
    return out;
  }
}
