/**
 * The Redis gate batches: what its callers issue in one tick goes to Redis as
 * one EVALSHA of the lease script, whose items are decided in issue order.
 * These tests hold it to what a caller could see without batching: the same
 * answers in the same order, a failing item failing alone, batches larger
 * than one command still in order, and a closed client rejecting every item.
 * (The behaviour suite, gate.test.ts, and the exactness suite run the same
 * gate too.)
 */
import { expect } from 'chai';
import { RedisConcurrencyGate } from '../../../src/gate/redis-gate.js';
import { connectRedis, type RedisClient } from '../../../src/store/redis-client.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';

const AC = 'AC0123456789abcdef0123456789abcdef';
const TTL = 30_000;

/** EVALSHA and EVAL commands Redis has run so far (INFO commandstats). */
async function scriptCommands(client: RedisClient): Promise<number> {
  const info = String(await client.sendCommand(['INFO', 'commandstats']));
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(m[1]);
  return calls;
}

describe('Redis gate: batched operations', function () {
  this.timeout(30_000);
  let server: RedisServer;
  let client: RedisClient;
  let gate: RedisConcurrencyGate;

  before(async () => {
    server = await startRedis();
    client = await connectRedis(server.url);
  });
  beforeEach(async () => {
    await client.flushAll();
    gate = new RedisConcurrencyGate(client);
    // The first use loads the script (EVALSHA fails, EVAL follows): keep that out of the counts.
    await gate.usage(AC, 'calls');
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  it('operations issued in one tick go to Redis as one command', async () => {
    const before = await scriptCommands(client);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => gate.acquire(AC, 'calls', `s${i}`, 20, TTL)));
    expect(results.filter((r) => r.granted)).to.have.length(20);
    // The INFO command itself is not a script; the 50 acquires are one.
    expect((await scriptCommands(client)) - before).to.equal(1);
  });

  it('items of one batch are decided in the order they were issued', async () => {
    // Without awaiting: all six leave in one batch, for one key, limit 1.
    const [a, releaseA, b, releaseAgain, c, usage] = await Promise.all([
      gate.acquire(AC, 'calls', 'a', 1, TTL),
      gate.release(AC, 'calls', 'a'),
      gate.acquire(AC, 'calls', 'b', 1, TTL),
      gate.release(AC, 'calls', 'a'),
      gate.acquire(AC, 'calls', 'c', 1, TTL),
      gate.usage(AC, 'calls'),
    ]);
    expect(a.granted).to.equal(true);
    expect(releaseA).to.equal(true);
    expect(b.granted, 'b takes the slot a gave back').to.equal(true);
    expect(releaseAgain, 'the second release of a is a no-op').to.equal(false);
    expect(c).to.include({ granted: false, inUse: 1, limit: 1 });
    expect(usage).to.equal(1);
    // A renewal before the acquire in the same batch finds nothing; after it, the lease.
    const [renewBefore, d, renewAfter] = await Promise.all([
      gate.renew(AC, 'calls', 'd', TTL),
      gate.acquire(AC, 'calls', 'd', 2, TTL),
      gate.renew(AC, 'calls', 'd', TTL),
    ]);
    expect([renewBefore, d.granted, renewAfter]).to.deep.equal([false, true, true]);
  });

  it('more items than one command carries: still one decision order, the first issued win', async () => {
    const before = await scriptCommands(client);
    const results = await Promise.all(Array.from({ length: 1500 }, (_, i) => gate.acquire(AC, 'calls', `s${i}`, 1000, TTL)));
    const granted = results.map((r, i) => (r.granted ? i : -1)).filter((i) => i >= 0);
    expect(granted).to.have.length(1000);
    expect(granted[999], 'exactly the first 1,000 issued are granted').to.equal(999);
    expect((await scriptCommands(client)) - before).to.be.at.least(3);
    expect(await gate.usage(AC, 'calls')).to.equal(1000);
  });

  it('an item Redis cannot apply fails alone; the others of its batch stand', async () => {
    // Someone else's string where a lease set should be: ZADD on it is a WRONGTYPE error.
    await client.set(gate.key('ACbroken', 'calls'), 'not a sorted set');
    const outcomes = await Promise.allSettled([
      gate.acquire(AC, 'calls', 'before', 5, TTL),
      gate.acquire('ACbroken', 'calls', 'x', 5, TTL),
      gate.release('ACbroken', 'calls', 'x'),
      gate.acquire(AC, 'calls', 'after', 5, TTL),
    ]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const failure = (outcomes[1] as PromiseRejectedResult).reason as Error;
    expect(failure.message).to.match(/WRONGTYPE/);
    expect(await gate.usage(AC, 'calls'), 'both good acquires hold their lease').to.equal(2);
    expect(await client.get(gate.key('ACbroken', 'calls'))).to.equal('not a sorted set');
  });

  it('a closed client rejects every item of the batch and holds nothing', async () => {
    const other = await connectRedis(server.url);
    const otherGate = new RedisConcurrencyGate(other);
    await other.close();
    const outcomes = await Promise.allSettled([otherGate.acquire(AC, 'calls', 'a', 5, TTL), otherGate.release(AC, 'calls', 'b')]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'rejected']);
    expect(await gate.usage(AC, 'calls')).to.equal(0);
  });
});
