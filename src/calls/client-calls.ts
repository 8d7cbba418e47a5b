/**
 * Which clients are in calls, cluster-wide (presence `busy`, CONTRACT §4):
 * a client in call X holds a lease of the gate's resource type
 * `client:<identity>` under session id X, renewed while the call lives
 * (`holdLease`); its number of calls is the number of live leases. With
 * Redis the leases are the cluster's, so a client in a call on one node is
 * busy on every node, and a crashed node's leases expire within one TTL.
 *
 * These leases have no real limit, and the gate given here is the one
 * without metrics (per-client series would be unbounded).
 */
import type { ConcurrencyGate } from '../gate/gate.js';
import { holdLease, type HeldLease } from '../gate/hold-lease.js';
import type { Log } from '../log.js';

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

function resourceType(identity: string): string {
  return `client:${identity}`;
}

export class ClientCalls {
  /** Leases being taken or held, by call and client; a leave waits for its enter. */
  private readonly held = new Map<string, Promise<HeldLease | null>>();

  constructor(
    private readonly gate: ConcurrencyGate,
    private readonly ttlMs: number,
    private readonly log: Log,
  ) {}

  /** `identity` is in call `callSid` from now; resolves once the cluster sees it. */
  async enter(accountSid: string, identity: string, callSid: string): Promise<void> {
    const key = `${callSid}\u0000${accountSid}\u0000${identity}`;
    if (this.held.has(key)) return;
    const taking = holdLease(this.gate, accountSid, resourceType(identity), callSid, NO_LIMIT, {
      ttlMs: this.ttlMs,
      onError: (err) => this.log.warn({ err, identity, callSid }, 'renewing a client-in-call lease failed'),
    }).then(
      (r) => (r.granted ? r.lease : null),
      (err: unknown) => {
        this.log.error({ err, identity, callSid }, 'recording a client in a call failed');
        return null;
      },
    );
    this.held.set(key, taking);
    await taking;
  }

  /** `identity` left call `callSid`; resolves once the cluster sees it. */
  async leave(accountSid: string, identity: string, callSid: string): Promise<void> {
    const key = `${callSid}\u0000${accountSid}\u0000${identity}`;
    const taking = this.held.get(key);
    if (taking === undefined) return;
    this.held.delete(key);
    await (await taking)?.release();
  }

  /** Calls `identity` is in, on every node. */
  count(accountSid: string, identity: string): Promise<number> {
    return this.gate.usage(accountSid, resourceType(identity));
  }
}
