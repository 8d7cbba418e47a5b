/**
 * One behaviour suite for every PresenceStore: the embedded memory store and
 * the Redis store against a real redis-server (keys with a TTL refreshed on
 * every write).
 */
import { expect } from 'chai';
import type { PresenceRecord, PresenceStatus, SeenStatus } from '../../../src/presence/status.js';
import { MemoryPresenceStore } from '../../../src/store/memory-presence-store.js';
import type { PresenceStore } from '../../../src/store/presence-store.js';
import { RedisPresenceStore } from '../../../src/store/redis-presence-store.js';
import type { RedisClient } from '../../../src/store/redis-client.js';
import { redisFixture } from '../../helpers/redis-fixture.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const OTHER_ACCOUNT = 'ACfedcba9876543210fedcba9876543210';

const rec = (over: Partial<PresenceRecord> = {}): PresenceRecord => ({
  status: 'away',
  changedAt: 1_700_000_000_000,
  etag: null,
  expiresAt: null,
  ...over,
});

interface Impl {
  name: string;
  before(): Promise<void>;
  fresh(): Promise<PresenceStore>;
  /** Another handle on the data of the last fresh() store, as a second node would have (Redis: its own connection). */
  twin(store: PresenceStore): PresenceStore;
  after(): Promise<void>;
}

const redis = redisFixture();
/** The first store's connection (Redis specifics below read keys through it), and a second node's. */
let client: RedisClient | undefined;
let client2: RedisClient | undefined;

const memory: Impl = {
  name: 'memory',
  before: async () => {},
  fresh: async () => new MemoryPresenceStore(),
  twin: (store) => store,
  after: async () => {},
};

const redisImpl: Impl = {
  name: 'redis',
  before: async () => {
    await redis.start();
    client2 = await redis.connect();
  },
  fresh: async () => new RedisPresenceStore((client = await redis.fresh())),
  twin: () => new RedisPresenceStore(client2!),
  after: () => redis.stop(),
};

const seen = (status: PresenceStatus, at: number): SeenStatus => ({ status, at });

