/**
 * The Lua scripts of the Redis gate. Redis runs a script atomically, so the
 * purge, the count and the insertion of an acquire see one state: two nodes
 * acquiring at once cannot both take the last slot.
 *
 * All times are the Redis server's clock (`TIME`), never a node's: nodes'
 * clocks differ, and a lease written with one node's clock and purged with
 * another's would expire early or late. Scores are expiries in ms.
 *
 * Every write makes the key expire no earlier than its latest lease
 * (PEXPIREAT … GT: only ever pushed later, so the key's expiry is always at
 * or after its highest score), so when every holder has crashed the key
 * disappears by itself: nothing lingers more than one TTL. A release does not
 * pull the expiry back (a plain ZREM), which at worst keeps an idle key one
 * TTL longer.
 */
import { LuaScript } from '../store/redis-client.js';

const NOW = String.raw`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function ms(x) return string.format('%.0f', x) end
`;

/** Item codes of `LEASES` (one character: the script compares them once per item). */
export const OP = { acquire: 'a', release: 'r', renew: 'n', usage: 'u' } as const;

/**
 * Acquires, releases, renewals and usage counts of one node, batched: the operations its
 * callers issued in the same tick go in one EVALSHA, in the order they were
 * issued, and the script decides them one after the other exactly as if
 * each had been its own script (they all see one `now`). So one round trip
 * and one client command carry many leases, and nothing changes for a
 * caller: an item for a key sees every earlier item of the batch, and no
 * other client's command interleaves.
 *
 * KEYS: the lease sets the batch touches (zset: session id → expiry). When
 * ARGV[1] is '1' each is followed by its high-water key (tests: the most
 * leases ever held at once, recorded inside the script so no peak can be
 * missed). Then the items, from ARGV[2], each naming its set by its number
 * k (1-based, in sets, not in KEYS):
 *
 *   'a' k id limit ttl   acquire → granted 0|1, expired, inUse, ms until the earliest expiry
 *   'r' k id             release → 1 when it removed a lease, else 0
 *   'n' k id ttl         renew   → 1 when a live lease was extended, else 0
 *   'u' k                usage   → the live leases (expiry after now); removes nothing
 *
 * The reply is those numbers, flat, in item order. An item whose Redis call
 * fails (a key of the wrong type, say) answers -1 and the message instead,
 * and the others go on: Redis does not roll back a script that stops half-way,
 * so an error thrown out of the batch would lose the answers of the items
 * already applied (granted leases nobody would know they hold).
 *
 * Per set, the purge of expired leases runs once, at the batch's first
 * acquire of it (which reports them; later ones in the same batch find none
 * at the same `now`), and the key's expiry is pushed once, at the end, to
 * the latest lease written. Leases never shorten (ZADD GT): a session that
 * holds one keeps it, extended; a renewal never re-creates one (XX).
 */
export const LEASES = new LuaScript(
  NOW +
    String.raw`
local pairsOfKeys = ARGV[1] == '1'
local stride = pairsOfKeys and 2 or 1
local live = {}       -- set number -> leases held (known once an acquire has purged the set)
local latest = {}     -- set number -> latest expiry written by this batch
local high = {}       -- set number -> high-water mark (recordHighWater)
local out = {}

local function wrote(k, expiry)
  if not latest[k] or expiry > latest[k] then latest[k] = expiry end
end

local function acquire(k, id, limit, ttl)
  local key = KEYS[(k - 1) * stride + 1]
  local n, expired = live[k], 0
  if n == nil then
    expired = redis.call('ZREMRANGEBYSCORE', key, '-inf', ms(now))
    n = redis.call('ZCARD', key)
  end
  -- Below the limit there is room whether or not the session holds a lease: ZADD says which it was.
  -- At the limit only a holder gets in, so look first.
  if n >= limit and not redis.call('ZSCORE', key, id) then
    live[k] = n
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local wait = 0
    if first[2] then wait = tonumber(first[2]) - now end
    return 0, expired, n, wait
  end
  local expiry = now + ttl
  n = n + redis.call('ZADD', key, 'GT', ms(expiry), id)
  wrote(k, expiry)
  live[k] = n
  if pairsOfKeys then
    if high[k] == nil then high[k] = tonumber(redis.call('GET', KEYS[k * 2]) or '0') end
    if n > high[k] then
      high[k] = n
      redis.call('SET', KEYS[k * 2], n)
    end
  end
  return 1, expired, n, 0
end

local function release(k, id)
  local removed = redis.call('ZREM', KEYS[(k - 1) * stride + 1], id)
  if removed == 1 and live[k] then live[k] = live[k] - 1 end
  return removed
end

local function renew(k, id, ttl)
  local key = KEYS[(k - 1) * stride + 1]
  local score = redis.call('ZSCORE', key, id)
  if not score or tonumber(score) <= now then return 0 end
  local expiry = now + ttl
  redis.call('ZADD', key, 'XX', 'GT', ms(expiry), id)
  wrote(k, expiry)
  return 1
end

local function usage(k)
  return redis.call('ZCOUNT', KEYS[(k - 1) * stride + 1], '(' .. ms(now), '+inf')
end

local function failed(err)
  out[#out + 1] = -1
  out[#out + 1] = type(err) == 'table' and (err.err or 'error') or tostring(err)
end

local i = 2
while i <= #ARGV do
  local op, k, id = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if op == 'a' then
    local ok, a, b, c, d = pcall(acquire, k, id, tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]))
    if ok then
      out[#out + 1] = a; out[#out + 1] = b; out[#out + 1] = c; out[#out + 1] = d
    else failed(a) end
    i = i + 5
  elseif op == 'r' then
    local ok, r = pcall(release, k, id)
    if ok then out[#out + 1] = r else failed(r) end
    i = i + 3
  elseif op == 'n' then
    local ok, r = pcall(renew, k, id, tonumber(ARGV[i + 3]))
    if ok then out[#out + 1] = r else failed(r) end
    i = i + 4
  elseif op == 'u' then
    local ok, r = pcall(usage, k)
    if ok then out[#out + 1] = r else failed(r) end
    i = i + 2
  else
    return redis.error_reply('unknown gate operation ' .. tostring(op))
  end
end

-- The key lives at least until its latest lease. One that has an expiry keeps the later one (GT);
-- one without (just created by ZADD, or re-created after a release emptied it) gets this one.
for k, at in pairs(latest) do
  local key = KEYS[(k - 1) * stride + 1]
  local pttl = redis.call('PTTL', key)
  if pttl == -1 then redis.call('PEXPIREAT', key, ms(at))
  elseif pttl >= 0 then redis.call('PEXPIREAT', key, ms(at), 'GT') end
end
return out
`,
);
