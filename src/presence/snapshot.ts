/**
 * A client's presence read from the stores at one moment: its bindings, the
 * explicit status it set, its calls, and the effective status they give
 * (status.ts). NOTIFY bodies, the presence callback and REST all start here.
 */
import type { Binding, BindingStore } from '../store/binding-store.js';
import type { PresenceStore } from '../store/presence-store.js';
import { effectiveStatus, type PresenceRecord, type PresenceStatus } from './status.js';

export interface PresenceSources {
  bindings: BindingStore;
  presence: PresenceStore;
  /** Calls the client is in (the call engine fills this in, cluster-wide); 0 without one. */
  activeCalls?: (accountSid: string, identity: string) => number | Promise<number>;
}

export interface PresenceSnapshot {
  accountSid: string;
  identity: string;
  status: PresenceStatus;
  bindings: Binding[];
  record: PresenceRecord | null;
  activeCalls: number;
  at: number;
}

export async function readPresence(src: PresenceSources, accountSid: string, identity: string, now: number): Promise<PresenceSnapshot> {
  const [bindings, record, activeCalls] = await Promise.all([src.bindings.list(accountSid, identity, now), src.presence.get(accountSid, identity), src.activeCalls?.(accountSid, identity) ?? 0]);
  return { accountSid, identity, status: effectiveStatus(record, bindings, activeCalls, now), bindings, record, activeCalls, at: now };
}
