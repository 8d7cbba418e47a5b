/**
 * Concurrency gate throughput: acquire + release pairs per second, for the
 * memory gate and for the Redis gate against a real redis-server (started by
 * the test helper on a free port; node-redis pipelines the concurrent
 * commands of one client). IN_FLIGHT sessions loop acquire → release on one
 * account and resource type whose limit is IN_FLIGHT, so every acquire is
 * granted and every pair is a full lease (Redis: an acquire and a release
 * item of the gate's batched script; the items issued in one tick share one
 * EVALSHA). Each case warms up 1 s, then ROUNDS rounds of SECONDS; the median
 * round is reported, with this process's CPU per pair and, for Redis, the
 * server's own time per pair and the pairs one command carried (INFO
 * commandstats), which a busy machine distorts less than the rate. Usage:
 *   node --import tsx bench/gate.ts [SECONDS=3] [ROUNDS=3] [MEMORY_IN_FLIGHT=64] [REDIS_IN_FLIGHT=256]
 */
import { performance } from 'node:perf_hooks';
import type { ConcurrencyGate } from '../src/gate/gate.js';
import { MemoryConcurrencyGate } from '../src/gate/memory-gate.js';
import { RedisConcurrencyGate } from '../src/gate/redis-gate.js';
import { connectRedis, type RedisClient } from '../src/store/redis-client.js';
import { startRedis } from '../test/helpers/redis-server.js';

const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 3);
const memoryInFlight = Number(process.argv[4] ?? 64);
const redisInFlight = Number(process.argv[5] ?? 256);
const AC = 'AC0123456789abcdef0123456789abcdef';
const TTL = 30_000;
const GOALS = { memory: 1_000_000, redis: 50_000 };

interface Round {
  pairs: number;
  refused: number;
  elapsedMs: number;
  cpuUs: number;
}

/** Pairs completed by `inFlight` loops in `ms`. The clock is read every 64 pairs: a memory gate never yields to timers. */
async function measure(gate: ConcurrencyGate, inFlight: number, ms: number): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + ms;
  let pairs = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, k) => {
      const session = `session-${k}`;
      for (let i = 0; ; i++) {
        if ((i & 63) === 0 && performance.now() >= deadline) return;
        const r = await gate.acquire(AC, 'calls', session, inFlight, TTL);
        if (!r.granted) refused += 1;
        await gate.release(AC, 'calls', session);
        pairs += 1;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { pairs, refused, elapsedMs: performance.now() - start, cpuUs: cpu.user + cpu.system };
}

/** Microseconds Redis spent in `command` calls and their count, from INFO commandstats. */
async function commandStats(client: RedisClient, command: string): Promise<{ calls: number; usec: number }> {
  const info = String(await client.sendCommand(['INFO', 'commandstats']));
  const m = new RegExp(`^cmdstat_${command}:calls=(\\d+),usec=(\\d+)`, 'm').exec(info);
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

async function bench(name: 'memory' | 'redis', gate: ConcurrencyGate, inFlight: number, client?: RedisClient): Promise<void> {
  await measure(gate, inFlight, 1000);
  if (client !== undefined) await client.sendCommand(['CONFIG', 'RESETSTAT']);
  const results: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = await measure(gate, inFlight, seconds * 1000);
    if (round.refused > 0) throw new Error(`${name}: ${round.refused} acquires refused (the limit equals the sessions in flight: a leak)`);
    if ((await gate.usage(AC, 'calls')) !== 0) throw new Error(`${name}: leases left after the round`);
    results.push(round);
  }
  const rates = results.map((r) => Math.round((r.pairs * 1000) / r.elapsedMs));
  const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)] ?? 0;
  const totalPairs = results.reduce((n, r) => n + r.pairs, 0);
  const clientUs = results.reduce((n, r) => n + r.cpuUs, 0) / totalPairs;
  let server: { usPerPair: number; pairsPerCommand: number } | null = null;
  if (client !== undefined) {
    // Every gate operation is an item of one batched script (EVALSHA), whose time includes the commands it calls.
    const evalsha = await commandStats(client, 'evalsha');
    server = { usPerPair: evalsha.usec / totalPairs, pairsPerCommand: totalPairs / evalsha.calls };
  }
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const goal = GOALS[name];
  console.log(
    `${name}: ${fmt(median)} acquire+release pairs/s (median of ${rounds} × ${seconds} s, ${inFlight} in flight; rounds ${rates.map(fmt).join(', ')}); ` +
      `client CPU ${clientUs.toFixed(2)} µs/pair` +
      (server !== null ? `, Redis server ${server.usPerPair.toFixed(2)} µs/pair (${server.pairsPerCommand.toFixed(1)} pairs per command)` : '') +
      `; goal ${fmt(goal)}/s ${median >= goal ? 'met' : 'not met'}`,
  );
  console.log(
    JSON.stringify({
      bench: 'gate',
      gate: name,
      inFlight,
      seconds,
      rounds: rates,
      medianPairsPerSecond: median,
      clientCpuUsPerPair: Number(clientUs.toFixed(3)),
      ...(server !== null ? { serverUsPerPair: Number(server.usPerPair.toFixed(3)), pairsPerCommand: Number(server.pairsPerCommand.toFixed(1)) } : {}),
      goal,
    }),
  );
}

await bench('memory', new MemoryConcurrencyGate(), memoryInFlight);

const redis = await startRedis();
const client = await connectRedis(redis.url);
try {
  await bench('redis', new RedisConcurrencyGate(client), redisInFlight, client);
} finally {
  await client.close();
  await redis.stop();
}
