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
-- The key lives at least until 'at'. A key that existed had an expiry (every write sets one),
-- so GT keeps the later of the two; a key just created by ZADD has none yet and gets 'at'.
local function expireNotBefore(key, at, existed)
  if existed then redis.call('PEXPIREAT', key, at, 'GT') else redis.call('PEXPIREAT', key, at) end
end
`;

/**
 * KEYS[1] the leases (zset: session id → expiry); KEYS[2], optional, a
 * high-water mark (tests: the most leases ever held at once, recorded inside
 * the script so no peak can be missed). ARGV: session id, limit, ttl ms.
 * Returns {granted 0|1, expired, inUse, ms until the earliest expiry}.
 */
export const ACQUIRE = new LuaScript(
  NOW +
    String.raw`
local key, id = KEYS[1], ARGV[1]
local limit, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local expired = redis.call('ZREMRANGEBYSCORE', key, '-inf', ms(now))
local held = redis.call('ZSCORE', key, id)
local n = redis.call('ZCARD', key)
if not held and n >= limit then
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  local wait = 0
  if first[2] then wait = tonumber(first[2]) - now end
  return {0, expired, n, wait}
end
-- GT: a session that holds a lease keeps it, extended, never shortened.
local expiry = ms(now + ttl)
redis.call('ZADD', key, 'GT', expiry, id)
expireNotBefore(key, expiry, n > 0)
if not held then n = n + 1 end
if KEYS[2] then
  local high = tonumber(redis.call('GET', KEYS[2]) or '0')
  if n > high then redis.call('SET', KEYS[2], n) end
end
return {1, expired, n, 0}
`,
);

/**
 * KEYS[1] the leases; ARGV: session id, ttl ms. Returns 1 when a live lease
 * was extended, 0 when there is none. XX: a renewal never re-creates a
 * released lease; an expired one is left for the next acquire to remove and
 * report.
 */
export const RENEW = new LuaScript(
  NOW +
    String.raw`
local key, id = KEYS[1], ARGV[1]
local score = redis.call('ZSCORE', key, id)
if not score or tonumber(score) <= now then return 0 end
local expiry = ms(now + tonumber(ARGV[2]))
redis.call('ZADD', key, 'XX', 'GT', expiry, id)
expireNotBefore(key, expiry, true)
return 1
`,
);

/** KEYS[1] the leases. Returns the live leases (expiry after now); removes nothing. */
export const USAGE = new LuaScript(
  NOW +
    String.raw`
return redis.call('ZCOUNT', KEYS[1], '(' .. ms(now), '+inf')
`,
);
