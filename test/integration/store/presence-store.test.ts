/**
 * One behaviour suite for every PresenceStore: the embedded memory store and
 * the Redis store against a real redis-server (keys with a TTL refreshed on
 * every write).
 */
import { expect } from 'chai';
import type { PresenceRecord } from '../../../src/presence/status.js';
import { MemoryPresenceStore } from '../../../src/store/memory-presence-store.js';
import type { PresenceStore } from '../../../src/store/presence-store.js';
import { RedisPresenceStore } from '../../../src/store/redis-presence-store.js';
import { connectRedis, type RedisClient } from '../../../src/store/redis-client.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';

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
  after(): Promise<void>;
}

let redis: RedisServer | undefined;
let client: RedisClient | undefined;

const memory: Impl = {
  name: 'memory',
  before: async () => {},
  fresh: async () => new MemoryPresenceStore(),
  after: async () => {},
};

const redisImpl: Impl = {
  name: 'redis',
  before: async () => {
    redis = await startRedis();
    client = await connectRedis(redis.url);
  },
  fresh: async () => {
    await client!.flushAll();
    return new RedisPresenceStore(client!);
  },
  after: async () => {
    await client?.close();
    await redis?.stop();
    client = undefined;
    redis = undefined;
  },
};

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

    if (impl.name === 'redis') {
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
