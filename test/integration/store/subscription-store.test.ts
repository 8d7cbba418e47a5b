/**
 * One behaviour suite for every SubscriptionStore: the embedded memory store
 * and the Redis store against a real redis-server. Clocks are explicit (`now`
 * arguments); times sit near the wall clock only because Redis expires keys
 * by its own clock.
 */
import { expect } from 'chai';
import type { Subscription, SubscriptionStore } from '../../../src/store/subscription-store.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-subscription-store.js';
import { RedisSubscriptionStore, type RedisSubscriptionStoreOptions } from '../../../src/store/redis-subscription-store.js';
import type { RedisClient } from '../../../src/store/redis-client.js';
import { redisFixture } from '../../helpers/redis-fixture.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const OTHER_ACCOUNT = 'ACfedcba9876543210fedcba9876543210';
const NODE = 'node-a';
const OTHER_NODE = 'node-b';

let seq = 0;
function subscription(t0: number, over: Partial<Subscription> = {}): Subscription {
  seq += 1;
  const n = String(seq).padStart(6, '0');
  return {
    id: `sub-${n}`,
    accountSid: ACCOUNT,
    presentity: 'alice',
    watcher: 'bob',
    callId: `call-${n}@192.0.2.2`,
    localTag: `sub-${n}`,
    remoteTag: `rt-${n}`,
    entity: 'sip:alice@herald.example',
    localUri: 'sip:alice@herald.example',
    remoteUri: '"Bob" <sip:bob@herald.example>',
    remoteTarget: `sip:bob-${n}@192.0.2.2:40000;transport=ws;ob`,
    routeSet: [],
    eventId: null,
    localCseq: 1,
    remoteCseq: 1,
    expiresAt: t0 + 600_000,
    notAfter: null,
    node: NODE,
    flowId: `flow-${n}`,
    transport: 'ws',
    ...over,
  };
}

/** Order-free comparison: stores promise no order. */
const byId = (ss: readonly Subscription[]): Subscription[] => [...ss].sort((a, b) => a.id.localeCompare(b.id));
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

interface Impl {
  name: string;
  before(): Promise<void>;
  /** A fresh, empty store. */
  fresh(): Promise<SubscriptionStore>;
  after(): Promise<void>;
}

const redis = redisFixture();

const memory: Impl = {
  name: 'memory',
  before: async () => {},
  fresh: async () => new MemorySubscriptionStore(),
  after: async () => {},
};

const redisImpl: Impl = {
  name: 'redis',
  before: () => redis.start(),
  fresh: async () => new RedisSubscriptionStore(await redis.fresh()),
  after: () => redis.stop(),
};

