/**
 * The gates under test: the memory gate, and the Redis gate against a real
 * redis-server (started once per suite, flushed before each test).
 */
import type { ConcurrencyGate } from '../../../src/gate/gate.js';
import { MemoryConcurrencyGate } from '../../../src/gate/memory-gate.js';
import { RedisConcurrencyGate } from '../../../src/gate/redis-gate.js';
import { connectRedis, type RedisClient } from '../../../src/store/redis-client.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';

export interface GateImpl {
  name: 'memory' | 'redis';
  before(): Promise<void>;
  /** A fresh, empty gate. */
  fresh(options?: { defaultTtlMs?: number }): Promise<ConcurrencyGate>;
  after(): Promise<void>;
  /** The Redis client and server (redis only). */
  redis(): { client: RedisClient; server: RedisServer };
}

export function memoryImpl(): GateImpl {
  return {
    name: 'memory',
    before: async () => {},
    fresh: async (options = {}) => new MemoryConcurrencyGate(options),
    after: async () => {},
    redis: () => {
      throw new Error('not a Redis gate');
    },
  };
}

export function redisImpl(): GateImpl {
  let server: RedisServer | undefined;
  let client: RedisClient | undefined;
  return {
    name: 'redis',
    before: async () => {
      server = await startRedis();
      client = await connectRedis(server.url);
    },
    fresh: async (options = {}) => {
      await client!.flushAll();
      return new RedisConcurrencyGate(client!, { ...options, recordHighWater: true });
    },
    after: async () => {
      await client?.close();
      await server?.stop();
      client = undefined;
      server = undefined;
    },
    redis: () => ({ client: client!, server: server! }),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it is true; throws with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000, everyMs = 25): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
