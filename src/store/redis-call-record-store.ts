/**
 * Call records in Redis (cluster mode): any node answers `GET …/Calls` for
 * the calls of every node. Keys (P = prefix, `herald:` by default; {x}
 * percent-encoded as in redis-binding-store.ts):
 *
 *   P cr:{account}:{sid}         string  JSON of the CallRecord, expiring with it
 *   P crt:{account}              zset    sid → start (ms): the account's records, for listing
 *   P crs:{account}:{status}     zset    sid → start (ms): those with that status
 *   P cre:{account}              zset    sid → expiry (ms): for pruning the two above
 *
 * Each write is one Lua script (record and indexes change together). Expiries
 * are on the Redis server's clock (a record written on one node and renewed
 * from another is judged by one clock). A record key expires by itself; its
 * index entries are pruned by the next write of the account, and every index
 * key expires a grace period after the latest record it holds, so an idle or
 * crashed cluster leaves nothing behind.
 */
import {
  CALL_STATUSES,
  DEFAULT_CALL_RECORD_LIFETIMES,
  LIVE_CALL_STATUSES,
  type CallRecord,
  type CallRecordLifetimes,
  type CallRecordStore,
  type ListOptions,
} from './call-record-store.js';
import { LUA_EXPIRING_KEYS, LuaScript, keyPart, replyTexts, type RedisCommander } from './redis-client.js';

export interface RedisCallRecordStoreOptions extends Partial<CallRecordLifetimes> {
  prefix?: string;
  /** How long index keys outlive the latest record they hold, ms. Default 60 s. */
  graceMs?: number;
}

const luaSet = (names: readonly string[]): string => `{ ${names.map((n) => `['${n}'] = true`).join(', ')} }`;

// The shared prelude (ARGV[1] prefix, ARGV[2] grace ms), then ARGV[3] = the account; the script's own arguments from ARGV[4].
const LIB = LUA_EXPIRING_KEYS + String.raw`
local STATUSES = { ${CALL_STATUSES.map((s) => `'${s}'`).join(', ')} }
local LIVE = ${luaSet(LIVE_CALL_STATUSES)}
local ACC = enc(ARGV[3])
local ALL = P .. 'crt:' .. ACC
local EXP = P .. 'cre:' .. ACC
local function recordKey(sid) return P .. 'cr:' .. ACC .. ':' .. enc(sid) end
local function statusKey(status) return P .. 'crs:' .. ACC .. ':' .. status end
local function ms(x) return string.format('%.0f', x) end

-- Index entries of records that have expired (at most 200 a write, so no script runs long).
local function prune()
  for _, sid in ipairs(redis.call('ZRANGEBYSCORE', EXP, '-inf', ms(NOW), 'LIMIT', 0, 200)) do
    redis.call('ZREM', EXP, sid)
    redis.call('ZREM', ALL, sid)
    for _, s in ipairs(STATUSES) do redis.call('ZREM', statusKey(s), sid) end
  end
end

-- Every index key lives until GRACE after the latest record expiry of the account.
local function refreshIndexes()
  local top = redis.call('ZRANGE', EXP, -1, -1, 'WITHSCORES')
  if not top[2] then return end
  local at = tonumber(top[2])
  expireAfter(EXP, at)
  expireAfter(ALL, at)
  for _, s in ipairs(STATUSES) do
    if redis.call('EXISTS', statusKey(s)) == 1 then expireAfter(statusKey(s), at) end
  end
end
`;

// ARGV[4] sid, ARGV[5] JSON, ARGV[6] status, ARGV[7] start ms, ARGV[8] live ttl ms, ARGV[9] retention ms
const PUT = new LuaScript(`${LIB}
prune()
local sid, status = ARGV[4], ARGV[6]
local key = recordKey(sid)
local old = redis.call('GET', key)
if old then
  local was = cjson.decode(old).status
  if was ~= status then redis.call('ZREM', statusKey(was), sid) end
end
local ttl = tonumber(ARGV[9])
if LIVE[status] then ttl = tonumber(ARGV[8]) end
local at = NOW + ttl
redis.call('SET', key, ARGV[5], 'PXAT', ms(at))
redis.call('ZADD', ALL, ARGV[7], sid)
redis.call('ZADD', statusKey(status), ARGV[7], sid)
redis.call('ZADD', EXP, ms(at), sid)
refreshIndexes()
return 1
`);

