/**
 * Registration bindings (RFC 3261 §10, RFC 5626): what the registrar writes
 * and what routing and presence read. Asynchronous because the Redis store
 * (cluster mode) will sit behind the same interface.
 */
import type { Address, Protocol } from '../transport/types.js';

export interface Binding {
  accountSid: string;
  identity: string;
  /** Identity of the binding within its AOR: `+sip.instance` and reg-id (RFC 5626 §6), else the Contact URI. */
  key: string;
  /** The Contact URI as the client sent it. */
  contactUri: string;
  /** Header parameters of the Contact other than expires (reg-id, +sip.instance, +sip.ice…), as written. */
  contactParams: string;
  instanceId: string | null;
  regId: number | null;
  callId: string;
  cseq: number;
  /** When the binding ends, ms since the epoch. */
  expiresAt: number;
  /** The flow the REGISTER came on: requests for a `.invalid` contact go back over it. */
  flowId: string;
  transport: Protocol;
  source: Address;
  userAgent: string | null;
  /** Path header values (RFC 3327), top first. */
  path: string[];
  /** Node holding the flow (cluster routing). */
  node: string;
}

export interface BindingStore {
  /** Current (unexpired) bindings of an AOR. */
  list(accountSid: string, identity: string, now: number): Promise<Binding[]>;
  /** Inserts or replaces the binding with the same account, identity and key. */
  put(binding: Binding): Promise<void>;
  /** Removes one binding; true when it existed. */
  remove(accountSid: string, identity: string, key: string): Promise<boolean>;
  /** Removes every binding of an AOR (`Contact: *`); how many there were. */
  removeAll(accountSid: string, identity: string): Promise<number>;
  /** Removes the bindings that used a flow which has closed; returns them. */
  removeByFlow(node: string, flowId: string): Promise<Binding[]>;
  /** Removes the bindings expired at `now`; returns them. */
  sweep(now: number): Promise<Binding[]>;
  /** Identities of an account with at least one unexpired binding. */
  identities(accountSid: string, now: number): Promise<string[]>;
  /** Number of bindings held (for /v1/Node and metrics). */
  count(): Promise<number>;
}
