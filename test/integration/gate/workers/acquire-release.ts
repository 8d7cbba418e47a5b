/**
 * Exactness worker (exactness.test.ts): COUNT concurrent sessions against one
 * Redis gate. Each acquires (retrying after a refusal), holds its lease a
 * short random time, releases, and counts what the gate said. Prints
 * `ready`, waits for `go` on stdin (so every worker starts at once), then
 * prints one JSON line of totals and exits.
 *
 *   node --import tsx acquire-release.ts REDIS_URL ACCOUNT RESOURCE COUNT LIMIT MAX_HOLD_MS
 */
import { createInterface } from 'node:readline';
import { RedisConcurrencyGate } from '../../../../src/gate/redis-gate.js';
import { connectRedis } from '../../../../src/store/redis-client.js';

const [url, account, resource, countArg, limitArg, holdArg] = process.argv.slice(2);
if (url === undefined || account === undefined || resource === undefined) throw new Error('usage: REDIS_URL ACCOUNT RESOURCE COUNT LIMIT MAX_HOLD_MS');
const count = Number(countArg);
const limit = Number(limitArg);
const maxHoldMs = Number(holdArg);

const client = await connectRedis(url);
const gate = new RedisConcurrencyGate(client, { recordHighWater: true });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

console.log('ready');
await new Promise<void>((resolve) => {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'go') {
      lines.close();
      resolve();
    }
  });
});

let granted = 0;
let released = 0;
let refused = 0;
let refusedBelowLimit = 0;
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const session = `${process.pid}-${i}`;
    for (;;) {
      const r = await gate.acquire(account, resource, session, limit, 30_000);
      if (r.granted) break;
      refused += 1;
      if (r.inUse < limit) refusedBelowLimit += 1;
      await sleep(1 + Math.random() * 4);
    }
    granted += 1;
    await sleep(Math.random() * maxHoldMs);
    if (await gate.release(account, resource, session)) released += 1;
  }),
);
console.log(JSON.stringify({ granted, released, refused, refusedBelowLimit }));
await client.close();