for (const impl of [memory, redisImpl]) {
  describe(`SubscriptionStore (${impl.name})`, () => {
    let store: SubscriptionStore;
    let t0: number;

    before(() => impl.before());
    after(() => impl.after());
    beforeEach(async () => {
      store = await impl.fresh();
      t0 = Date.now();
    });

    it('gets what was put, every field; null for an unknown id', async () => {
      const full = subscription(t0, {
        routeSet: ['<sip:edge.example;lr>', '<sip:p2.example;lr;transport=tcp>'],
        eventId: 'ev-7',
        localCseq: 42,
        remoteCseq: 17,
        notAfter: t0 + 3_600_000,
        transport: 'wss',
      });
      const bare = subscription(t0, { transport: 'udp', remoteTarget: 'sip:bob@198.51.100.7:5062' });
      await store.put(full);
      await store.put(bare);

      expect(await store.get(full.id)).to.deep.equal(full);
      expect(await store.get(bare.id)).to.deep.equal(bare);
      expect(await store.get('sub-none')).to.equal(null);
    });

    it('hands out copies: changing what put took or get returned changes nothing held', async () => {
      const s = subscription(t0, { routeSet: ['<sip:edge.example;lr>'] });
      await store.put(s);
      const original = structuredClone(s);
      s.routeSet.push('<sip:put-caller-mutated;lr>');
      s.localCseq = 99;

      const got = (await store.get(s.id))!;
      expect(got).to.deep.equal(original);
      got.routeSet.push('<sip:get-caller-mutated;lr>');
      got.routeSet[0] = '<sip:changed;lr>';
      got.expiresAt = t0 - 1;
      expect(await store.get(s.id)).to.deep.equal(original);

      const [watched] = await store.watching(ACCOUNT, 'alice', t0);
      watched!.routeSet.push('<sip:watching-caller-mutated;lr>');
      const [flowed] = await store.byFlow(NODE, s.flowId);
      flowed!.routeSet.length = 0;
      expect(await store.get(s.id)).to.deep.equal(original);
    });

    it('put with the same id replaces, and moves its indexes', async () => {
      const first = subscription(t0, { flowId: 'flow-old', localCseq: 1, expiresAt: t0 + 60_000 });
      const neighbour = subscription(t0, { flowId: 'flow-old' });
      await store.put(first);
      await store.put(neighbour);
      const second: Subscription = { ...first, flowId: 'flow-new', node: OTHER_NODE, localCseq: 2, expiresAt: t0 + 120_000, routeSet: ['<sip:x;lr>'] };
      await store.put(second);

      expect(await store.get(first.id)).to.deep.equal(second);
      expect(await store.count()).to.equal(2);
      expect(byId(await store.watching(ACCOUNT, 'alice', t0))).to.deep.equal(byId([second, neighbour]));
      // The old node and flow no longer hold it; the new ones do.
      expect(await store.byFlow(NODE, 'flow-old')).to.deep.equal([neighbour]);
      expect(await store.byFlow(NODE, 'flow-new')).to.deep.equal([]);
      expect(await store.byFlow(OTHER_NODE, 'flow-new')).to.deep.equal([second]);
      // Nor sweeps it: it is the other node's now.
      expect(await store.sweep(NODE, t0 + 600_000)).to.deep.equal([neighbour]);
      expect(await store.sweep(OTHER_NODE, t0 + 600_000)).to.deep.equal([second]);
      expect(await store.count()).to.equal(0);
    });

    it('a replacement that changes the presentity leaves the old watch list', async () => {
      const s = subscription(t0);
      await store.put(s);
      const moved = { ...s, accountSid: OTHER_ACCOUNT, presentity: 'carol' };
      await store.put(moved);
      expect(await store.watching(ACCOUNT, 'alice', t0)).to.deep.equal([]);
      expect(await store.watching(OTHER_ACCOUNT, 'carol', t0)).to.deep.equal([moved]);
      // A shorter expiry on replacement is honoured too.
      const shorter = { ...moved, expiresAt: t0 + 1000 };
      await store.put(shorter);
      expect(await store.watching(OTHER_ACCOUNT, 'carol', t0 + 999)).to.deep.equal([shorter]);
      expect(await store.watching(OTHER_ACCOUNT, 'carol', t0 + 1000)).to.deep.equal([]);
    });

    it('remove is true once, then false', async () => {
      const s = subscription(t0);
      const kept = subscription(t0, { flowId: s.flowId });
      await store.put(s);
      await store.put(kept);
      expect(await store.remove(s.id)).to.equal(true);
      expect(await store.remove(s.id)).to.equal(false);
      expect(await store.remove('sub-none')).to.equal(false);
      expect(await store.get(s.id)).to.equal(null);
      expect(await store.watching(ACCOUNT, 'alice', t0)).to.deep.equal([kept]);
      expect(await store.byFlow(NODE, s.flowId)).to.deep.equal([kept]);
      expect(await store.sweep(NODE, t0 + 10_000_000)).to.deep.equal([kept]);
      expect(await store.count()).to.equal(0);
    });

    it('watching(account, presentity, now): only that client’s watchers unexpired at now', async () => {
      const soon = subscription(t0, { expiresAt: t0 + 1000 });
      const later = subscription(t0, { expiresAt: t0 + 10_000, watcher: 'carol', node: OTHER_NODE });
      const expired = subscription(t0, { expiresAt: t0 - 1 }); // held until swept, but not watching
      const otherPresentity = subscription(t0, { presentity: 'bob', watcher: 'alice' });
      const otherAccount = subscription(t0, { accountSid: OTHER_ACCOUNT });
      for (const s of [soon, later, expired, otherPresentity, otherAccount]) await store.put(s);

      expect(byId(await store.watching(ACCOUNT, 'alice', t0))).to.deep.equal(byId([soon, later]));
      expect(byId(await store.watching(ACCOUNT, 'alice', t0 + 999))).to.deep.equal(byId([soon, later]));
      expect(await store.watching(ACCOUNT, 'alice', t0 + 1000)).to.deep.equal([later]);
      expect(await store.watching(ACCOUNT, 'alice', t0 + 10_000)).to.deep.equal([]);
      expect(await store.watching(ACCOUNT, 'bob', t0)).to.deep.equal([otherPresentity]);
      expect(await store.watching(OTHER_ACCOUNT, 'alice', t0)).to.deep.equal([otherAccount]);
      expect(await store.watching(ACCOUNT, 'carol', t0)).to.deep.equal([]);
      expect(await store.watching(OTHER_ACCOUNT, 'bob', t0)).to.deep.equal([]);
      expect(await store.count()).to.equal(5);
    });

    it('byFlow(node, flowId): only that node’s subscriptions over that flow, expired ones included', async () => {
      const on1 = subscription(t0, { flowId: 'f1' });
      const on2 = subscription(t0, { flowId: 'f1', presentity: 'carol', accountSid: OTHER_ACCOUNT, expiresAt: t0 - 5 });
      const otherFlow = subscription(t0, { flowId: 'f2' });
      const otherNode = subscription(t0, { flowId: 'f1', node: OTHER_NODE });
      for (const s of [on1, on2, otherFlow, otherNode]) await store.put(s);

      expect(byId(await store.byFlow(NODE, 'f1'))).to.deep.equal(byId([on1, on2]));
      // byFlow only reads.
      expect(byId(await store.byFlow(NODE, 'f1'))).to.deep.equal(byId([on1, on2]));
      expect(await store.byFlow(NODE, 'f2')).to.deep.equal([otherFlow]);
      expect(await store.byFlow(OTHER_NODE, 'f1')).to.deep.equal([otherNode]);
      expect(await store.byFlow(OTHER_NODE, 'f2')).to.deep.equal([]);
      expect(await store.byFlow(NODE, 'f3')).to.deep.equal([]);
      expect(await store.count()).to.equal(4);
    });

    it('sweep(node, now) removes and returns that node’s subscriptions expired at now, once', async () => {
      const gone1 = subscription(t0, { expiresAt: t0 + 1000 });
      const gone2 = subscription(t0, { presentity: 'carol', flowId: gone1.flowId, expiresAt: t0 + 2000 });
      const kept = subscription(t0, { expiresAt: t0 + 2001, flowId: gone1.flowId });
      const othersExpired = subscription(t0, { node: OTHER_NODE, expiresAt: t0 + 500 });
      const othersKept = subscription(t0, { node: OTHER_NODE, expiresAt: t0 + 60_000 });
      for (const s of [gone1, gone2, kept, othersExpired, othersKept]) await store.put(s);

      expect(await store.sweep(NODE, t0 + 999)).to.deep.equal([]);
      expect(byId(await store.sweep(NODE, t0 + 2000))).to.deep.equal(byId([gone1, gone2]));
      expect(await store.sweep(NODE, t0 + 2000)).to.deep.equal([]);
      expect(await store.get(gone1.id)).to.equal(null);
      expect(await store.get(gone2.id)).to.equal(null);
      expect(await store.get(kept.id)).to.deep.equal(kept);
      // The other node's expired one stays until that node sweeps.
      expect(await store.get(othersExpired.id)).to.deep.equal(othersExpired);
      expect(await store.count()).to.equal(3);
      // Swept ones left every index.
      expect(await store.byFlow(NODE, gone1.flowId)).to.deep.equal([kept]);
      expect(byId(await store.watching(ACCOUNT, 'alice', t0))).to.deep.equal(byId([kept, othersExpired, othersKept]));
      expect(await store.watching(ACCOUNT, 'carol', t0)).to.deep.equal([]);

      expect(await store.sweep(OTHER_NODE, t0 + 2000)).to.deep.equal([othersExpired]);
      expect(await store.sweep(OTHER_NODE, t0 + 2000)).to.deep.equal([]);
      expect(await store.sweep(NODE, t0 + 60_000)).to.deep.equal([kept]);
      expect(await store.sweep(OTHER_NODE, t0 + 60_000)).to.deep.equal([othersKept]);
      expect(await store.count()).to.equal(0);
    });

    it('counts the subscriptions held, expired ones included until swept', async () => {
      expect(await store.count()).to.equal(0);
      const a = subscription(t0);
      await store.put(a);
      await store.put(subscription(t0, { presentity: 'carol', expiresAt: t0 - 1000 }));
      await store.put({ ...a, localCseq: 2 }); // a replacement is not another subscription
      expect(await store.count()).to.equal(2);
      await store.remove(a.id);
      expect(await store.count()).to.equal(1);
      expect(await store.sweep(NODE, t0)).to.have.length(1);
      expect(await store.count()).to.equal(0);
    });

    it('takes ids and names with separators and newlines in them', async () => {
      const odd = subscription(t0, {
        id: 'a:b%3A\nc',
        callId: 'x:y%25\nz@host',
        accountSid: 'AC:1',
        presentity: '100%25:\nz',
        watcher: 'w:\n%',
        node: 'node:%0A\n1',
        flowId: 'flow:%3A\n2',
        routeSet: ['<sip:a%3Ab@h;lr>', 'line\nbreak'],
        eventId: 'e:%\n',
      });
      // Same names with the separator moved: must not meet the odd one.
      const near = subscription(t0, { id: 'a:b%3A', accountSid: 'AC', presentity: '1:100%25:\nz', node: 'node', flowId: '%0A\n1:flow:%3A\n2' });
      await store.put(odd);
      await store.put(near);

      expect(await store.get(odd.id)).to.deep.equal(odd);
      expect(await store.get(near.id)).to.deep.equal(near);
      expect(await store.get('a:b%3A\n')).to.equal(null);
      expect(await store.watching('AC:1', '100%25:\nz', t0)).to.deep.equal([odd]);
      expect(await store.watching('AC', '1:100%25:\nz', t0)).to.deep.equal([near]);
      expect(await store.byFlow('node:%0A\n1', 'flow:%3A\n2')).to.deep.equal([odd]);
      expect(await store.byFlow('node', '%0A\n1:flow:%3A\n2')).to.deep.equal([near]);
      expect(await store.byFlow('node:%0A\n1', 'flow:%3A\n3')).to.deep.equal([]);
      expect(await store.sweep('node:%0A\n1', odd.expiresAt)).to.deep.equal([odd]);
      expect(await store.remove(near.id)).to.equal(true);
      expect(await store.count()).to.equal(0);
    });
  });
}

