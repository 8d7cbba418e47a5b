/**
 * Presence subscriptions in Redis (cluster mode). Keys (P = prefix,
 * `herald:` by default; {x} percent-encoded as in redis-binding-store.ts):
 *
 *   P s:{id}                     string  JSON of the Subscription
 *   P sw:{account}:{presentity}  zset    id → expiresAt: who watches a client
 *   P sn:{node}                  zset    id → expiresAt: a node's subscriptions (sweep)
 *   P sf:{node}:{flowId}         zset    id → expiresAt: those that came over a flow
 *   P sall                       zset    id → expiresAt: every subscription (count)
 *
 * Each write is one Lua script that updates the record and its indexes
 * together (the scripts derive the index keys from the record, so the store
 * needs a single Redis server, not Redis Cluster). Every key expires a grace
 * period after the latest subscription it holds: a crashed cluster leaves
 * nothing behind.
 */
import type { Subscription, SubscriptionStore } from './subscription-store.js';
import { LUA_EXPIRING_KEYS, LuaScript, keyPart, replyTexts, type RedisCommander } from './redis-client.js';

export interface RedisSubscriptionStoreOptions {
  prefix?: string;
  /** How long keys outlive the expiry they hold, ms (the owner sweeps every second). Default 60 s. */
  graceMs?: number;
}

// The shared prelude (ARGV[1] prefix, ARGV[2] grace ms), then the subscription keys.
const LIB = LUA_EXPIRING_KEYS + String.raw`
local function indexes(s)
  return {
    P .. 'sw:' .. enc(s.accountSid) .. ':' .. enc(s.presentity),
    P .. 'sn:' .. enc(s.node),
    P .. 'sf:' .. enc(s.node) .. ':' .. enc(s.flowId),
    P .. 'sall',
  }
end
local function drop(id)
  local key = P .. 's:' .. id
  local cur = redis.call('GET', key)
  if not cur then return nil end
  local s = cjson.decode(cur)
  for _, k in ipairs(indexes(s)) do redis.call('ZREM', k, id) end
  redis.call('DEL', key)
  return cur
end
`;

// ARGV[3] id, ARGV[4] JSON, ARGV[5] expiresAt
const PUT = new LuaScript(`${LIB}
drop(ARGV[3])
local s = cjson.decode(ARGV[4])
local at = tonumber(ARGV[5])
local key = P .. 's:' .. ARGV[3]
redis.call('SET', key, ARGV[4])
expireAfter(key, at)
for _, k in ipairs(indexes(s)) do
  redis.call('ZADD', k, ARGV[5], ARGV[3])
  expireZset(k)
end
return 1
`);

// ARGV[3] id
const REMOVE = new LuaScript(`${LIB}
if drop(ARGV[3]) then return 1 end
return 0
`);

// ARGV[3] node, ARGV[4] now (caller's clock): removes the node's expired subscriptions, at most 500 ids.
// Returns how many ids it took (entries whose record already lapsed count too, so the caller
// knows whether to go on), then the JSON of each subscription removed.
const SWEEP = new LuaScript(`${LIB}
local sn = P .. 'sn:' .. enc(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', sn, '-inf', ARGV[4], 'LIMIT', 0, 500)
local out = { tostring(#ids) }
for _, id in ipairs(ids) do
  local cur = drop(id)
  if cur then
    table.insert(out, cur)
  else
    redis.call('ZREM', sn, id)
    redis.call('ZREM', P .. 'sall', id)
  end
end
return out
`);



export class RedisSubscriptionStore implements SubscriptionStore {
  readonly prefix: string;
  private readonly graceMs: number;

  constructor(
    private readonly client: RedisCommander,
    options: RedisSubscriptionStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'herald:';
    this.graceMs = options.graceMs ?? 60_000;
  }

  async get(id: string): Promise<Subscription | null> {
    const [json] = replyTexts([await this.client.sendCommand(['GET', `${this.prefix}s:${id}`])]);
    return json === null || json === undefined ? null : (JSON.parse(json) as Subscription);
  }

  async put(subscription: Subscription): Promise<void> {
    await PUT.run(this.client, [], [...this.lib(), subscription.id, JSON.stringify(subscription), String(subscription.expiresAt)]);
  }

  async remove(id: string): Promise<boolean> {
    const n = await REMOVE.run(this.client, [], [...this.lib(), id]);
    return n === 1 || n === 1n;
  }

  async watching(accountSid: string, presentity: string, now: number): Promise<Subscription[]> {
    const ids = replyTexts(await this.client.sendCommand(['ZRANGEBYSCORE', `${this.prefix}sw:${keyPart(accountSid)}:${keyPart(presentity)}`, `(${now}`, '+inf']));
    return this.load(ids);
  }

  async byFlow(node: string, flowId: string): Promise<Subscription[]> {
    const ids = replyTexts(await this.client.sendCommand(['ZRANGE', `${this.prefix}sf:${keyPart(node)}:${keyPart(flowId)}`, '0', '-1']));
    return this.load(ids);
  }

  async sweep(node: string, now: number): Promise<Subscription[]> {
    const out: Subscription[] = [];
    for (;;) {
      const [taken, ...batch] = replyTexts(await SWEEP.run(this.client, [], [...this.lib(), node, String(now)]));
      for (const json of batch) if (json !== null) out.push(JSON.parse(json) as Subscription);
      if (Number(taken) < 500) return out;
    }
  }

  async count(): Promise<number> {
    // Like the memory store (and the binding stores): subscriptions held, expired ones included until swept.
    return Number(await this.client.sendCommand(['ZCARD', `${this.prefix}sall`]));
  }

  private lib(): string[] {
    return [this.prefix, String(this.graceMs)];
  }

  private async load(ids: Array<string | null>): Promise<Subscription[]> {
    const live = ids.filter((id): id is string => id !== null);
    if (live.length === 0) return [];
    const jsons = replyTexts(await this.client.sendCommand(['MGET', ...live.map((id) => `${this.prefix}s:${id}`)]));
    return jsons.filter((j): j is string => j !== null).map((j) => JSON.parse(j) as Subscription);
  }
}
