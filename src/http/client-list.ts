/**
 * The account's present clients with their effective presence status, for the
 * REST `…/Clients` list and the demo page. Only clients with a binding are
 * known: an offline one is not enumerable.
 */
import { effectiveStatus, type PresenceStatus } from '../presence/status.js';
import type { BindingStore } from '../store/binding-store.js';
import type { PresenceStore } from '../store/presence-store.js';

export interface ClientListDeps {
  bindings: BindingStore;
  presence: PresenceStore;
  /** ms since the epoch */
  now: () => number;
  /** Calls a client is in (presence `busy`, cluster-wide); 0 when absent. */
  activeCalls?: (accountSid: string, identity: string) => number | Promise<number>;
}

export interface ClientEntry {
  identity: string;
  status: PresenceStatus;
  devices: number;
}

/** Sorted by identity; a client whose bindings expired between the reads is left out (it is offline). */
export async function listClients(deps: ClientListDeps, accountSid: string, now: number): Promise<ClientEntry[]> {
  const identities = [...(await deps.bindings.identities(accountSid, now))].sort();
  const records = await deps.presence.getMany(accountSid, identities);
  const clients: ClientEntry[] = [];
  for (const identity of identities) {
    const bindings = await deps.bindings.list(accountSid, identity, now);
    const status = effectiveStatus(records.get(identity) ?? null, bindings, (await deps.activeCalls?.(accountSid, identity)) ?? 0, now);
    if (status !== 'offline') clients.push({ identity, status, devices: bindings.length });
  }
  return clients;
}
