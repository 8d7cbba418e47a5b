/**
 * One behaviour suite for every BindingStore: the embedded memory store and
 * the Redis store against a real redis-server. Clocks are explicit (`now`
 * arguments); times sit near the wall clock only because Redis expires keys
 * by its own clock.
 */
import { expect } from 'chai';
import type { Binding, BindingStore } from '../../../src/store/binding-store.js';
import { MemoryBindingStore } from '../../../src/store/memory-binding-store.js';
import { RedisBindingStore, type RedisBindingStoreOptions } from '../../../src/store/redis-binding-store.js';
import { connectRedis, type RedisClient } from '../../../src/store/redis-client.js';
import { redisFixture } from '../../helpers/redis-fixture.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const OTHER_ACCOUNT = 'ACfedcba9876543210fedcba9876543210';
const NODE = 'node-a';

let seq = 0;
function binding(t0: number, over: Partial<Binding> = {}): Binding {
  seq += 1;
  return {
    accountSid: ACCOUNT,
    identity: 'alice',
    key: `<urn:uuid:00000000-0000-0000-0000-${String(seq).padStart(12, '0')}>;1`,
    contactUri: `sip:alice-${seq}@192.0.2.1:5060;transport=ws;ob`,
    contactParams: ';reg-id=1;+sip.instance="<urn:uuid:x>"',
    instanceId: `<urn:uuid:00000000-0000-0000-0000-${String(seq).padStart(12, '0')}>`,
    regId: 1,
    callId: `call-${seq}`,
    cseq: 1,
    expiresAt: t0 + 600_000,
    flowId: `flow-${seq}`,
    transport: 'ws',
    source: { address: '192.0.2.1', port: 40000 + seq },
    userAgent: null,
    path: [],
    node: NODE,
    ...over,
  };
}

/** Order-free comparison: stores promise no order. */
const byKey = (bs: readonly Binding[]): Binding[] =>
  [...bs].sort((a, b) => `${a.accountSid}|${a.identity}|${a.key}`.localeCompare(`${b.accountSid}|${b.identity}|${b.key}`));
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

interface Impl {
  name: string;
  before(): Promise<void>;
  /** A fresh, empty store. */
  fresh(): Promise<BindingStore>;
  after(): Promise<void>;
}

const redis = redisFixture();

const memory: Impl = {
  name: 'memory',
  before: async () => {},
  fresh: async () => new MemoryBindingStore(),
  after: async () => {},
};

const redisImpl: Impl = {
  name: 'redis',
  before: () => redis.start(),
  fresh: async () => new RedisBindingStore(await redis.fresh()),
  after: () => redis.stop(),
};

