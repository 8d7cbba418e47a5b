/**
 * One behaviour suite for every CallRecordStore: the embedded memory store
 * and the Redis store against a real redis-server. Lifetimes are short here
 * (a second or two) so that expiry is observed; every wait for something to
 * go is a poll with a generous deadline, and nothing is asserted about how
 * soon it goes beyond "not before its lifetime".
 */
import { expect } from 'chai';
import type { CallRecord, CallRecordLifetimes, CallRecordStore } from '../../../src/store/call-record-store.js';
import { MemoryCallRecordStore } from '../../../src/store/memory-call-record-store.js';
import { RedisCallRecordStore } from '../../../src/store/redis-call-record-store.js';
import type { RedisClient } from '../../../src/store/redis-client.js';
import { redisFixture } from '../../helpers/redis-fixture.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const OTHER_ACCOUNT = 'ACfedcba9876543210fedcba9876543210';
const LONG: CallRecordLifetimes = { liveTtlMs: 600_000, retentionMs: 600_000 };

let seq = 0;
function record(over: Partial<CallRecord> = {}): CallRecord {
  seq += 1;
  return {
    sid: `CA${String(seq).padStart(32, '0')}`,
    accountSid: ACCOUNT,
    parentCallSid: null,
    from: '+15550002222',
    to: '+15550001111',
    direction: 'inbound',
    status: 'ringing',
    startTime: new Date(Date.UTC(2030, 0, 1, 0, 0, seq)).toISOString(),
    answerTime: null,
    endTime: null,
    duration: null,
    endReason: null,
    node: 'node-a',
    ...over,
  };
}

const finished = (r: CallRecord, status: CallRecord['status'] = 'completed'): CallRecord => ({
  ...r,
  status,
  endTime: new Date(Date.parse(r.startTime) + 5000).toISOString(),
  duration: 5,
  endReason: 'caller-hangup',
});

