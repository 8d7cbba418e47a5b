/**
 * Bindings in Redis (cluster mode): every node reads and writes the same
 * registrations, and a node's crash leaves nothing behind for long, because
 * every key expires by itself a grace period after the last binding it holds
 * (DESIGN "Stores are interfaces").
 *
 * Keys (P = prefix, `herald:` by default; {x} = x with `%`, `:` and newline
 * percent-encoded, so that `:` separates fields unambiguously):
 *
 *   P b:{account}:{identity}   hash   binding key → JSON of the Binding (one hash per AOR)
 *   P bid:{account}            zset   identity → latest expiresAt of its bindings
 *   P bflow:{node}:{flowId}    zset   member → expiresAt, the bindings that use a flow
 *   P bexp                     zset   member → expiresAt, every binding (sweep, count)
 *
 * where member = `{account}:{identity}\n<binding key>` names one binding
 * (the AOR part holds no newline, so the first one splits it).
 *
 * Every write is one Lua script, so the hash and its indexes change together
 * and two nodes never both remove (and so both report) the same binding.
 * The scripts derive key names themselves (a sweep cannot know them in
 * advance), which ties this store to a single Redis server, not Redis Cluster.
 *
 * Times are ms since the epoch, from the callers' clocks (`now` arguments,
 * `expiresAt`); the key expiries use the Redis server's clock, which is why
 * they carry a grace period (see `graceMs`).
 */
import type { Binding, BindingStore, PutGuard, PutOutcome } from './binding-store.js';
import { LUA_EXPIRING_KEYS, LuaScript, keyPart, type RedisCommander } from './redis-client.js';

export interface RedisBindingStoreOptions {
  /** Prefix of every key the store writes. Default `herald:`. */
  prefix?: string;
  /**
   * How long a key outlives the latest expiry it holds (and at least how long
   * it lives after a write), ms. Expired bindings stay readable for the
   * sweep, which reports them (a node sweeps every second), and clocks of
   * nodes and Redis may differ a little; after that Redis drops the keys
   * itself, so a crashed cluster leaves nothing behind. Default 60 s.
   */
  graceMs?: number;
  /** Most bindings one sweep script removes, so one script never blocks Redis long; `sweep` loops. Default 500. */
  sweepBatch?: number;
}

/** Helpers every script starts with (the shared prelude, then the binding keys). */
const LIB = LUA_EXPIRING_KEYS + String.raw`
local EXP = P .. 'bexp'
local function aorId(account, identity) return enc(account) .. ':' .. enc(identity) end
local function hashKey(aid) return P .. 'b:' .. aid end
local function idsKey(account) return P .. 'bid:' .. enc(account) end
local function flowKey(node, flowId) return P .. 'bflow:' .. enc(node) .. ':' .. enc(flowId) end
local function split(member)
  local i = string.find(member, '\n', 1, true)
  return string.sub(member, 1, i - 1), string.sub(member, i + 1)
end

-- After an AOR's bindings changed: its hash expires after its latest binding,
-- and the account's identity index carries that latest expiry (or drops the identity).
local function refreshAor(account, identity)
  local hk = hashKey(aorId(account, identity))
  local ik = idsKey(account)
  local latest = nil
  for _, v in ipairs(redis.call('HVALS', hk)) do
    local e = cjson.decode(v).expiresAt
    if latest == nil or e > latest then latest = e end
  end
  if latest == nil then
    redis.call('ZREM', ik, identity)
  else
    expireAfter(hk, latest)
    redis.call('ZADD', ik, string.format('%.17g', latest), identity)
  end
  expireZset(ik)
end

-- Removals collect what they touched and refresh expiries once, in finish().
local touchedAors, touchedSets = {}, {}
-- Removes one binding from its AOR hash and the indexes; its JSON, or nil when the hash no longer has it.
local function drop(aid, field)
  local member = aid .. '\n' .. field
  redis.call('ZREM', EXP, member)
  touchedSets[EXP] = true
  local hk = hashKey(aid)
  local v = redis.call('HGET', hk, field)
  if not v then return nil end
  local b = cjson.decode(v)
  redis.call('HDEL', hk, field)
  local fk = flowKey(b.node, b.flowId)
  redis.call('ZREM', fk, member)
  touchedSets[fk] = true
  touchedAors[aid] = { b.accountSid, b.identity }
  return v
end
local function finish()
  for _, a in pairs(touchedAors) do refreshAor(a[1], a[2]) end
  for k in pairs(touchedSets) do expireZset(k) end
end
`;

