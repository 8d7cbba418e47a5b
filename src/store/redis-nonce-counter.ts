/**
 * Digest nonce-counts in Redis (cluster mode): the highest nonce-count seen
 * per nonce, one key per nonce that expires with it. Every node checks and
 * advances the same count in one script, so a request replayed to any node
 * of the cluster is refused (RFC 7616 §5.5).
 *
 *   P dn:{realm}:{nonce}   string   highest nc seen
 */
import type { CountVerdict, SharedNonceCounter } from '../auth/digest-nonce.js';
import { LuaScript, keyPart, type RedisCommander } from './redis-client.js';

// KEYS[1] the count; ARGV: nc, ttl ms. 1 = advanced, 0 = not greater (replay).
const ADVANCE = new LuaScript(`
local cur = tonumber(redis.call('GET', KEYS[1]))
local nc = tonumber(ARGV[1])
if cur and nc <= cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);


export class RedisNonceCounter implements SharedNonceCounter {
  constructor(
    private readonly client: RedisCommander,
    private readonly prefix = 'herald:',
  ) {}

  async advance(realm: string, nonce: string, issuedAt: number, nc: number, nowMs: number, ttlMs: number): Promise<CountVerdict> {
    // The key outlives the nonce's validity (the nonce's own age check refuses it after), plus slack for clocks.
    const ttl = Math.max(1000, Math.ceil(issuedAt + ttlMs - nowMs) + 60_000);
    const reply = await ADVANCE.run(this.client, [`${this.prefix}dn:${keyPart(realm)}:${nonce}`], [String(nc), String(ttl)]);
    return reply === 1 || reply === 1n ? 'ok' : 'replay';
  }
}
