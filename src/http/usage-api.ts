/**
 * `GET /v1/Accounts/{AC}/Usage` (CONTRACT §6): what the account holds of its
 * concurrency limits, `{calls: {inUse, limit}, api: {inUse, limit}}`, read
 * from the gate (with Redis: the whole cluster).
 *
 * - `calls.inUse`: calls in progress (`calls` leases).
 * - `api.inUse`: REST requests of the account in progress, summed over every
 *   REST resource type, leaving out this Usage request itself (an idle account
 *   reads 0). `api.limit` is `limits.api`, which applies to each resource
 *   type separately, so with several kinds of request in flight `inUse` may
 *   exceed it; `herald_gate_in_use` on /metrics has the count per type.
 */
import type { FastifyInstance } from 'fastify';
import type { ConcurrencyGate } from '../gate/gate.js';
import { CALLS, apiResourceType } from '../gate/resources.js';
import { leaseOf } from './api-gate.js';
import { principalOf } from './basic-auth.js';

export interface UsageView {
  calls: { inUse: number; limit: number };
  api: { inUse: number; limit: number };
}

/** `resources`: the REST resource names the API serves (filled as routes are added). */
export function usageApi(app: FastifyInstance, gate: ConcurrencyGate, resources: ReadonlySet<string>): void {
  app.get('/Usage', async (req): Promise<UsageView> => {
    const { account } = principalOf(req);
    const types = [...resources].map(apiResourceType);
    const [calls, ...api] = await Promise.all([gate.usage(account.sid, CALLS), ...types.map((t) => gate.usage(account.sid, t))]);
    const own = leaseOf(req) !== undefined ? 1 : 0;
    const apiInUse = Math.max(0, api.reduce((a, b) => a + b, 0) - own);
    return {
      calls: { inUse: calls ?? 0, limit: account.limits.calls },
      api: { inUse: apiInUse, limit: account.limits.api },
    };
  });
}