describe('RedisSubscriptionStore (Redis specifics)', () => {
  const server = redisFixture();
  let c1: RedisClient;
  let c2: RedisClient;

  before(async () => {
    await server.start();
    c1 = await server.fresh();
    c2 = await server.connect();
  });
  after(() => server.stop());
  beforeEach(() => server.fresh());

  const keysOf = async (pattern = '*'): Promise<string[]> => sorted(await c1.keys(pattern));
  const make = (options: RedisSubscriptionStoreOptions = {}, c: RedisClient = c1): RedisSubscriptionStore => new RedisSubscriptionStore(c, options);
  const putAll = async (store: SubscriptionStore, subs: readonly Subscription[]): Promise<void> => {
    for (let i = 0; i < subs.length; i += 100) await Promise.all(subs.slice(i, i + 100).map((s) => store.put(s)));
  };

  it('gives every key it writes an expiry: the latest subscription it holds plus the grace', async () => {
    const grace = 10_000;
    const store = make({ graceMs: grace });
    const t0 = Date.now();
    const short = subscription(t0, { flowId: 'f1', expiresAt: t0 + 5000 });
    const long = subscription(t0, { flowId: 'f1', expiresAt: t0 + 50_000 });
    const carol = subscription(t0, { presentity: 'carol', flowId: 'f2', node: OTHER_NODE, expiresAt: t0 + 5000 });
    for (const s of [short, long, carol]) await store.put(s);

    expect(await keysOf()).to.deep.equal(
      sorted([
        `herald:s:${short.id}`,
        `herald:s:${long.id}`,
        `herald:s:${carol.id}`,
        `herald:sw:${ACCOUNT}:alice`,
        `herald:sw:${ACCOUNT}:carol`,
        'herald:sn:node-a',
        'herald:sn:node-b',
        'herald:sf:node-a:f1',
        'herald:sf:node-b:f2',
        'herald:sall',
      ]),
    );
    /** PTTL of `key`, checked against `expiresAt + grace` on the wall clock (1 s of slack for the test's own time). */
    const expectTtl = async (key: string, expiresAt: number): Promise<void> => {
      const pttl = await c1.pTTL(key);
      const expected = expiresAt + grace - Date.now();
      expect(pttl, key).to.be.greaterThan(0);
      expect(pttl, key).to.be.within(expected - 1000, expected + 1000);
    };
    for (const key of await keysOf()) expect(await c1.pTTL(key), key).to.be.greaterThan(0);
    await expectTtl(`herald:s:${short.id}`, short.expiresAt);
    await expectTtl(`herald:s:${long.id}`, long.expiresAt);
    await expectTtl(`herald:sw:${ACCOUNT}:alice`, long.expiresAt);
    await expectTtl(`herald:sw:${ACCOUNT}:carol`, carol.expiresAt);
    await expectTtl('herald:sn:node-a', long.expiresAt);
    await expectTtl('herald:sf:node-a:f1', long.expiresAt);
    await expectTtl('herald:sf:node-b:f2', carol.expiresAt);
    await expectTtl('herald:sall', long.expiresAt);

    // A replacement onto another flow: the old flow's index goes, the new one expires with it.
    await store.put({ ...carol, flowId: 'f3', expiresAt: t0 + 20_000 });
    expect(await keysOf()).to.not.include('herald:sf:node-b:f2');
    await expectTtl('herald:sf:node-b:f3', t0 + 20_000);
    await expectTtl(`herald:s:${carol.id}`, t0 + 20_000);
    for (const key of await keysOf()) expect(await c1.pTTL(key), key).to.be.greaterThan(0);
  });

  it('keys under a custom prefix, all with a TTL, percent-encoding the separators in names', async () => {
    const store = make({ prefix: 'px:' });
    const other = make();
    const t0 = Date.now();
    const odd = subscription(t0, { accountSid: 'AC:1', presentity: 'a%\nb', node: 'n:1', flowId: 'f:%\n' });
    await store.put(odd);
    await store.put(subscription(t0, { expiresAt: t0 - 60_000 })); // already expired when written
    const keys = await keysOf();
    expect(keys).to.have.length.greaterThan(0);
    expect(keys.every((k) => k.startsWith('px:')), keys.join(', ')).to.equal(true);
    expect(keys).to.include('px:sw:AC%3A1:a%25%0Ab');
    expect(keys).to.include('px:sf:n%3A1:f%3A%25%0A');
    for (const key of keys) expect(await c1.pTTL(key), key).to.be.greaterThan(0);
    // The default prefix sees none of it.
    expect(await other.count()).to.equal(0);
    expect(await other.get(odd.id)).to.equal(null);
    expect(await store.count()).to.equal(2);
  });

  it('leaves no key behind once every subscription is removed, by any path', async () => {
    const store = make();
    const t0 = Date.now();
    const viaRemove = subscription(t0, { flowId: 'f1' });
    const viaSweep = subscription(t0, { presentity: 'carol', flowId: 'f1', expiresAt: t0 + 1000 });
    const otherNodeSwept = subscription(t0, { node: OTHER_NODE, accountSid: OTHER_ACCOUNT, expiresAt: t0 + 1000 });
    const replacedThenRemoved = subscription(t0, { flowId: 'f2' });
    for (const s of [viaRemove, viaSweep, otherNodeSwept, replacedThenRemoved]) await store.put(s);
    await store.put({ ...replacedThenRemoved, flowId: 'f3', presentity: 'dave' });
    expect(await c1.dbSize()).to.be.greaterThan(0);
    for (const key of await keysOf()) expect(await c1.pTTL(key), key).to.be.greaterThan(0);

    expect(await store.remove(viaRemove.id)).to.equal(true);
    expect(await store.sweep(NODE, t0 + 1000)).to.deep.equal([viaSweep]);
    expect(await store.sweep(OTHER_NODE, t0 + 1000)).to.deep.equal([otherNodeSwept]);
    expect(await store.remove(replacedThenRemoved.id)).to.equal(true);
    expect(await keysOf()).to.deep.equal([]);
  });

  it('does not expire a subscription written with a clock behind Redis: keys live at least the grace period', async () => {
    const store = make({ graceMs: 30_000 });
    const past = Date.now() - 3_600_000;
    const old = subscription(past, { expiresAt: past + 1000 });
    await store.put(old);
    for (const key of await keysOf()) expect(await c1.pTTL(key), key).to.be.within(29_000, 30_000);
    // Still there for the sweep to report.
    expect(await store.sweep(NODE, past + 1000)).to.deep.equal([old]);
  });

  for (const n of [500, 1000, 1234]) {
    it(`sweeps all of ${n} expired subscriptions (the script takes 500 at a time)`, async () => {
      const store = make();
      const t0 = Date.now();
      const expired = Array.from({ length: n }, (_, i) =>
        subscription(t0, { presentity: `u${i % 13}`, flowId: `f${i % 7}`, expiresAt: t0 - 10_000 + (i % 1000) }),
      );
      const kept = subscription(t0, { expiresAt: t0 + 60_000 });
      const othersExpired = subscription(t0, { node: OTHER_NODE, expiresAt: t0 - 10_000 });
      await putAll(store, [...expired, kept, othersExpired]);
      expect(await store.count()).to.equal(n + 2);

      const swept = await store.sweep(NODE, t0);
      expect(swept).to.have.length(n);
      expect(byId(swept)).to.deep.equal(byId(expired));
      expect(await store.sweep(NODE, t0)).to.deep.equal([]);
      expect(await store.count()).to.equal(2);
      expect(await store.get(kept.id)).to.deep.equal(kept);
      expect(await store.get(othersExpired.id)).to.deep.equal(othersExpired);
    });
  }

  it('sweeps past index entries whose record already lapsed (its key expired first)', async () => {
    const store = make();
    const t0 = Date.now();
    const all = Array.from({ length: 600 }, (_, i) => subscription(t0, { expiresAt: t0 - 10_000 + i }));
    await putAll(store, all);
    // The 20 oldest records' keys are gone, as if their TTL ran out before this node swept.
    const lapsed = all.slice(0, 20);
    for (const s of lapsed) await c1.del(`herald:s:${s.id}`);

    const swept = await store.sweep(NODE, t0);
    expect(byId(swept)).to.deep.equal(byId(all.slice(20)));
    expect(await store.sweep(NODE, t0)).to.deep.equal([]);
    expect(await store.count()).to.equal(0);
    expect(await keysOf('herald:sn:*')).to.deep.equal([]);
  });

  it('two connections sweeping one node at once never both return a subscription', async () => {
    const a = make({}, c1);
    const b = make({}, c2);
    const t0 = Date.now();
    const all = Array.from({ length: 1100 }, (_, i) => subscription(t0, { presentity: `u${i % 17}`, flowId: `f${i % 5}`, expiresAt: t0 - (i % 50) }));
    await putAll(a, all);
    const swept = (await Promise.all([a.sweep(NODE, t0), b.sweep(NODE, t0), a.sweep(NODE, t0), b.sweep(NODE, t0)])).flat();
    const ids = swept.map((s) => s.id);
    expect(new Set(ids).size, 'no subscription twice').to.equal(ids.length);
    expect(byId(swept)).to.deep.equal(byId(all));
    expect(await c1.dbSize()).to.equal(0);
  });

  it('runs its scripts again after Redis forgot them (SCRIPT FLUSH)', async () => {
    const store = make();
    const t0 = Date.now();
    await store.put(subscription(t0));
    await c1.scriptFlush();
    const s = subscription(t0, { presentity: 'carol' });
    await store.put(s);
    expect(await store.watching(ACCOUNT, 'carol', t0)).to.deep.equal([s]);
    await c1.scriptFlush();
    expect(await store.remove(s.id)).to.equal(true);
    await c1.scriptFlush();
    expect(await store.sweep(NODE, t0 + 10_000_000)).to.have.length(1);
  });
});