for (const impl of [memory, redisImpl]) {
  describe(`BindingStore (${impl.name})`, () => {
    let store: BindingStore;
    let t0: number;

    before(() => impl.before());
    after(() => impl.after());
    beforeEach(async () => {
      store = await impl.fresh();
      t0 = Date.now();
    });

    it('lists the bindings of one AOR, exactly as put', async () => {
      const a1 = binding(t0, { userAgent: 'SIP.js/0.21', path: ['<sip:edge.example;lr>', '<sip:p2;lr>'] });
      const a2 = binding(t0, { instanceId: null, regId: null, transport: 'udp', key: 'sip:alice@198.51.100.7:5062' });
      const bob = binding(t0, { identity: 'bob' });
      const elsewhere = binding(t0, { accountSid: OTHER_ACCOUNT });
      for (const b of [a1, a2, bob, elsewhere]) await store.put(b);

      expect(byKey(await store.list(ACCOUNT, 'alice', t0))).to.deep.equal(byKey([a1, a2]));
      expect(await store.list(ACCOUNT, 'bob', t0)).to.deep.equal([bob]);
      expect(await store.list(OTHER_ACCOUNT, 'alice', t0)).to.deep.equal([elsewhere]);
      expect(await store.list(ACCOUNT, 'carol', t0)).to.deep.equal([]);
    });

    it('keeps AORs apart whose names only differ in where a separator falls', async () => {
      // account "AC:1" + identity "x" must not meet account "AC" + identity "1:x".
      const one = binding(t0, { accountSid: 'AC:1', identity: 'x', key: 'sip:a@h:1' });
      const two = binding(t0, { accountSid: 'AC', identity: '1:x', key: 'sip:a@h:1' });
      const odd = binding(t0, { accountSid: 'AC', identity: '100%25:\nz', key: 'k%3A:\n' });
      for (const b of [one, two, odd]) await store.put(b);

      expect(await store.list('AC:1', 'x', t0)).to.deep.equal([one]);
      expect(await store.list('AC', '1:x', t0)).to.deep.equal([two]);
      expect(await store.list('AC', '100%25:\nz', t0)).to.deep.equal([odd]);
      expect(sorted(await store.identities('AC', t0))).to.deep.equal(sorted(['1:x', '100%25:\nz']));
      expect(await store.removeByFlow(NODE, odd.flowId)).to.deep.equal([odd]);
      expect(await store.remove('AC:1', 'x', 'sip:a@h:1')).to.equal(true);
      expect(await store.list('AC', '1:x', t0)).to.deep.equal([two]);
    });

    it('replaces the binding with the same key, and its flow with it', async () => {
      const first = binding(t0, { flowId: 'flow-old', cseq: 1, expiresAt: t0 + 60_000 });
      const other = binding(t0, { flowId: 'flow-old' });
      await store.put(first);
      await store.put(other);
      const second = { ...first, flowId: 'flow-new', cseq: 2, expiresAt: t0 + 120_000, source: { address: '192.0.2.9', port: 5 } };
      await store.put(second);

      expect(byKey(await store.list(ACCOUNT, 'alice', t0))).to.deep.equal(byKey([second, other]));
      expect(await store.count()).to.equal(2);
      // The old flow no longer holds the replaced binding; the new one does.
      expect(await store.removeByFlow(NODE, 'flow-old')).to.deep.equal([other]);
      expect(await store.removeByFlow(NODE, 'flow-new')).to.deep.equal([second]);
      expect(await store.count()).to.equal(0);
    });

    it('a guarded put refuses a CSeq not higher on the same Call-ID (stale) and a new key over maxBindings (full)', async () => {
      const guard = { maxBindings: 2, now: t0 };
      const first = binding(t0, { callId: 'reg-1', cseq: 5 });
      expect(await store.put(first, guard)).to.equal('stored');
      expect(await store.put({ ...first, cseq: 5, contactUri: 'sip:changed@192.0.2.1' }, guard)).to.equal('stale');
      expect(await store.put({ ...first, cseq: 4 }, guard)).to.equal('stale');
      expect(await store.put({ ...first, callId: 'reg-2', cseq: 1 }, guard)).to.equal('stored');
      // Another Call-ID (a UA that restarted) replaces it whatever its CSeq.
      expect(await store.put({ ...first, callId: 'reg-3', cseq: 1 }, guard)).to.equal('stored');
      const second = binding(t0);
      expect(await store.put(second, guard)).to.equal('stored');
      expect(await store.put(binding(t0), guard)).to.equal('full');
      // An expired binding does not count, and an unguarded put is never refused.
      expect(await store.put(binding(t0), { maxBindings: 2, now: t0 + 700_000 })).to.equal('stored');
      expect(await store.put(binding(t0))).to.equal('stored');
      expect((await store.list(ACCOUNT, 'alice', t0)).map((b) => b.contactUri)).to.not.include('sip:changed@192.0.2.1');
    });

    it('concurrent guarded puts of new keys never pass maxBindings', async () => {
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.put(binding(t0), { maxBindings: 3, now: t0 })));
      expect(outcomes.filter((o) => o === 'stored')).to.have.length(3);
      expect(outcomes.filter((o) => o === 'full')).to.have.length(17);
      expect(await store.list(ACCOUNT, 'alice', t0)).to.have.length(3);
    });

    it('lists only bindings unexpired at now (expiresAt > now)', async () => {
      const soon = binding(t0, { expiresAt: t0 + 1000 });
      const later = binding(t0, { expiresAt: t0 + 10_000 });
      await store.put(soon);
      await store.put(later);

      expect(byKey(await store.list(ACCOUNT, 'alice', t0 + 999))).to.deep.equal(byKey([soon, later]));
      expect(await store.list(ACCOUNT, 'alice', t0 + 1000)).to.deep.equal([later]);
      expect(await store.list(ACCOUNT, 'alice', t0 + 10_000)).to.deep.equal([]);
      // Held (and counted) until swept.
      expect(await store.count()).to.equal(2);
    });

    it('removes one binding, then every binding of an AOR', async () => {
      const a1 = binding(t0);
      const a2 = binding(t0);
      const a3 = binding(t0, { expiresAt: t0 - 1 }); // expired but not yet swept: still held
      const bob = binding(t0, { identity: 'bob' });
      for (const b of [a1, a2, a3, bob]) await store.put(b);

      expect(await store.remove(ACCOUNT, 'alice', a1.key)).to.equal(true);
      expect(await store.remove(ACCOUNT, 'alice', a1.key)).to.equal(false);
      expect(await store.remove(ACCOUNT, 'carol', a2.key)).to.equal(false);
      expect(await store.list(ACCOUNT, 'alice', t0)).to.deep.equal([a2]);
      expect(await store.count()).to.equal(3);

      expect(await store.removeAll(ACCOUNT, 'alice')).to.equal(2);
      expect(await store.removeAll(ACCOUNT, 'alice')).to.equal(0);
      expect(await store.list(ACCOUNT, 'alice', t0 - 10)).to.deep.equal([]);
      expect(await store.list(ACCOUNT, 'bob', t0)).to.deep.equal([bob]);
      expect(await store.count()).to.equal(1);
      expect(await store.identities(ACCOUNT, t0)).to.deep.equal(['bob']);
      // Removed bindings left their flows.
      expect(await store.removeByFlow(NODE, a2.flowId)).to.deep.equal([]);
      expect(await store.sweep(t0 + 10_000_000)).to.deep.equal([bob]);
    });

    it('removeByFlow returns exactly the bindings of that node and flow, once', async () => {
      const onFlow1 = binding(t0, { flowId: 'f1' });
      const onFlow2 = binding(t0, { flowId: 'f1', identity: 'bob', expiresAt: t0 - 5 }); // expired, unswept: goes too
      const onFlow3 = binding(t0, { flowId: 'f1', accountSid: OTHER_ACCOUNT });
      const otherFlow = binding(t0, { flowId: 'f2' });
      const otherNode = binding(t0, { flowId: 'f1', node: 'node-b', identity: 'carol' });
      for (const b of [onFlow1, onFlow2, onFlow3, otherFlow, otherNode]) await store.put(b);

      expect(byKey(await store.removeByFlow(NODE, 'f1'))).to.deep.equal(byKey([onFlow1, onFlow2, onFlow3]));
      expect(await store.removeByFlow(NODE, 'f1')).to.deep.equal([]);
      expect(await store.list(ACCOUNT, 'alice', t0)).to.deep.equal([otherFlow]);
      expect(await store.list(ACCOUNT, 'bob', t0 - 10)).to.deep.equal([]);
      expect(await store.list(ACCOUNT, 'carol', t0)).to.deep.equal([otherNode]);
      expect(await store.list(OTHER_ACCOUNT, 'alice', t0)).to.deep.equal([]);
      expect(await store.count()).to.equal(2);
      expect(await store.removeByFlow('node-b', 'f1')).to.deep.equal([otherNode]);
    });

    it('sweep returns the bindings expired at now, once, and leaves the rest', async () => {
      const gone1 = binding(t0, { expiresAt: t0 + 1000 });
      const gone2 = binding(t0, { identity: 'bob', expiresAt: t0 + 2000 });
      const kept = binding(t0, { expiresAt: t0 + 2001 });
      const keptBob = binding(t0, { identity: 'carol', expiresAt: t0 + 60_000 });
      for (const b of [gone1, gone2, kept, keptBob]) await store.put(b);

      expect(await store.sweep(t0 + 999)).to.deep.equal([]);
      expect(byKey(await store.sweep(t0 + 2000))).to.deep.equal(byKey([gone1, gone2]));
      expect(await store.sweep(t0 + 2000)).to.deep.equal([]);
      expect(await store.count()).to.equal(2);
      expect(await store.list(ACCOUNT, 'alice', t0)).to.deep.equal([kept]);
      // bob's only binding went, so bob is no longer registered even at a time it was valid.
      expect(await store.list(ACCOUNT, 'bob', t0)).to.deep.equal([]);
      expect(sorted(await store.identities(ACCOUNT, t0))).to.deep.equal(['alice', 'carol']);
      expect(await store.removeByFlow(NODE, gone1.flowId)).to.deep.equal([]);
      expect(await store.sweep(t0 + 60_000)).to.have.length(2);
      expect(await store.count()).to.equal(0);
    });

    it('identities(account, now) names those with a binding unexpired at now', async () => {
      await store.put(binding(t0, { identity: 'alice', expiresAt: t0 + 1000 }));
      await store.put(binding(t0, { identity: 'alice', expiresAt: t0 + 3000 }));
      await store.put(binding(t0, { identity: 'bob', expiresAt: t0 + 2000 }));
      const carol = binding(t0, { identity: 'carol', expiresAt: t0 + 60_000 });
      await store.put(carol);
      await store.put(binding(t0, { identity: 'dave', accountSid: OTHER_ACCOUNT }));

      expect(sorted(await store.identities(ACCOUNT, t0))).to.deep.equal(['alice', 'bob', 'carol']);
      expect(sorted(await store.identities(ACCOUNT, t0 + 2000))).to.deep.equal(['alice', 'carol']);
      expect(sorted(await store.identities(ACCOUNT, t0 + 3000))).to.deep.equal(['carol']);
      expect(await store.identities(OTHER_ACCOUNT, t0)).to.deep.equal(['dave']);
      expect(await store.identities('ACnone', t0)).to.deep.equal([]);
      // Follows removals and replacements.
      await store.remove(ACCOUNT, 'carol', carol.key);
      expect(sorted(await store.identities(ACCOUNT, t0 + 2000))).to.deep.equal(['alice']);
      await store.put({ ...carol, expiresAt: t0 + 500 });
      expect(sorted(await store.identities(ACCOUNT, t0 + 499))).to.deep.equal(['alice', 'bob', 'carol']);
      expect(sorted(await store.identities(ACCOUNT, t0 + 500))).to.deep.equal(['alice', 'bob']);
    });

    it('counts the bindings held', async () => {
      expect(await store.count()).to.equal(0);
      const a = binding(t0);
      await store.put(a);
      await store.put(binding(t0, { identity: 'bob' }));
      await store.put({ ...a, cseq: 2 }); // a replacement is not another binding
      expect(await store.count()).to.equal(2);
      await store.remove(ACCOUNT, 'alice', a.key);
      expect(await store.count()).to.equal(1);
    });
  });
}

