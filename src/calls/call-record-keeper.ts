/**
 * The records of one call (its own and its dialed leg's) as the call
 * writes them: each change is put in the store, in order, and while any of
 * them is live a timer renews them every third of their live TTL, as a
 * gate lease is renewed, so a record outlives its call only if the call
 * really ended (CallRecordStore). Writes never throw; failures are logged.
 */
import type { Log } from '../log.js';
import { isLiveStatus, type CallRecord, type CallRecordStore } from '../store/call-record-store.js';

export class CallRecordKeeper {
  private timer: NodeJS.Timeout | null = null;
  private live: CallRecord[] = [];

  constructor(
    private readonly store: CallRecordStore,
    private readonly renewEveryMs: number,
    private readonly log: Log,
  ) {}

  /** Writes these records as they are now; the live ones are renewed until a later save says they ended. */
  save(records: readonly CallRecord[]): void {
    // No copy here: put reads the record before it returns (CallRecordStore).
    for (const r of records) this.store.put(r).catch((err: unknown) => this.log.error({ err, callSid: r.sid }, 'writing a call record failed'));
    this.live = records.filter((r) => isLiveStatus(r.status));
    if (this.live.length === 0) return this.stop();
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.renew(), this.renewEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private renew(): void {
    const first = this.live[0];
    if (first === undefined) return;
    const sids = this.live.map((r) => r.sid);
    this.store.renew(first.accountSid, sids).catch((err: unknown) => this.log.warn({ err, callSids: sids }, 'renewing call records failed'));
  }
}