// ARGV[4] live ttl ms, ARGV[5..] sids
const RENEW = new LuaScript(`${LIB}
local at = NOW + tonumber(ARGV[4])
for i = 5, #ARGV do
  local key = recordKey(ARGV[i])
  local cur = redis.call('GET', key)
  if cur and LIVE[cjson.decode(cur).status] then
    redis.call('PEXPIREAT', key, ms(at))
    redis.call('ZADD', EXP, 'XX', ms(at), ARGV[i])
  end
end
refreshIndexes()
return 1
`);


export class RedisCallRecordStore implements CallRecordStore {
  readonly prefix: string;
  private readonly graceMs: number;
  private readonly lifetimes: CallRecordLifetimes;

  constructor(
    private readonly client: RedisCommander,
    options: RedisCallRecordStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'herald:';
    this.graceMs = options.graceMs ?? 60_000;
    this.lifetimes = {
      liveTtlMs: options.liveTtlMs ?? DEFAULT_CALL_RECORD_LIFETIMES.liveTtlMs,
      retentionMs: options.retentionMs ?? DEFAULT_CALL_RECORD_LIFETIMES.retentionMs,
    };
  }

  async put(record: CallRecord): Promise<void> {
    const start = Date.parse(record.startTime);
    await PUT.run(this.client, [], [
      ...this.lib(record.accountSid),
      record.sid,
      JSON.stringify(record),
      record.status,
      String(Number.isFinite(start) ? start : 0),
      String(this.lifetimes.liveTtlMs),
      String(this.lifetimes.retentionMs),
    ]);
  }

  async renew(accountSid: string, sids: readonly string[]): Promise<void> {
    if (sids.length === 0) return;
    await RENEW.run(this.client, [], [...this.lib(accountSid), String(this.lifetimes.liveTtlMs), ...sids]);
  }

  async get(accountSid: string, sid: string): Promise<CallRecord | null> {
    const [json] = replyTexts([await this.client.sendCommand(['GET', this.recordKey(accountSid, sid)])]);
    return json === null || json === undefined ? null : (JSON.parse(json) as CallRecord);
  }

  async list(accountSid: string, options: ListOptions): Promise<CallRecord[]> {
    const acc = keyPart(accountSid);
    const index = options.status === undefined ? `${this.prefix}crt:${acc}` : `${this.prefix}crs:${acc}:${options.status}`;
    const out: CallRecord[] = [];
    const seen = new Set<string>();
    // Pages of the index, newest first; entries whose record has expired (not yet pruned) are passed over.
    for (let offset = 0; out.length < options.limit; offset += options.limit) {
      const sids = replyTexts(await this.client.sendCommand(['ZREVRANGE', index, String(offset), String(offset + options.limit - 1)]));
      const live = sids.filter((s): s is string => s !== null);
      if (live.length === 0) break;
      const jsons = replyTexts(await this.client.sendCommand(['MGET', ...live.map((sid) => this.recordKey(accountSid, sid))]));
      for (const json of jsons) {
        if (json === null) continue;
        const record = JSON.parse(json) as CallRecord;
        // A record may change between the two reads (another status, another place in the index): the record decides.
        if (seen.has(record.sid) || (options.status !== undefined && record.status !== options.status)) continue;
        seen.add(record.sid);
        out.push(record);
        if (out.length >= options.limit) break;
      }
      if (live.length < options.limit) break;
    }
    return out;
  }

  private recordKey(accountSid: string, sid: string): string {
    return `${this.prefix}cr:${keyPart(accountSid)}:${keyPart(sid)}`;
  }

  private lib(accountSid: string): string[] {
    return [this.prefix, String(this.graceMs), accountSid];
  }
}