describe('RedisBindingStore (Redis specifics)', () => {
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

  const keysOf = async (): Promise<string[]> => sorted(await c1.keys('*'));
  const make = (options: RedisBindingStoreOptions = {}, client: RedisClient = c1): RedisBindingStore =>
    new RedisBindingStore(client, options);

  it('gives every key it writes an expiry: the latest binding it holds plus the grace', async () => {
    const grace = 10_000;
    const store = make({ graceMs: grace });
    const t0 = Date.now();
    const short = binding(t0, { flowId: 'f1', expiresAt: t0 + 5000 });
    const long = binding(t0, { flowId: 'f1', expiresAt: t0 + 50_000 });
    const bob = binding(t0, { identity: 'bob', flowId: 'f2', expiresAt: t0 + 5000 });
    for (const b of [short, long, bob]) await store.put(b);

    expect(await keysOf()).to.deep.equal(
      sorted([
        `herald:b:${ACCOUNT}:alice`,
        `herald:b:${ACCOUNT}:bob`,
        `herald:bid:${ACCOUNT}`,
        'herald:bflow:node-a:f1',
        'herald:bflow:node-a:f2',
        'herald:bexp',
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
    await expectTtl(`herald:b:${ACCOUNT}:alice`, long.expiresAt);
    await expectTtl(`herald:b:${ACCOUNT}:bob`, bob.expiresAt);
    await expectTtl(`herald:bid:${ACCOUNT}`, long.expiresAt);
    await expectTtl('herald:bflow:node-a:f1', long.expiresAt);
    await expectTtl('herald:bflow:node-a:f2', bob.expiresAt);
    await expectTtl('herald:bexp', long.expiresAt);

    // Removing the longest binding shortens the expiries that followed it.
    expect(await store.remove(ACCOUNT, 'alice', long.key)).to.equal(true);
    await expectTtl(`herald:b:${ACCOUNT}:alice`, short.expiresAt);
    await expectTtl(`herald:bid:${ACCOUNT}`, short.expiresAt);
    await expectTtl('herald:bflow:node-a:f1', short.expiresAt);
    await expectTtl('herald:bexp', short.expiresAt);

    // A replacement on another flow: the old flow's index goes, the new one expires with it.
    await store.put({ ...bob, flowId: 'f3', expiresAt: t0 + 20_000 });
    expect(await keysOf()).to.not.include('herald:bflow:node-a:f2');
    await expectTtl('herald:bflow:node-a:f3', t0 + 20_000);
    await expectTtl(`herald:b:${ACCOUNT}:bob`, t0 + 20_000);
    for (const key of await keysOf()) expect(await c1.pTTL(key), key).to.be.greaterThan(0);
  });

  it('leaves no key behind once every binding is removed, by any path', async () => {
    const store = make();
    const t0 = Date.now();
    const viaFlow = binding(t0, { flowId: 'f1' });
    const viaSweep = binding(t0, { identity: 'bob', expiresAt: t0 + 1000 });
    const viaRemove = binding(t0, { identity: 'carol' });
    const viaRemoveAll = binding(t0, { accountSid: OTHER_ACCOUNT });
    for (const b of [viaFlow, viaSweep, viaRemove, viaRemoveAll]) await store.put(b);
    expect(await c1.dbSize()).to.equal(11); // 4 AOR hashes, 2 identity sets, 4 flows, the expiry index
    await store.removeByFlow(NODE, 'f1');
    await store.sweep(t0 + 1000);
    await store.remove(ACCOUNT, 'carol', viaRemove.key);
    await store.removeAll(OTHER_ACCOUNT, 'alice');
    expect(await keysOf()).to.deep.equal([]);
  });

  it('does not expire a binding written with a clock behind Redis: keys live at least the grace period', async () => {
    const store = make({ graceMs: 30_000 });
    const past = Date.now() - 3_600_000;
    const old = binding(past, { expiresAt: past + 1000 });
    await store.put(old);
    for (const key of await keysOf()) expect(await c1.pTTL(key), key).to.be.within(29_000, 30_000);
    // Still there for the sweep to report.
    expect(await store.sweep(past + 1000)).to.deep.equal([old]);
  });

  it('sweeps in batches until none is due', async () => {
    const store = make({ sweepBatch: 3 });
    const t0 = Date.now();
    const expired = Array.from({ length: 10 }, (_, i) => binding(t0, { identity: `u${i % 4}`, expiresAt: t0 + i }));
    for (const b of expired) await store.put(b);
    await store.put(binding(t0, { identity: 'u0', expiresAt: t0 + 60_000 }));
    expect(byKey(await store.sweep(t0 + 9))).to.deep.equal(byKey(expired));
    expect(await store.count()).to.equal(1);
  });

  it('two nodes sweeping at once never both return a binding', async () => {
    // Two connections, as two nodes would have; small batches so the scripts interleave.
    const a = make({ sweepBatch: 7 }, c1);
    const b = make({ sweepBatch: 5 }, c2);
    const t0 = Date.now();
    const all = Array.from({ length: 300 }, (_, i) =>
      binding(t0, { identity: `user${i % 37}`, flowId: `f${i % 11}`, expiresAt: t0 + (i % 50) }),
    );
    for (let round = 0; round < 3; round++) {
      await Promise.all(all.map((x) => a.put(x)));
      const results = await Promise.all([a.sweep(t0 + 49), b.sweep(t0 + 49), a.sweep(t0 + 49), b.sweep(t0 + 49)]);
      const swept = results.flat();
      const names = swept.map((x) => `${x.identity}|${x.key}`);
      expect(new Set(names).size, `round ${round}: no binding twice`).to.equal(names.length);
      expect(byKey(swept), `round ${round}: every binding once`).to.deep.equal(byKey(all));
    }
    expect(await c1.dbSize()).to.equal(0);
  });

  it('a flow closing while another node sweeps: each binding reported once', async () => {
    const a = make({ sweepBatch: 4 }, c1);
    const b = make({}, c2);
    const t0 = Date.now();
    const onFlow = Array.from({ length: 60 }, (_, i) => binding(t0, { identity: `u${i % 7}`, flowId: 'shared', expiresAt: t0 + i }));
    for (const x of onFlow) await a.put(x);
    const [swept, closed] = await Promise.all([a.sweep(t0 + 100), b.removeByFlow(NODE, 'shared')]);
    const names = [...swept, ...closed].map((x) => `${x.identity}|${x.key}`);
    expect(names).to.have.length(onFlow.length);
    expect(new Set(names).size).to.equal(onFlow.length);
  });

  it('runs its scripts again after Redis forgot them (SCRIPT FLUSH)', async () => {
    const store = make();
    const t0 = Date.now();
    await store.put(binding(t0));
    await c1.scriptFlush();
    const b = binding(t0, { identity: 'bob' });
    await store.put(b);
    expect(await store.list(ACCOUNT, 'bob', t0)).to.deep.equal([b]);
  });

  it('connectRedis gives up the first connection after its timeout, naming the server but not the password', async () => {
    const started = Date.now();
    const err = await connectRedis('redis://:hunter2@127.0.0.1:1', { connectTimeoutMs: 300 }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/127\.0\.0\.1:1 unreachable/);
    expect(err?.message).to.not.include('hunter2');
    expect(Date.now() - started).to.be.below(5000);
  });

  it('keeps stores with different prefixes apart', async () => {
    const one = make({ prefix: 'one:' });
    const two = make({ prefix: 'two:' });
    const t0 = Date.now();
    const b = binding(t0);
    await one.put(b);
    expect(await two.list(ACCOUNT, 'alice', t0)).to.deep.equal([]);
    expect(await two.count()).to.equal(0);
    expect(await one.count()).to.equal(1);
    expect((await keysOf()).every((k) => k.startsWith('one:'))).to.equal(true);
  });
});
