/**
 * Presence status (CONTRACT §4). A client sets an explicit status —
 * `available`, `away` or `dnd` — by REST (`PUT …/Presence`) or SIP PUBLISH;
 * what others see is the effective status:
 *
 *   offline    the client has no binding (whatever it set)
 *   busy       it has a binding and activeCalls > 0 (always 0 until the call engine)
 *   otherwise  its explicit status; `available` when it set none, or when the
 *              PUBLISH that set it has expired
 *
 * `lastChange` covers the changes of the explicit status only: the last PUT
 * or PUBLISH (including a PUBLISH removal), or the moment a PUBLISH expired.
 * Bindings carry no registration time, so going online or offline is not
 * observed; a client that never set a status has no `lastChange` (null).
 */
import type { Binding } from '../store/binding-store.js';

export const EXPLICIT_STATUSES = ['available', 'away', 'dnd'] as const;
export type ExplicitStatus = (typeof EXPLICIT_STATUSES)[number];

export const PRESENCE_STATUSES = ['available', 'busy', 'away', 'dnd', 'offline'] as const;
export type PresenceStatus = (typeof PRESENCE_STATUSES)[number];

/** What a PresenceStore holds per (account, identity). */
export interface PresenceRecord {
  status: ExplicitStatus;
  /** When the status was set, ms since the epoch. */
  changedAt: number;
  /** RFC 3903 entity tag when the status came from PUBLISH, else null. */
  etag: string | null;
  /** When a published status lapses back to `available` (ms); null for a REST status, which lasts. */
  expiresAt: number | null;
}

/** An effective status and when it began (ms since the epoch). */
export interface SeenStatus {
  status: PresenceStatus;
  at: number;
}

export function isExplicitStatus(s: unknown): s is ExplicitStatus {
  return typeof s === 'string' && (EXPLICIT_STATUSES as readonly string[]).includes(s);
}

/** The explicit status in force at `now` and when it became so (null: never set). */
export function explicitAt(record: PresenceRecord | null, now: number): { status: ExplicitStatus; changedAt: number | null } {
  if (record === null) return { status: 'available', changedAt: null };
  if (record.expiresAt !== null && record.expiresAt <= now) return { status: 'available', changedAt: record.expiresAt };
  return { status: record.status, changedAt: record.changedAt };
}

export function effectiveStatus(record: PresenceRecord | null, bindings: readonly Binding[], activeCalls: number, now: number): PresenceStatus {
  if (bindings.length === 0) return 'offline';
  if (activeCalls > 0) return 'busy';
  return explicitAt(record, now).status;
}