/**
 * ARGV[3..9] = json, account, identity, key, node, flowId, expiresAt;
 * ARGV[10..14] = guarded ('1'/'0'), callId, cseq, maxBindings, now.
 * Returns 'stored', or with a guard 'stale' / 'full' (nothing written).
 */
const PUT = new LuaScript(
  LIB +
    String.raw`
local account, identity, field = ARGV[4], ARGV[5], ARGV[6]
local aid = aorId(account, identity)
local hk = hashKey(aid)
local member = aid .. '\n' .. field
local old = redis.call('HGET', hk, field)
if ARGV[10] == '1' then
  if old then
    local ob = cjson.decode(old)
    if ob.callId == ARGV[11] and ob.cseq >= tonumber(ARGV[12]) then return 'stale' end
  else
    local live = 0
    local now = tonumber(ARGV[14])
    for _, v in ipairs(redis.call('HVALS', hk)) do
      if cjson.decode(v).expiresAt > now then live = live + 1 end
    end
    if live >= tonumber(ARGV[13]) then return 'full' end
  end
end
-- Replacing: the old binding's flow no longer holds it (the new one may be another flow).
if old then
  local ob = cjson.decode(old)
  local ofk = flowKey(ob.node, ob.flowId)
  redis.call('ZREM', ofk, member)
  expireZset(ofk)
end
redis.call('HSET', hk, field, ARGV[3])
local fk = flowKey(ARGV[7], ARGV[8])
redis.call('ZADD', fk, ARGV[9], member)
redis.call('ZADD', EXP, ARGV[9], member)
expireZset(fk)
expireZset(EXP)
refreshAor(account, identity)
return 'stored'
`,
);

/** ARGV[3..5] = account, identity, key. Returns 1 when the binding existed. */
const REMOVE = new LuaScript(
  LIB +
    String.raw`
local v = drop(aorId(ARGV[3], ARGV[4]), ARGV[5])
finish()
if v then return 1 end
return 0
`,
);

/** ARGV[3..4] = account, identity. Returns how many bindings there were. */
const REMOVE_ALL = new LuaScript(
  LIB +
    String.raw`
local aid = aorId(ARGV[3], ARGV[4])
local fields = redis.call('HKEYS', hashKey(aid))
for _, f in ipairs(fields) do drop(aid, f) end
finish()
return #fields
`,
);

/** ARGV[3..4] = node, flowId. Returns the removed bindings' JSON. */
const REMOVE_BY_FLOW = new LuaScript(
  LIB +
    String.raw`
local node, flowId = ARGV[3], ARGV[4]
local fk = flowKey(node, flowId)
local out = {}
for _, member in ipairs(redis.call('ZRANGE', fk, 0, -1)) do
  local aid, field = split(member)
  local v = redis.call('HGET', hashKey(aid), field)
  -- put() moves a replaced binding's index entry, so this holds; checked all the same,
  -- for a binding now on another flow must stay.
  if v then
    local b = cjson.decode(v)
    if b.node == node and b.flowId == flowId then table.insert(out, drop(aid, field)) end
  end
end
redis.call('DEL', fk)
touchedSets[fk] = nil
finish()
return out
`,
);

/**
 * ARGV[3..4] = now, limit. Returns { how many index entries were due, the
 * removed bindings' JSON }: fewer bindings than entries when a hash already
 * expired by itself (nothing left to report), so the caller loops on the first.
 */
const SWEEP = new LuaScript(
  LIB +
    String.raw`
local due = redis.call('ZRANGEBYSCORE', EXP, '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, member in ipairs(due) do
  local aid, field = split(member)
  local v = drop(aid, field)
  if v then table.insert(out, v) end
end
finish()
return { #due, out }
`,
);


export class RedisBindingStore implements BindingStore {
  readonly prefix: string;
  private readonly graceMs: number;
  private readonly sweepBatch: number;