for (const impl of [memory, redisImpl]) {
  describe(`PresenceStore (${impl.name})`, () => {
    let store: PresenceStore;

    before(() => impl.before());
    after(() => impl.after());
    beforeEach(async () => {
      store = await impl.fresh();
    });

    it('gets what was put, per account and identity; null for the rest', async () => {
      const a = rec({ status: 'dnd', etag: 'e1', expiresAt: 1_700_000_060_000 });
      const b = rec({ status: 'away' });
      await store.put(ACCOUNT, 'alice', a);
      await store.put(OTHER_ACCOUNT, 'alice', b);
      expect(await store.get(ACCOUNT, 'alice')).to.deep.equal(a);
      expect(await store.get(OTHER_ACCOUNT, 'alice')).to.deep.equal(b);
      expect(await store.get(ACCOUNT, 'bob')).to.equal(null);
    });

    it('put replaces; remove removes once', async () => {
      await store.put(ACCOUNT, 'alice', rec({ status: 'away' }));
      await store.put(ACCOUNT, 'alice', rec({ status: 'available', changedAt: 5 }));
      expect(await store.get(ACCOUNT, 'alice')).to.deep.equal(rec({ status: 'available', changedAt: 5 }));
      expect(await store.remove(ACCOUNT, 'alice')).to.equal(true);
      expect(await store.remove(ACCOUNT, 'alice')).to.equal(false);
      expect(await store.get(ACCOUNT, 'alice')).to.equal(null);
    });

    it('keeps apart keys whose names only differ in where a separator falls', async () => {
      await store.put('AC:1', 'x', rec({ status: 'dnd' }));
      await store.put('AC', '1:x', rec({ status: 'away' }));
      await store.put('AC', '100%25:\nz', rec({ status: 'available' }));
      expect((await store.get('AC:1', 'x'))?.status).to.equal('dnd');
      expect((await store.get('AC', '1:x'))?.status).to.equal('away');
      expect((await store.get('AC', '100%25:\nz'))?.status).to.equal('available');
    });

    it('getMany returns the records that exist', async () => {
      await store.put(ACCOUNT, 'alice', rec({ status: 'dnd' }));
      await store.put(ACCOUNT, 'carol', rec({ status: 'away' }));
      await store.put(OTHER_ACCOUNT, 'bob', rec());
      const m = await store.getMany(ACCOUNT, ['alice', 'bob', 'carol']);
      expect([...m.keys()].sort()).to.deep.equal(['alice', 'carol']);
      expect(m.get('alice')).to.deep.equal(rec({ status: 'dnd' }));
      expect((await store.getMany(ACCOUNT, [])).size).to.equal(0);
    });

    it('replaceIfEtag writes only over the record with that entity tag', async () => {
      await store.put(ACCOUNT, 'alice', rec({ status: 'dnd', etag: 'tag-1', expiresAt: 10 }));
      const next = rec({ status: 'dnd', etag: 'tag-2', expiresAt: 20 });
      expect(await store.replaceIfEtag(ACCOUNT, 'alice', 'tag-0', next)).to.equal(false);
      expect((await store.get(ACCOUNT, 'alice'))?.etag).to.equal('tag-1');
      expect(await store.replaceIfEtag(ACCOUNT, 'alice', 'tag-1', next)).to.equal(true);
      expect(await store.get(ACCOUNT, 'alice')).to.deep.equal(next);
      // The old tag is spent; a record without a tag (REST) matches none; no record matches none.
      expect(await store.replaceIfEtag(ACCOUNT, 'alice', 'tag-1', rec())).to.equal(false);
      await store.put(ACCOUNT, 'alice', rec({ etag: null }));
      expect(await store.replaceIfEtag(ACCOUNT, 'alice', 'tag-2', rec())).to.equal(false);
      expect(await store.replaceIfEtag(ACCOUNT, 'nobody', 'tag-2', rec())).to.equal(false);
      expect(await store.get(ACCOUNT, 'nobody')).to.equal(null);
    });

    it('swapSeen records the first status seen and returns null', async () => {
      expect(await store.getSeen(ACCOUNT, 'alice')).to.equal(null);
      expect(await store.swapSeen(ACCOUNT, 'alice', seen('available', 1000))).to.equal(null);
      expect(await store.getSeen(ACCOUNT, 'alice')).to.deep.equal(seen('available', 1000));
    });

    it('swapSeen of the status held returns it and keeps when it began', async () => {
      await store.swapSeen(ACCOUNT, 'alice', seen('away', 1000));
      expect(await store.swapSeen(ACCOUNT, 'alice', seen('away', 2000))).to.deep.equal(seen('away', 1000));
      expect(await store.swapSeen(ACCOUNT, 'alice', seen('away', 3000))).to.deep.equal(seen('away', 1000));
      expect(await store.getSeen(ACCOUNT, 'alice')).to.deep.equal(seen('away', 1000));
    });

    it('swapSeen of another status returns the previous one and records the new', async () => {
      await store.swapSeen(ACCOUNT, 'alice', seen('available', 1000));
      expect(await store.swapSeen(ACCOUNT, 'alice', seen('busy', 2000))).to.deep.equal(seen('available', 1000));
      expect(await store.getSeen(ACCOUNT, 'alice')).to.deep.equal(seen('busy', 2000));
      expect(await store.swapSeen(ACCOUNT, 'alice', seen('offline', 3000))).to.deep.equal(seen('busy', 2000));
      expect(await store.swapSeen(ACCOUNT, 'alice', seen('available', 4000))).to.deep.equal(seen('offline', 3000));
      expect(await store.getSeen(ACCOUNT, 'alice')).to.deep.equal(seen('available', 4000));
    });

    it('swapSeen keeps accounts and identities apart, and apart from the explicit records', async () => {
      await store.swapSeen(ACCOUNT, 'alice', seen('dnd', 1));
      await store.swapSeen(OTHER_ACCOUNT, 'alice', seen('away', 2));
      await store.swapSeen('AC:1', 'x', seen('busy', 3));
      await store.swapSeen('AC', '1:x', seen('offline', 4));
      await store.swapSeen('AC', '100%25:\nz', seen('available', 5));
      expect(await store.getSeen(ACCOUNT, 'alice')).to.deep.equal(seen('dnd', 1));
      expect(await store.getSeen(OTHER_ACCOUNT, 'alice')).to.deep.equal(seen('away', 2));
      expect(await store.getSeen(ACCOUNT, 'bob')).to.equal(null);
      expect(await store.getSeen('AC:1', 'x')).to.deep.equal(seen('busy', 3));
      expect(await store.getSeen('AC', '1:x')).to.deep.equal(seen('offline', 4));
      expect(await store.getSeen('AC', '100%25:\nz')).to.deep.equal(seen('available', 5));
      // bob's first observation is his own, whatever alice's is.
      expect(await store.swapSeen(ACCOUNT, 'bob', seen('dnd', 6))).to.equal(null);
      // The seen status is not the explicit record, and the record does not touch it.
      expect(await store.get(ACCOUNT, 'alice')).to.equal(null);
      await store.put(ACCOUNT, 'alice', rec({ status: 'away' }));
      expect(await store.remove(ACCOUNT, 'alice')).to.equal(true);
      expect(await store.getSeen(ACCOUNT, 'alice')).to.deep.equal(seen('dnd', 1));
    });

    it('concurrent swapSeen of one status from two nodes: exactly one sees nothing before', async () => {
      const nodes = [store, impl.twin(store)];
      const t0 = 1_700_000_000_000;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => nodes[i % 2]!.swapSeen(ACCOUNT, 'alice', seen('available', t0 + i))),
      );
      const first = results.filter((r) => r === null);
      expect(first, 'calls that saw no status before').to.have.length(1);
      const winner = results.indexOf(null);
      for (const r of results) if (r !== null) expect(r).to.deep.equal(seen('available', t0 + winner));
      expect(await store.getSeen(ACCOUNT, 'alice')).to.deep.equal(seen('available', t0 + winner));
    });

    it('concurrent swapSeen alternating two statuses: the transitions seen form one history', async () => {
      const nodes = [store, impl.twin(store)];
      const t0 = 1_700_000_000_000;
      for (let round = 0; round < 5; round++) {
        const account = `${ACCOUNT}-${round}`;
        // Distinct `at`s name each call's record.
        const calls = Array.from({ length: 20 }, (_, i) => seen(i % 2 === 0 ? 'available' : 'away', t0 + i));
        const previous = await Promise.all(calls.map((s, i) => nodes[Math.floor(i / 2) % 2]!.swapSeen(account, 'alice', s)));
        const final = await store.getSeen(account, 'alice');
        const byAt = new Map(calls.map((s) => [s.at, s]));
        // A call recorded its status exactly when it observed a transition.
        const writers = calls.filter((s, i) => previous[i] === null || previous[i]!.status !== s.status);
        const writerAts = new Set(writers.map((s) => s.at));

        // Everything a call saw is a record some writer wrote, exactly as written.
        previous.forEach((p, i) => {
          if (p === null) return;
          expect(writerAts.has(p.at), `round ${round}: call ${i} saw ${JSON.stringify(p)}, which nobody recorded`).to.equal(true);
          expect(p).to.deep.equal(byAt.get(p.at));
          // Non-writers saw their own status.
          if (!writerAts.has(calls[i]!.at)) expect(p.status).to.equal(calls[i]!.status);
        });
        // The writes form one chain: null → w1 → w2 → … → the final record; each write replaced the last, once.
        const next = new Map<number | null, SeenStatus>();
        for (const w of writers) {
          const p = previous[calls.indexOf(w)]!;
          const from = p === null ? null : p.at;
          expect(next.has(from), `round ${round}: two calls both replaced ${String(from)}`).to.equal(false);
          next.set(from, w);
        }
        const chain: SeenStatus[] = [];
        for (let at: number | null = null; next.has(at); at = next.get(at)!.at) chain.push(next.get(at)!);
        expect(chain, `round ${round}: one history through every write`).to.have.length(writers.length);
        // The number of transitions observed is the number of changes recorded; the last one stands.
        expect(final).to.deep.equal(chain[chain.length - 1]);
        for (let k = 1; k < chain.length; k++) expect(chain[k]!.status).to.not.equal(chain[k - 1]!.status);
      }
    });

    if (impl.name === 'redis') {
      it('gives the seen status key a TTL on every swap, the same status included', async () => {
        const pttl = async (identity: string) => Number(await client!.sendCommand(['PTTL', `herald:ps:${ACCOUNT}:${identity}`]));
        const week = 7 * 24 * 3600 * 1000;
        await store.swapSeen(ACCOUNT, 'alice', seen('available', 1));
        expect(await pttl('alice')).to.be.within(week - 60_000, week);
        const short = new RedisPresenceStore(client!, { ttlMs: 50_000 });
        // Same status: nothing rewritten, but the key lives on from now.
        expect(await short.swapSeen(ACCOUNT, 'alice', seen('available', 2))).to.deep.equal(seen('available', 1));
        expect(await pttl('alice')).to.be.within(1, 50_000);
        expect(await short.swapSeen(ACCOUNT, 'alice', seen('away', 3))).to.deep.equal(seen('available', 1));
        expect(await pttl('alice')).to.be.within(1, 50_000);
        await short.swapSeen(ACCOUNT, 'bob', seen('dnd', 4));
        expect(await pttl('bob')).to.be.within(1, 50_000);
        // Names encoded like the records'; every key has a TTL.
        await store.swapSeen('AC:1', 'a%\nb', seen('busy', 5));
        const keys = (await client!.keys('herald:*')).sort();
        expect(keys).to.include('herald:ps:AC%3A1:a%25%0Ab');
        for (const key of keys) expect(await client!.pTTL(key), key).to.be.greaterThan(0);
      });

      it('sets a TTL (7 days by default) on every write, and honours ttlMs', async () => {
        const pttl = async (identity: string) => Number(await client!.sendCommand(['PTTL', `herald:p:${ACCOUNT}:${identity}`]));
        await store.put(ACCOUNT, 'alice', rec({ etag: 't' }));
        const week = 7 * 24 * 3600 * 1000;
        expect(await pttl('alice')).to.be.within(week - 60_000, week);
        const short = new RedisPresenceStore(client!, { ttlMs: 50_000 });
        expect(await short.replaceIfEtag(ACCOUNT, 'alice', 't', rec({ etag: 'u' }))).to.equal(true);
        expect(await pttl('alice')).to.be.within(1, 50_000);
        await short.put(ACCOUNT, 'bob', rec());
        expect(await pttl('bob')).to.be.within(1, 50_000);
      });
    }
  });
}
