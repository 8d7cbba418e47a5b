/**
 * The gate shared by a cluster (HERALD_REDIS_URL): one sorted set per account
 * and resource type, member = session id, score = lease expiry (ms, Redis's
 * clock):
 *
 *   P gate:{account}:{resourceType}   zset   session id → expiry
 *
 * (P = prefix, `herald:` by default; {x} with `%`, `:` and newline
 * percent-encoded as in the other Redis stores). Acquire and renew are Lua
 * scripts (redis-gate-scripts.ts); release is a plain ZREM, which is atomic
 * and idempotent by itself (removing an absent member removes nothing), and
 * Redis deletes the set when its last member goes.
 *
 * Concurrent calls on one node-redis client are pipelined by the client, so a
 * busy node sends many acquires per round trip.
 */
import { keyPart, type RedisCommander } from '../store/redis-client.js';
import {
  DEFAULT_LEASE_TTL_MS,
  checkAcquireArgs,
  checkTtl,
  retryAfterFor,
  type AcquireResult,
  type ConcurrencyGate,
} from './gate.js';
import { ACQUIRE, RENEW, USAGE } from './redis-gate-scripts.js';

export interface RedisGateOptions {
  /** Key prefix; default `herald:`. */
  prefix?: string;
  /** Lease lifetime when a caller gives none, ms. Default 30 s. */
  defaultTtlMs?: number;
  /**
   * Tests only: every acquire also records the most leases ever held at once
   * in `highWaterKey(…)`, inside the same script, so a check reads the true
   * peak rather than sampling it.
   */
  recordHighWater?: boolean;
}

function int(x: unknown): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'bigint') return Number(x);
  throw new Error(`unexpected reply from Redis: ${String(x)}`);
}

export class RedisConcurrencyGate implements ConcurrencyGate {
  readonly prefix: string;
  private readonly defaultTtlMs: number;
  private readonly recordHighWater: boolean;

  /** `client`: a connected node-redis client (see `connectRedis`); the gate does not close it. */
  constructor(
    private readonly client: RedisCommander,
    options: RedisGateOptions = {},
  ) {
    this.prefix = options.prefix ?? 'herald:';
    this.defaultTtlMs = options.defaultTtlMs ?? DEFAULT_LEASE_TTL_MS;
    checkTtl(this.defaultTtlMs);
    this.recordHighWater = options.recordHighWater ?? false;
  }

  /** The sorted set of `account`/`resourceType` (tests and operators inspect it). */
  key(account: string, resourceType: string): string {
    return `${this.prefix}gate:${keyPart(account)}:${keyPart(resourceType)}`;
  }

  /** Where `recordHighWater` keeps the peak of `account`/`resourceType`. */
  highWaterKey(account: string, resourceType: string): string {
    return `${this.prefix}gate-high:${keyPart(account)}:${keyPart(resourceType)}`;
  }

  async acquire(account: string, resourceType: string, sessionId: string, limit: number, ttlMs = this.defaultTtlMs): Promise<AcquireResult> {
    checkAcquireArgs(sessionId, limit, ttlMs);
    const keys = [this.key(account, resourceType)];
    if (this.recordHighWater) keys.push(this.highWaterKey(account, resourceType));
    const reply = await ACQUIRE.run(this.client, keys, [sessionId, String(limit), String(ttlMs)]);
    if (!Array.isArray(reply) || reply.length !== 4) throw new Error('unexpected reply from the gate acquire script');
    const [granted, expired, inUse, waitMs] = reply.map(int) as [number, number, number, number];
    if (granted === 1) return { granted: true, expired };
    return { granted: false, retryAfterSeconds: retryAfterFor(waitMs), inUse, limit, expired };
  }

  async release(account: string, resourceType: string, sessionId: string): Promise<boolean> {
    return int(await this.client.sendCommand(['ZREM', this.key(account, resourceType), sessionId])) === 1;
  }

  async renew(account: string, resourceType: string, sessionId: string, ttlMs = this.defaultTtlMs): Promise<boolean> {
    checkTtl(ttlMs);
    return int(await RENEW.run(this.client, [this.key(account, resourceType)], [sessionId, String(ttlMs)])) === 1;
  }

  async usage(account: string, resourceType: string): Promise<number> {
    return int(await USAGE.run(this.client, [this.key(account, resourceType)], []));
  }
}
