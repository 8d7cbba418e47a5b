/**
 * Presence records in Redis (cluster mode). One string key per client:
 *
 *   P p:{account}:{identity}   string   JSON of the PresenceRecord
 *   P ps:{account}:{identity}  string   JSON of the SeenStatus (last effective status observed)
 *
 * (P = prefix, `herald:` by default; {x} percent-encoded as in
 * redis-binding-store.ts). Every write sets the key's TTL again (7 days by
 * default), so statuses of clients gone for good disappear by themselves.
 * The SIP-If-Match compare-and-set is one Lua script.
 */
import type { PresenceRecord, SeenStatus } from '../presence/status.js';
import type { PresenceStore } from './presence-store.js';
import { LuaScript, keyPart, type RedisCommander } from './redis-client.js';

export interface RedisPresenceStoreOptions {
  /** Key prefix; default `herald:`. */
  prefix?: string;
  /** Lifetime of a record after its last write, ms; default 7 days. */
  ttlMs?: number;
}

// KEYS[1] the record; ARGV: etag, new JSON, ttl ms.
const REPLACE_IF_ETAG = new LuaScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, rec = pcall(cjson.decode, cur)
if not ok or type(rec) ~= 'table' or rec.etag ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`);

// KEYS[1] the seen status; ARGV: new JSON, its status, ttl ms. Returns the old JSON (or false).
const SWAP_SEEN = new LuaScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if ok and type(rec) == 'table' and rec.status == ARGV[2] then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return cur
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return cur
`);


function text(reply: unknown): string | null {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  throw new Error('unexpected reply from Redis');
}

export class RedisPresenceStore implements PresenceStore {
  readonly prefix: string;
  private readonly ttlMs: number;

  /** `client`: a connected node-redis client (see `connectRedis`); the store does not close it. */
  constructor(
    private readonly client: RedisCommander,
    options: RedisPresenceStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'herald:';
    this.ttlMs = options.ttlMs ?? 7 * 24 * 3600 * 1000;
    if (!(Number.isInteger(this.ttlMs) && this.ttlMs >= 1)) throw new RangeError('ttlMs must be a whole number >= 1');
  }

  async get(accountSid: string, identity: string): Promise<PresenceRecord | null> {
    const json = text(await this.client.sendCommand(['GET', this.key(accountSid, identity)]));
    return json === null ? null : (JSON.parse(json) as PresenceRecord);
  }

  async getMany(accountSid: string, identities: readonly string[]): Promise<Map<string, PresenceRecord>> {
    const out = new Map<string, PresenceRecord>();
    if (identities.length === 0) return out;
    const reply = await this.client.sendCommand(['MGET', ...identities.map((id) => this.key(accountSid, id))]);
    if (!Array.isArray(reply)) throw new Error('unexpected reply to MGET');
    identities.forEach((id, i) => {
      const json = text(reply[i]);
      if (json !== null) out.set(id, JSON.parse(json) as PresenceRecord);
    });
    return out;
  }

  async put(accountSid: string, identity: string, record: PresenceRecord): Promise<void> {
    await this.client.sendCommand(['SET', this.key(accountSid, identity), JSON.stringify(record), 'PX', String(this.ttlMs)]);
  }

  async replaceIfEtag(accountSid: string, identity: string, etag: string, record: PresenceRecord): Promise<boolean> {
    const reply = await REPLACE_IF_ETAG.run(this.client, [this.key(accountSid, identity)], [etag, JSON.stringify(record), String(this.ttlMs)]);
    return reply === 1 || reply === 1n;
  }

  async remove(accountSid: string, identity: string): Promise<boolean> {
    const n = await this.client.sendCommand(['DEL', this.key(accountSid, identity)]);
    return n === 1 || n === 1n;
  }

  async swapSeen(accountSid: string, identity: string, seen: SeenStatus): Promise<SeenStatus | null> {
    const reply = await SWAP_SEEN.run(this.client, [this.seenKey(accountSid, identity)], [JSON.stringify(seen), seen.status, String(this.ttlMs)]);
    const json = reply === false || reply === 0 ? null : text(reply);
    return json === null ? null : (JSON.parse(json) as SeenStatus);
  }

  async getSeen(accountSid: string, identity: string): Promise<SeenStatus | null> {
    const json = text(await this.client.sendCommand(['GET', this.seenKey(accountSid, identity)]));
    return json === null ? null : (JSON.parse(json) as SeenStatus);
  }

  private seenKey(accountSid: string, identity: string): string {
    return `${this.prefix}ps:${keyPart(accountSid)}:${keyPart(identity)}`;
  }

  private key(accountSid: string, identity: string): string {
    return `${this.prefix}p:${keyPart(accountSid)}:${keyPart(identity)}`;
  }
}