/** Polls until `get` finds nothing (the record expired); fails after `ms`. */
async function goneWithin(store: CallRecordStore, r: CallRecord, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await store.get(r.accountSid, r.sid)) !== null) {
    if (Date.now() > deadline) throw new Error(`${r.sid} still there after ${ms} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

interface Impl {
  name: string;
  before(): Promise<void>;
  /** A fresh, empty store with these lifetimes. */
  fresh(lifetimes: CallRecordLifetimes): Promise<CallRecordStore>;
  after(): Promise<void>;
}

const memory: Impl = {
  name: 'memory',
  before: async () => {},
  fresh: async (lifetimes) => new MemoryCallRecordStore(lifetimes),
  after: async () => {},
};

const redis = redisFixture();
const redisImpl: Impl = {
  name: 'redis',
  before: () => redis.start(),
  fresh: async (lifetimes) => new RedisCallRecordStore(await redis.fresh(), { ...lifetimes, graceMs: 500 }),
  after: () => redis.stop(),
};

for (const impl of [memory, redisImpl]) {
  describe(`CallRecordStore (${impl.name})`, function () {
    this.timeout(30_000);
    before(() => impl.before());
    after(() => impl.after());

    it('gets what was put, every field; null for an unknown sid or another account', async () => {
      const store = await impl.fresh(LONG);
      const call = record({ from: 'client:bob', to: 'alice' });
      const leg = record({ parentCallSid: call.sid, direction: 'outbound-dial', status: 'in-progress', answerTime: new Date().toISOString(), node: 'node-b' });
      await store.put(call);
      await store.put(leg);
      expect(await store.get(ACCOUNT, call.sid)).to.deep.equal(call);
      expect(await store.get(ACCOUNT, leg.sid)).to.deep.equal(leg);
      expect(await store.get(ACCOUNT, record().sid)).to.equal(null);
      expect(await store.get(OTHER_ACCOUNT, call.sid)).to.equal(null);
    });

    it('a put replaces the record; the status filter follows the latest status', async () => {
      const store = await impl.fresh(LONG);
      const r = record({ status: 'ringing' });
      await store.put(r);
      expect((await store.list(ACCOUNT, { status: 'ringing', limit: 10 })).map((x) => x.sid)).to.deep.equal([r.sid]);
      const answered = { ...r, status: 'in-progress' as const, answerTime: new Date().toISOString() };
      await store.put(answered);
      const ended = finished(answered);
      await store.put(ended);
      expect(await store.get(ACCOUNT, r.sid)).to.deep.equal(ended);
      expect(await store.list(ACCOUNT, { status: 'ringing', limit: 10 })).to.deep.equal([]);
      expect(await store.list(ACCOUNT, { status: 'in-progress', limit: 10 })).to.deep.equal([]);
      expect(await store.list(ACCOUNT, { status: 'completed', limit: 10 })).to.deep.equal([ended]);
      expect(await store.list(ACCOUNT, { limit: 10 })).to.deep.equal([ended]);
    });

    it('lists newest start first, at most limit, one account only, filtered by status', async () => {
      const store = await impl.fresh(LONG);
      const rs = [record(), record({ status: 'in-progress' }), record(), record({ status: 'in-progress' }), record()];
      // Written out of order: the order comes from the start times.
      for (const r of [rs[2], rs[0], rs[4], rs[1], rs[3]]) await store.put(r!);
      await store.put(record({ accountSid: OTHER_ACCOUNT }));
      const sids = (xs: CallRecord[]) => xs.map((x) => x.sid);
      expect(sids(await store.list(ACCOUNT, { limit: 10 }))).to.deep.equal(sids([...rs].reverse()));
      expect(sids(await store.list(ACCOUNT, { limit: 2 }))).to.deep.equal([rs[4]!.sid, rs[3]!.sid]);
      expect(sids(await store.list(ACCOUNT, { status: 'in-progress', limit: 10 }))).to.deep.equal([rs[3]!.sid, rs[1]!.sid]);
      expect(sids(await store.list(ACCOUNT, { status: 'in-progress', limit: 1 }))).to.deep.equal([rs[3]!.sid]);
      expect(await store.list(ACCOUNT, { status: 'busy', limit: 10 })).to.deep.equal([]);
    });

    it('hands out copies: changing what put took or get returned changes nothing held', async () => {
      const store = await impl.fresh(LONG);
      const r = record();
      await store.put(r);
      const original = structuredClone(r);
      r.status = 'failed';
      const got = (await store.get(ACCOUNT, r.sid))!;
      got.to = 'changed';
      expect(await store.get(ACCOUNT, r.sid)).to.deep.equal(original);
    });

    it('a live record not renewed expires after liveTtlMs; one renewed lives on', async () => {
      const ttl = 2000;
      const store = await impl.fresh({ liveTtlMs: ttl, retentionMs: 600_000 });
      const renewed = record({ status: 'in-progress' });
      const abandoned = record({ status: 'ringing' });
      const putAt = Date.now();
      await store.put(renewed);
      await store.put(abandoned);
      // Renewed far more often than the TTL needs, so a slow turn of a loaded machine cannot let it lapse.
      const renewing = setInterval(() => void store.renew(ACCOUNT, [renewed.sid]), 200);
      try {
        await goneWithin(store, abandoned);
        // Twice the live TTL after the put: only the renewals kept it.
        await new Promise((res) => setTimeout(res, Math.max(0, putAt + 2 * ttl - Date.now())));
        expect(await store.get(ACCOUNT, renewed.sid)).to.deep.equal(renewed);
        expect((await store.list(ACCOUNT, { limit: 10 })).map((x) => x.sid)).to.deep.equal([renewed.sid]);
      } finally {
        clearInterval(renewing);
      }
      await goneWithin(store, renewed);
    });

    it('a finished record is kept for retentionMs, and renewing does not extend it', async () => {
      const store = await impl.fresh({ liveTtlMs: 600_000, retentionMs: 1500 });
      const live = record({ status: 'in-progress' });
      const done = finished(record());
      await store.put(live);
      await store.put(done);
      expect(await store.get(ACCOUNT, done.sid)).to.deep.equal(done);
      const renewing = setInterval(() => void store.renew(ACCOUNT, [done.sid, live.sid]), 300);
      try {
        await goneWithin(store, done);
      } finally {
        clearInterval(renewing);
      }
      expect(await store.list(ACCOUNT, { status: 'completed', limit: 10 })).to.deep.equal([]);
      expect(await store.get(ACCOUNT, live.sid)).to.deep.equal(live);
    });

    it('renewing an unknown sid changes nothing', async () => {
      const store = await impl.fresh(LONG);
      await store.renew(ACCOUNT, [record().sid]);
      await store.renew(ACCOUNT, []);
      expect(await store.list(ACCOUNT, { limit: 10 })).to.deep.equal([]);
    });
  });
}

describe('RedisCallRecordStore (Redis specifics)', function () {
  this.timeout(30_000);
  const server = redisFixture();
  let redisClient: RedisClient;
  before(() => server.start());
  beforeEach(async () => {
    redisClient = await server.fresh();
  });
  after(() => server.stop());

  const keys = async (): Promise<string[]> => ((await redisClient.sendCommand(['KEYS', 'herald:*'])) as string[]).sort();

  it('every key it writes has an expiry, and once every record has expired nothing is left', async () => {
    const store = new RedisCallRecordStore(redisClient, { liveTtlMs: 1000, retentionMs: 1000, graceMs: 300 });
    const r = record({ status: 'in-progress' });
    await store.put(r);
    await store.put(finished(record(), 'busy'));
    const written = await keys();
    expect(written).to.have.length(6); // 2 records, crt, cre, crs:in-progress, crs:busy
    for (const k of written) expect(Number(await redisClient.sendCommand(['PTTL', k])), k).to.be.greaterThan(0);
    const deadline = Date.now() + 15_000;
    while ((await keys()).length > 0) {
      if (Date.now() > deadline) throw new Error(`keys left: ${(await keys()).join(', ')}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  it('a later write of the account prunes the index entries of expired records', async () => {
    const store = new RedisCallRecordStore(redisClient, { liveTtlMs: 600_000, retentionMs: 800, graceMs: 600_000 });
    const done = finished(record());
    await store.put(done);
    await goneWithin(store, done);
    await store.put(record());
    const acc = ACCOUNT;
    expect(Number(await redisClient.sendCommand(['ZCARD', `herald:crt:${acc}`]))).to.equal(1);
    expect(Number(await redisClient.sendCommand(['ZCARD', `herald:cre:${acc}`]))).to.equal(1);
    expect(Number(await redisClient.sendCommand(['EXISTS', `herald:crs:${acc}:completed`]))).to.equal(0);
  });

  it('two stores (two nodes) see the same records', async () => {
    const a = new RedisCallRecordStore(redisClient);
    const b = new RedisCallRecordStore(await server.connect());
    const r = record({ node: 'node-a' });
    await a.put(r);
    expect(await b.get(ACCOUNT, r.sid)).to.deep.equal(r);
    await b.put(finished(r));
    expect((await a.list(ACCOUNT, { status: 'completed', limit: 5 })).map((x) => x.sid)).to.deep.equal([r.sid]);
  });
});
