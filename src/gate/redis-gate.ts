/**
 * The gate shared by a cluster (HERALD_REDIS_URL): one sorted set per account
 * and resource type, member = session id, score = lease expiry (ms, Redis's
 * clock):
 *
 *   P gate:{account}:{resourceType}   zset   session id → expiry
 *
 * (P = prefix, `herald:` by default; {x} with `%`, `:` and newline
 * percent-encoded as in the other Redis stores). Every operation is an item
 * of one Lua script (redis-gate-scripts.ts) that purges, counts and writes
 * atomically; the items a node issues in one tick share one EVALSHA
 * (redis-lease-batch.ts), which is what lets one node's client carry
 * tens of thousands of leases a second. A release is a ZREM, atomic and
 * idempotent by itself (removing an absent member removes nothing), and
 * Redis deletes the set when its last member goes.
 */
import { keyPart, type RedisCommander } from '../store/redis-client.js';
import { DEFAULT_LEASE_TTL_MS, checkAcquireArgs, checkTtl, type AcquireResult, type ConcurrencyGate } from './gate.js';
import { OP } from './redis-gate-scripts.js';
import { LeaseBatch, type LeaseKeys } from './redis-lease-batch.js';

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

export class RedisConcurrencyGate implements ConcurrencyGate {
  readonly prefix: string;
  private readonly defaultTtlMs: number;
  private readonly recordHighWater: boolean;
  private readonly batch: LeaseBatch;

  /** `client`: a connected node-redis client (see `connectRedis`); the gate does not close it. */
  constructor(
    client: RedisCommander,
    options: RedisGateOptions = {},
  ) {
    this.prefix = options.prefix ?? 'herald:';
    this.defaultTtlMs = options.defaultTtlMs ?? DEFAULT_LEASE_TTL_MS;
    checkTtl(this.defaultTtlMs);
    this.recordHighWater = options.recordHighWater ?? false;
    this.batch = new LeaseBatch(client, { recordHighWater: this.recordHighWater });
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
    return this.batch.acquire(this.leaseKeys(account, resourceType), sessionId, limit, ttlMs);
  }

  async release(account: string, resourceType: string, sessionId: string): Promise<boolean> {
    return (await this.batch.number(OP.release, this.leaseKeys(account, resourceType), sessionId)) === 1;
  }

  async renew(account: string, resourceType: string, sessionId: string, ttlMs = this.defaultTtlMs): Promise<boolean> {
    checkTtl(ttlMs);
    return (await this.batch.number(OP.renew, this.leaseKeys(account, resourceType), sessionId, ttlMs)) === 1;
  }

  async usage(account: string, resourceType: string): Promise<number> {
    return this.batch.number(OP.usage, this.leaseKeys(account, resourceType));
  }

  private leaseKeys(account: string, resourceType: string): LeaseKeys {
    const set = this.key(account, resourceType);
    return this.recordHighWater ? { set, highWater: this.highWaterKey(account, resourceType) } : { set };
  }
}
