/**
 * Crash worker (crash.test.ts): holds COUNT leases with holdLease (renewed
 * every TTL/3), prints `{"held":COUNT}` and stays alive until killed.
 *
 *   node --import tsx hold.ts REDIS_URL ACCOUNT RESOURCE COUNT LIMIT TTL_MS
 */
import { holdLease } from '../../../../src/gate/hold-lease.js';
import { RedisConcurrencyGate } from '../../../../src/gate/redis-gate.js';
import { connectRedis } from '../../../../src/store/redis-client.js';

const [url, account, resource, countArg, limitArg, ttlArg] = process.argv.slice(2);
if (url === undefined || account === undefined || resource === undefined) throw new Error('usage: REDIS_URL ACCOUNT RESOURCE COUNT LIMIT TTL_MS');
const client = await connectRedis(url);
const gate = new RedisConcurrencyGate(client);
let held = 0;
for (let i = 0; i < Number(countArg); i++) {
  const r = await holdLease(gate, account, resource, `${process.pid}-${i}`, Number(limitArg), { ttlMs: Number(ttlArg) });
  if (r.granted) held += 1;
}
console.log(JSON.stringify({ held }));
// holdLease's timers are unref'd; this one keeps the process (and so its renewals) alive until it is killed.
setInterval(() => undefined, 60_000);