  /** `client`: a connected node-redis client (see `connectRedis`); the store does not close it. */
  constructor(
    private readonly client: RedisCommander,
    options: RedisBindingStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'herald:';
    this.graceMs = options.graceMs ?? 60_000;
    this.sweepBatch = options.sweepBatch ?? 500;
    if (!(this.graceMs >= 0)) throw new RangeError('graceMs must be >= 0');
    if (!(this.sweepBatch >= 1)) throw new RangeError('sweepBatch must be >= 1');
  }

  async list(accountSid: string, identity: string, now: number): Promise<Binding[]> {
    const values = await this.client.sendCommand(['HVALS', this.hashKey(accountSid, identity)]);
    return strings(values, 'HVALS')
      .map(parseBinding)
      .filter((b) => b.expiresAt > now);
  }

  async put(binding: Binding, guard?: PutGuard): Promise<PutOutcome> {
    if (!Number.isFinite(binding.expiresAt)) throw new RangeError('binding.expiresAt must be a finite number');
    const reply = await this.run(PUT, [
      JSON.stringify(binding),
      binding.accountSid,
      binding.identity,
      binding.key,
      binding.node,
      binding.flowId,
      String(binding.expiresAt),
      guard === undefined ? '0' : '1',
      binding.callId,
      String(binding.cseq),
      String(guard?.maxBindings ?? 0),
      String(guard?.now ?? 0),
    ]);
    const outcome = Buffer.isBuffer(reply) ? reply.toString() : reply;
    if (outcome !== 'stored' && outcome !== 'stale' && outcome !== 'full') throw new Error(`unexpected reply to the put script: ${String(outcome)}`);
    return outcome;
  }

  async remove(accountSid: string, identity: string, key: string): Promise<boolean> {
    return (await this.run(REMOVE, [accountSid, identity, key])) === 1;
  }

  async removeAll(accountSid: string, identity: string): Promise<number> {
    return integer(await this.run(REMOVE_ALL, [accountSid, identity]), 'removeAll');
  }

  async removeByFlow(node: string, flowId: string): Promise<Binding[]> {
    return strings(await this.run(REMOVE_BY_FLOW, [node, flowId]), 'removeByFlow').map(parseBinding);
  }

  async sweep(now: number): Promise<Binding[]> {
    const removed: Binding[] = [];
    for (;;) {
      const reply = await this.run(SWEEP, [String(now), String(this.sweepBatch)]);
      if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected reply to the sweep script');
      const due = integer(reply[0], 'sweep');
      for (const json of strings(reply[1], 'sweep')) removed.push(parseBinding(json));
      if (due < this.sweepBatch) return removed;
    }
  }

  async identities(accountSid: string, now: number): Promise<string[]> {
    // Scores are each identity's latest expiry: "(now" keeps those with a binding still valid at now.
    const reply = await this.client.sendCommand(['ZRANGEBYSCORE', `${this.prefix}bid:${keyPart(accountSid)}`, `(${now}`, '+inf']);
    return strings(reply, 'ZRANGEBYSCORE');
  }

  async count(): Promise<number> {
    // Like the memory store: bindings held, expired ones included until swept.
    return integer(await this.client.sendCommand(['ZCARD', `${this.prefix}bexp`]), 'ZCARD');
  }

  private hashKey(accountSid: string, identity: string): string {
    return `${this.prefix}b:${keyPart(accountSid)}:${keyPart(identity)}`;
  }

  private run(script: LuaScript, args: string[]): Promise<unknown> {
    return script.run(this.client, [], [this.prefix, String(this.graceMs), ...args]);
  }
}

function parseBinding(json: string): Binding {
  return JSON.parse(json) as Binding;
}

/** A reply that must be a list of strings (Buffers accepted: a client may map strings to Buffers). */
function strings(reply: unknown, what: string): string[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply to ${what}`);
  return reply.map((x: unknown) => {
    if (typeof x === 'string') return x;
    if (Buffer.isBuffer(x)) return x.toString('utf8');
    throw new Error(`unexpected reply to ${what}`);
  });
}

function integer(reply: unknown, what: string): number {
  if (typeof reply === 'number') return reply;
  if (typeof reply === 'bigint') return Number(reply);
  throw new Error(`unexpected reply to ${what}`);
}
