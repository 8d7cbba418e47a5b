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

/**
 * Conditions a REGISTER's write must still meet when it happens (RFC 3261
 * §10.3 steps 7 and 8 read, then write; another REGISTER of the same AOR, on
 * this node or another, may have written in between).
 */
export interface PutGuard {
  /** A new key is refused when the AOR already has this many bindings unexpired at `now`. */
  maxBindings: number;
  now: number;
}

/** `stale`: the stored binding of this key has the same Call-ID and a CSeq not lower (§10.3 step 7); `full`: over maxBindings. */
export type PutOutcome = 'stored' | 'stale' | 'full';

export interface BindingStore {
  /** Current (unexpired) bindings of an AOR. */
  list(accountSid: string, identity: string, now: number): Promise<Binding[]>;
  /**
   * Inserts or replaces the binding with the same account, identity and key;
   * with a guard, atomically only when the guard still holds.
   */
  put(binding: Binding, guard?: PutGuard): Promise<PutOutcome>;
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
