/**
 * The Redis gate's operations go to Redis in batches: everything its callers
 * issue in one turn of the event loop leaves as one EVALSHA of the `LEASES`
 * script (redis-gate-scripts.ts), which decides the items in the order they
 * were issued. The client's cost is per command, not per lease (~18 µs of
 * node-redis CPU per command against ~1 µs per extra argument), so a busy
 * node carries hundreds of leases for the price of one command.
 *
 * Order is what a caller could see without batching: items leave in issue
 * order, a batch larger than `maxItems` goes as consecutive commands on the
 * one connection (Redis runs them in that order), and every operation,
 * `usage` included, takes this path, so none overtakes another.
 */
import type { RedisCommander } from '../store/redis-client.js';
import { retryAfterFor, type AcquireResult } from './gate.js';
import { LEASES, OP } from './redis-gate-scripts.js';

/** The lease set of one account and resource type, and its high-water key when the gate records one. */
export interface LeaseKeys {
  set: string;
  highWater?: string;
}

type Code = (typeof OP)[keyof typeof OP];

interface Item {
  code: Code;
  keys: LeaseKeys;
  sessionId: string;
  limit: number;
  ttlMs: number;
  /** Acquires resolve with their result, the others with the script's number. */
  onAcquire: ((r: AcquireResult) => void) | undefined;
  onNumber: ((n: number) => void) | undefined;
  reject: (err: Error) => void;
}

export interface LeaseBatchOptions {
  /** Every item names a high-water key (tests; the script records the peak inside the same step). */
  recordHighWater: boolean;
  /** Items per command at most, so one script never holds Redis for long. Default 512. */
  maxItems?: number;
}

export class LeaseBatch {
  private queue: Item[] = [];
  private scheduled = false;
  private readonly maxItems: number;

  constructor(
    private readonly client: RedisCommander,
    private readonly options: LeaseBatchOptions,
  ) {
    this.maxItems = options.maxItems ?? 512;
  }

  acquire(keys: LeaseKeys, sessionId: string, limit: number, ttlMs: number): Promise<AcquireResult> {
    return new Promise((resolve, reject) => this.push({ code: OP.acquire, keys, sessionId, limit, ttlMs, onAcquire: resolve, onNumber: undefined, reject }));
  }

  /** Release, renew (`ttlMs`) or usage: the script's one number. */
  number(code: Exclude<Code, 'a'>, keys: LeaseKeys, sessionId = '', ttlMs = 0): Promise<number> {
    return new Promise((resolve, reject) => this.push({ code, keys, sessionId, limit: 0, ttlMs, onAcquire: undefined, onNumber: resolve, reject }));
  }

  private push(item: Item): void {
    this.queue.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    // At the end of this loop iteration, not at the end of this callback: the INVITEs of one poll phase
    // arrive as separate I/O callbacks, and they should share a command. (A microtask would flush each
    // callback's items alone.) The cost is one loop iteration of latency: node-redis then writes on its
    // own setImmediate, in the next one.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    for (let from = 0; from < queue.length; from += this.maxItems) {
      void this.send(queue.length <= this.maxItems ? queue : queue.slice(from, from + this.maxItems));
    }
  }

  private async send(items: Item[]): Promise<void> {
    let reply: unknown;
    try {
      reply = await LEASES.run(this.client, ...this.command(items));
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const item of items) item.reject(error);
      return;
    }
    settle(items, reply);
  }

  /** KEYS and ARGV of `LEASES` for `items` (see the script for the layout). */
  private command(items: Item[]): [string[], string[]] {
    const pairs = this.options.recordHighWater;
    const numbers = new Map<string, string>();
    const keys: string[] = [];
    const args: string[] = [pairs ? '1' : '0'];
    for (const item of items) {
      const set = item.keys.set;
      let k = numbers.get(set);
      if (k === undefined) {
        k = String(numbers.size + 1);
        numbers.set(set, k);
        keys.push(set);
        if (pairs) {
          if (item.keys.highWater === undefined) throw new Error('the gate records high-water marks: every item needs its key');
          keys.push(item.keys.highWater);
        }
      }
      if (item.code === OP.usage) args.push(item.code, k);
      else if (item.code === OP.acquire) args.push(item.code, k, item.sessionId, String(item.limit), String(item.ttlMs));
      else if (item.code === OP.renew) args.push(item.code, k, item.sessionId, String(item.ttlMs));
      else args.push(item.code, k, item.sessionId);
    }
    return [keys, args];
  }
}

function int(x: unknown): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'bigint') return Number(x);
  throw new Error(`unexpected reply from the gate script: ${String(x)}`);
}

/** Hands each item its part of the flat reply; an item the script could not apply is rejected alone. */
function settle(items: Item[], reply: unknown): void {
  if (!Array.isArray(reply)) {
    const error = new Error('unexpected reply from the gate script: not an array');
    for (const item of items) item.reject(error);
    return;
  }
  let at = 0;
  for (const item of items) {
    if (reply[at] === -1) {
      item.reject(new Error(`the gate script failed: ${String(reply[at + 1])}`));
      at += 2;
      continue;
    }
    try {
      if (item.onAcquire !== undefined) {
        const granted = int(reply[at]);
        const expired = int(reply[at + 1]);
        item.onAcquire(
          granted === 1
            ? { granted: true, expired }
            : { granted: false, retryAfterSeconds: retryAfterFor(int(reply[at + 3])), inUse: int(reply[at + 2]), limit: item.limit, expired },
        );
      } else {
        item.onNumber?.(int(reply[at]));
      }
    } catch (err) {
      item.reject(err as Error);
    }
    at += item.onAcquire !== undefined ? 4 : 1;
  }
}
