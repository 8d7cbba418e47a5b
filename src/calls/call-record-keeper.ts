/**
 * The records of one call (its own and its dialed leg's) as the call
 * writes them: each change is put in the store, in order, and while any of
 * them is live they are renewed every third of their live TTL, as a gate
 * lease is renewed, so a record outlives its call only if the call really
 * ended (CallRecordStore). One ticker (core/ticker.ts) renews the records of
 * every call of an engine. Writes never throw; failures are logged.
 */
import { Ticker } from '../core/ticker.js';
import type { Log } from '../log.js';
import { isLiveStatus, type CallRecord, type CallRecordStore } from '../store/call-record-store.js';

/** The ticker that renews the live records of every keeper made with it. */
export function recordRenewals(renewEveryMs: number): Ticker<CallRecordKeeper> {
  return new Ticker(renewEveryMs, (keeper) => keeper.renew());
}

export class CallRecordKeeper {
  /** In the ticker: some record is live. */
  private ticking = false;
  private live: CallRecord[] = [];

  constructor(
    private readonly store: CallRecordStore,
    private readonly renewals: Ticker<CallRecordKeeper>,
    private readonly log: Log,
  ) {}

  /** Writes these records as they are now; the live ones are renewed until a later save says they ended. */
  save(records: readonly CallRecord[]): void {
    // No copy here: put reads the record before it returns (CallRecordStore).
    for (const r of records) this.store.put(r).catch((err: unknown) => this.log.error({ err, callSid: r.sid }, 'writing a call record failed'));
    this.live = records.filter((r) => isLiveStatus(r.status));
    if (this.live.length === 0) return this.stop();
    if (this.ticking) return;
    this.ticking = true;
    this.renewals.add(this);
  }

  stop(): void {
    if (!this.ticking) return;
    this.ticking = false;
    this.renewals.delete(this);
  }

  /** Renews the live records (the ticker calls it). */
  renew(): void {
    const first = this.live[0];
    if (first === undefined) return;
    const sids = this.live.map((r) => r.sid);
    this.store.renew(first.accountSid, sids).catch((err: unknown) => this.log.warn({ err, callSids: sids }, 'renewing call records failed'));
  }
}
