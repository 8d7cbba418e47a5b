/**
 * One behaviour suite for every ConcurrencyGate (DESIGN "Gate leases, not
 * counters"): the memory gate, and the Redis gate against a real
 * redis-server. Lease expiry is real time (Redis expires by its own clock),
 * so the TTLs here are short and every wait is a poll with a generous
 * deadline, never a tight bound.
 */
import { expect } from 'chai';
import type { AcquireResult, ConcurrencyGate } from '../../../src/gate/gate.js';
import { holdLease, type HeldLease } from '../../../src/gate/hold-lease.js';
import type { RedisConcurrencyGate } from '../../../src/gate/redis-gate.js';
import { waitForSlot } from '../../../src/gate/wait-for-slot.js';
import { eventually, memoryImpl, redisImpl, sleep } from './impls.js';

const AC = 'AC0123456789abcdef0123456789abcdef';
const OTHER = 'ACfedcba9876543210fedcba9876543210';
const TTL = 30_000;

function refused(r: AcquireResult): Extract<AcquireResult, { granted: false }> {
  expect(r.granted, 'expected a refusal').to.equal(false);
  return r as Extract<AcquireResult, { granted: false }>;
}

for (const impl of [memoryImpl(), redisImpl()]) {
  describe(`ConcurrencyGate (${impl.name})`, function () {
    let gate: ConcurrencyGate;

    before(() => impl.before());
    after(() => impl.after());
    beforeEach(async () => {
      gate = await impl.fresh();
    });

    it('grants up to the limit, then refuses with inUse, limit and a Retry-After bounded by the TTL', async () => {
      for (let i = 0; i < 3; i++) expect(await gate.acquire(AC, 'calls', `s${i}`, 3, TTL)).to.deep.equal({ granted: true, expired: 0 });
      const r = refused(await gate.acquire(AC, 'calls', 's3', 3, TTL));
      expect(r).to.include({ inUse: 3, limit: 3, expired: 0 });
      expect(r.retryAfterSeconds).to.be.within(1, TTL / 1000);
      expect(await gate.usage(AC, 'calls')).to.equal(3);
    });

    it('release gives the slot back; a second release or an unknown id changes nothing', async () => {
      await gate.acquire(AC, 'calls', 'a', 2, TTL);
      await gate.acquire(AC, 'calls', 'b', 2, TTL);
      expect(await gate.release(AC, 'calls', 'a')).to.equal(true);
      expect(await gate.usage(AC, 'calls')).to.equal(1);
      // The double BYE, and a BYE for a call that never got a slot.
      expect(await gate.release(AC, 'calls', 'a')).to.equal(false);
      expect(await gate.release(AC, 'calls', 'never')).to.equal(false);
      expect(await gate.release(OTHER, 'calls', 'b')).to.equal(false);
      expect(await gate.usage(AC, 'calls')).to.equal(1);
      // Exactly one slot came back: one more fits, the next does not.
      expect((await gate.acquire(AC, 'calls', 'c', 2, TTL)).granted).to.equal(true);
      expect((await gate.acquire(AC, 'calls', 'd', 2, TTL)).granted).to.equal(false);
      await gate.release(AC, 'calls', 'b');
      await gate.release(AC, 'calls', 'c');
      expect(await gate.usage(AC, 'calls')).to.equal(0);
      expect(await gate.release(AC, 'calls', 'c')).to.equal(false);
    });

    it('a session acquiring again keeps its one slot, even at the limit', async () => {
      expect((await gate.acquire(AC, 'calls', 'retry', 2, TTL)).granted).to.equal(true);
      expect((await gate.acquire(AC, 'calls', 'retry', 2, TTL)).granted).to.equal(true);
      expect(await gate.usage(AC, 'calls')).to.equal(1);
      expect((await gate.acquire(AC, 'calls', 'other', 2, TTL)).granted).to.equal(true);
      // Full, but 'retry' already holds a slot: granted, still two in use.
      expect((await gate.acquire(AC, 'calls', 'retry', 2, TTL)).granted).to.equal(true);
      expect(await gate.usage(AC, 'calls')).to.equal(2);
      // One release frees it however often it was acquired.
      expect(await gate.release(AC, 'calls', 'retry')).to.equal(true);
      expect(await gate.usage(AC, 'calls')).to.equal(1);
    });

    it('accounts and resource types have separate slots', async () => {
      expect((await gate.acquire(AC, 'api:Presence', 'x', 1, TTL)).granted).to.equal(true);
      expect((await gate.acquire(AC, 'api:Tokens', 'x', 1, TTL)).granted).to.equal(true);
      expect((await gate.acquire(OTHER, 'api:Presence', 'x', 1, TTL)).granted).to.equal(true);
      expect((await gate.acquire(AC, 'api:Presence', 'y', 1, TTL)).granted).to.equal(false);
      // Names that only differ around the separator do not share a key.
      expect((await gate.acquire('a:b', 'c', 'x', 1, TTL)).granted).to.equal(true);
      expect((await gate.acquire('a', 'b:c', 'x', 1, TTL)).granted).to.equal(true);
      expect(await gate.usage(AC, 'api:Presence')).to.equal(1);
      expect(await gate.usage(AC, 'api:Clients')).to.equal(0);
      await gate.release(AC, 'api:Presence', 'x');
      expect(await gate.usage(AC, 'api:Tokens')).to.equal(1);
    });

    it('limit 0 refuses everything; arguments no caller should pass are rejected', async () => {
      expect(refused(await gate.acquire(AC, 'calls', 'a', 0, TTL))).to.include({ inUse: 0, limit: 0 });
      await expectRejection(gate.acquire(AC, 'calls', 'a', -1, TTL));
      await expectRejection(gate.acquire(AC, 'calls', 'a', 1.5, TTL));
      await expectRejection(gate.acquire(AC, 'calls', 'a', 1, 0));
      await expectRejection(gate.acquire(AC, 'calls', '', 1, TTL));
      expect(await gate.usage(AC, 'calls')).to.equal(0);
    });

    it('a lease nobody renews expires within its TTL; the next acquire removes it and says so', async () => {
      const ttl = 1000;
      const start = Date.now();
      await gate.acquire(AC, 'calls', 'crashed-1', 2, ttl);
      await gate.acquire(AC, 'calls', 'crashed-2', 2, ttl);
      // The TTL runs on the gate's clock; Date.now() is only a generous outer bound here.
      if (Date.now() - start < ttl / 2) expect((await gate.acquire(AC, 'calls', 'early', 2, TTL)).granted).to.equal(false);
      await eventually('usage drops to 0', async () => (await gate.usage(AC, 'calls')) === 0);
      expect(Date.now() - start).to.be.at.least(ttl - 50);
      const r = await gate.acquire(AC, 'calls', 'next', 2, TTL);
      // Redis may also have dropped the whole key by itself (it expires with its latest lease): then nothing is left to report.
      if (impl.name === 'memory') expect(r).to.deep.equal({ granted: true, expired: 2 });
      else expect(r.granted).to.equal(true);
      expect(await gate.usage(AC, 'calls')).to.equal(1);
    });

    it('an acquire reports the expired leases it removes while others are still held', async () => {
      await gate.acquire(AC, 'calls', 'live', 3, TTL);
      await gate.acquire(AC, 'calls', 'gone-1', 3, 300);
      await gate.acquire(AC, 'calls', 'gone-2', 3, 300);
      await eventually('the short leases expire', async () => (await gate.usage(AC, 'calls')) === 1);
      expect(await gate.acquire(AC, 'calls', 'new', 3, TTL)).to.deep.equal({ granted: true, expired: 2 });
      expect(await gate.usage(AC, 'calls')).to.equal(2);
      // Releasing an expired-and-removed lease is a no-op like any other.
      expect(await gate.release(AC, 'calls', 'gone-1')).to.equal(false);
    });

    it('renew extends a live lease; it never revives a released, unknown or expired one', async () => {
      const start = Date.now();
      await gate.acquire(AC, 'calls', 'a', 1, 1000);
      expect(await gate.renew(AC, 'calls', 'a', 10_000)).to.equal(true);
      await sleep(Math.max(0, start + 1300 - Date.now()));
      // Past the first expiry: still held, so still full.
      expect(await gate.usage(AC, 'calls')).to.equal(1);
      expect((await gate.acquire(AC, 'calls', 'b', 1, TTL)).granted).to.equal(false);

      expect(await gate.renew(AC, 'calls', 'unknown', TTL)).to.equal(false);
      await gate.release(AC, 'calls', 'a');
      expect(await gate.renew(AC, 'calls', 'a', TTL)).to.equal(false);
      expect(await gate.usage(AC, 'calls')).to.equal(0);

      await gate.acquire(AC, 'calls', 'short', 1, 200);
      await eventually('the short lease expires', async () => (await gate.usage(AC, 'calls')) === 0);
      expect(await gate.renew(AC, 'calls', 'short', TTL)).to.equal(false);
      expect(await gate.usage(AC, 'calls')).to.equal(0);
      expect((await gate.acquire(AC, 'calls', 'b', 1, TTL)).granted).to.equal(true);
    });

    it('holdLease renews on a timer past the TTL; its release is idempotent; it passes refusals on', async () => {
      const ttl = 900;
      const held = await holdLease(gate, AC, 'calls', 'held', 1, { ttlMs: ttl });
      expect(held.granted).to.equal(true);
      const lease = (held as { lease: HeldLease }).lease;
      await sleep(2 * ttl + 200);
      expect(lease.lost).to.equal(false);
      expect(await gate.usage(AC, 'calls')).to.equal(1);
      const other = await holdLease(gate, AC, 'calls', 'other', 1, { ttlMs: ttl });
      expect(other).to.include({ granted: false, inUse: 1, limit: 1 });
      expect(other).to.not.have.property('lease');
      await Promise.all([lease.release(), lease.release()]);
      await lease.release();
      expect(await gate.usage(AC, 'calls')).to.equal(0);
      // Released means released: no renewal brings it back.
      await sleep(ttl);
      expect(await gate.usage(AC, 'calls')).to.equal(0);
    });

    it('holdLease reports a lease lost when a renewal finds it gone', async () => {
      let lostLease: HeldLease | null = null;
      const held = await holdLease(gate, AC, 'calls', 'fragile', 1, { ttlMs: 300, onLost: (l) => (lostLease = l) });
      expect(held.granted).to.equal(true);
      // Taken away behind the holder's back (as if it had expired while the store was unreachable).
      await gate.release(AC, 'calls', 'fragile');
      await eventually('onLost is called', async () => lostLease !== null);
      expect(lostLease!.lost).to.equal(true);
      expect(await gate.usage(AC, 'calls')).to.equal(0);
    });

    it('of 200 concurrent acquires with limit 10 exactly 10 are granted', async () => {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => gate.acquire(AC, 'calls', `c${i}`, 10, TTL)));
      expect(results.filter((r) => r.granted)).to.have.length(10);
      expect(await gate.usage(AC, 'calls')).to.equal(10);
      await Promise.all(Array.from({ length: 200 }, (_, i) => gate.release(AC, 'calls', `c${i}`)));
      expect(await gate.usage(AC, 'calls')).to.equal(0);
    });

    describe('waiting for a slot', () => {
      const wake = (g: ConcurrencyGate) => (g.waitForRelease !== undefined ? { wake: (ms: number) => g.waitForRelease!(AC, 'api:Presence', ms) } : {});

      it('a waiter gets the slot a release frees', async () => {
        await gate.acquire(AC, 'api:Presence', 'holder', 1, TTL);
        let attempts = 0;
        let firstRefusal!: () => void;
        const refusedOnce = new Promise<void>((r) => (firstRefusal = r));
        const waiting = waitForSlot(
          async () => {
            attempts += 1;
            const r = await gate.acquire(AC, 'api:Presence', 'waiter', 1, TTL);
            if (!r.granted) firstRefusal();
            return r;
          },
          { waitMs: 20_000, ...wake(gate) },
        ).then((r) => ({ r, at: Date.now() }));
        await refusedOnce;
        const releasedAt = Date.now();
        await gate.release(AC, 'api:Presence', 'holder');
        const { r, at } = await waiting;
        expect(r.granted).to.equal(true);
        expect(at).to.be.at.least(releasedAt);
        expect(attempts).to.be.at.least(2);
        expect(await gate.usage(AC, 'api:Presence')).to.equal(1);
      });

      it('gives up after waitMs with the refusal', async () => {
        await gate.acquire(AC, 'api:Presence', 'holder', 1, TTL);
        const start = Date.now();
        const r = await waitForSlot(() => gate.acquire(AC, 'api:Presence', 'waiter', 1, TTL), { waitMs: 300, ...wake(gate) });
        expect(r.granted).to.equal(false);
        expect(Date.now() - start).to.be.at.least(290);
        expect(await gate.usage(AC, 'api:Presence')).to.equal(1);
      });

      it('stops when its signal aborts (the client went away)', async function () {
        this.timeout(10_000);
        await gate.acquire(AC, 'api:Presence', 'holder', 1, TTL);
        const gone = new AbortController();
        let firstRefusal!: () => void;
        const refusedOnce = new Promise<void>((r) => (firstRefusal = r));
        const waiting = waitForSlot(
          async () => {
            const r = await gate.acquire(AC, 'api:Presence', 'waiter', 1, TTL);
            if (!r.granted) firstRefusal();
            return r;
          },
          { waitMs: 60_000, signal: gone.signal, ...wake(gate) },
        );
        await refusedOnce;
        gone.abort();
        expect((await waiting).granted).to.equal(false);
      });
    });

    if (impl.name === 'redis') {
      describe('Redis keys', () => {
        it('the set expires with its latest lease and goes with its last release', async () => {
          const { client } = impl.redis();
          const key = (gate as RedisConcurrencyGate).key(AC, 'calls');
          await gate.acquire(AC, 'calls', 'a', 5, 2000);
          await gate.acquire(AC, 'calls', 'b', 5, 8000);
          const pttl = await client.pTTL(key);
          expect(pttl).to.be.within(1, 8000);
          expect(pttl).to.be.above(2000);
          await gate.release(AC, 'calls', 'a');
          await gate.release(AC, 'calls', 'b');
          expect(await client.exists(key)).to.equal(0);
        });

        it('a set whose holders all vanished disappears by itself', async () => {
          const { client } = impl.redis();
          const key = (gate as RedisConcurrencyGate).key(AC, 'calls');
          await gate.acquire(AC, 'calls', 'a', 5, 300);
          expect(await client.exists(key)).to.equal(1);
          await eventually('the key expires', async () => (await client.exists(key)) === 0);
        });
      });
    }
  });
}

async function expectRejection(p: Promise<unknown>): Promise<void> {
  let threw = false;
  try {
    await p;
  } catch (err) {
    threw = err instanceof RangeError;
  }
  expect(threw, 'expected a RangeError').to.equal(true);
}
