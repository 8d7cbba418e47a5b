/**
 * The Redis connection the Redis stores share (cluster mode, CONTRACT §1
 * `HERALD_REDIS_URL`), and a small runner for the Lua scripts that make
 * their multi-key updates atomic.
 */
import { createHash } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';

/** What `connectRedis` returns: a plain node-redis client (single server, not Redis Cluster). */
export type RedisClient = RedisClientType;

/**
 * The one method the stores call. Any connected node-redis client (v4 on,
 * RESP2 or RESP3, with or without modules) has it; asking for no more keeps
 * the stores free of node-redis's generic client types.
 */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface ConnectRedisOptions {
  /** Give up the first connection after this long (the server must not report ready without its store). Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Connection errors after start (node-redis emits them while it
   * reconnects; without a listener they would crash the process). Commands
   * issued meanwhile wait in node-redis's offline queue and reject on their
   * own if the client closes, so callers still see their failures.
   */
  onError?: (err: Error) => void;
}

/**
 * Connects to `url` (`redis://[user:password@]host:port[/db]`, or `rediss://`
 * for TLS) and resolves once the server answers. The first connection is
 * bounded by `connectTimeoutMs`; after that the client reconnects by itself
 * with a capped back-off.
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<RedisClient> {
  const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
  let connected = false;
  const client: RedisClient = createClient({
    url,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      reconnectStrategy: (retries, cause) => {
        // Before the first success, an Error ends connect() with it; afterwards retry forever.
        if (!connected && Date.now() >= deadline) return new Error(`Redis at ${redactUrl(url)} unreachable: ${cause.message}`);
        return Math.min(50 * 2 ** Math.min(retries, 6), 2000);
      },
    },
  });
  client.on('error', (err: Error) => options.onError?.(err));
  await client.connect();
  connected = true;
  return client;
}

/**
 * A value as one field of a key name: `%`, `:` and newline percent-encoded,
 * so that `:` separates fields unambiguously (the Lua scripts encode the same way).
 */
export function keyPart(s: string): string {
  return s.replace(/[%:\n]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * The start of every store script whose keys expire a grace period after
 * what they hold. ARGV[1] = key prefix, ARGV[2] = grace (ms); the script's
 * own arguments follow from ARGV[3]. Defines P, GRACE, NOW (Redis's clock,
 * ms), enc() (= keyPart), expireAfter(key, at) and expireZset(key).
 */
export const LUA_EXPIRING_KEYS = String.raw`
local P = ARGV[1]
local GRACE = tonumber(ARGV[2])
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Same encoding as keyPart() in TypeScript: % : and newline as %XX.
local function enc(s)
  return (string.gsub(s, '[%%:\n]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
-- A key lives until GRACE after 'at', and at least GRACE from now (Redis's clock),
-- so a record written with a caller's clock a little behind is not dropped at once.
local function expireAfter(key, at)
  local deadline = math.ceil(math.max(at, NOW) + GRACE)
  redis.call('PEXPIREAT', key, string.format('%.0f', deadline))
end
-- A sorted set indexed by expiry lives until GRACE after its highest score
-- (an empty one no longer exists: Redis deletes empty sets).
local function expireZset(key)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then expireAfter(key, tonumber(top[2])) end
end
`;

/** A reply that is a list of bulk strings (MGET, ZRANGE, a script's table) as strings, nil as null. */
export function replyTexts(reply: unknown): Array<string | null> {
  if (!Array.isArray(reply)) throw new Error('unexpected reply from Redis');
  return reply.map((r: unknown) => (r === null || r === undefined ? null : Buffer.isBuffer(r) ? r.toString('utf8') : String(r)));
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/**
 * A Lua script run by EVALSHA, falling back to EVAL (which also caches it)
 * when the server does not know it yet (first use, restart, SCRIPT FLUSH).
 * Redis runs a script atomically: no other command interleaves with it.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisCommander, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await client.sendCommand(['EVALSHA', this.sha, ...tail]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.sendCommand(['EVAL', this.source, ...tail]);
    }
  }
}
