/**
 * A crashed holder cannot leak a slot: a worker process holds leases with
 * holdLease (renewing every TTL/3) and is killed with SIGKILL, so it never
 * releases. Its slots come back within one TTL, measured on Redis's own clock
 * (the key's PTTL right after the kill), and a new acquire is granted. With
 * no other holder the whole key disappears by itself; with a survivor
 * keeping the key alive, the next acquire removes the dead leases and
 * reports them as expired (the `herald_gate_expired_total` metric).
 */
import { expect } from 'chai';
import { resolve } from 'node:path';
import { RedisConcurrencyGate } from '../../../src/gate/redis-gate.js';
import { connectRedis, type RedisClient } from '../../../src/store/redis-client.js';
import { startPeer, type PeerProcess } from '../../helpers/peer-process.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { eventually } from './impls.js';

const AC = 'AC0123456789abcdef0123456789abcdef';
const TTL = 3000;
/** The machine may be loaded: the slots must come back within the TTL plus this, by the test's own clock. */
const SLACK_MS = 3000;
const WORKER = resolve(import.meta.dirname, 'workers', 'hold.ts');

describe('gate: a crashed holder (kill -9)', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let client: RedisClient;
  let gate: RedisConcurrencyGate;
  let worker: PeerProcess | undefined;

  before(async () => {
    server = await startRedis();
    client = await connectRedis(server.url);
    gate = new RedisConcurrencyGate(client);
  });
  beforeEach(async () => {
    await client.flushAll();
  });
  afterEach(async () => {
    await worker?.stop({ timeoutMs: 1000 });
    worker = undefined;
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  async function holdInWorker(count: number, limit: number): Promise<PeerProcess> {
    const w = startPeer(process.execPath, ['--import', 'tsx', WORKER, server.url, AC, 'calls', String(count), String(limit), String(TTL)]);
    const m = await w.waitFor(/\{"held":(\d+)\}/, { timeoutMs: 30_000 });
    expect(Number(m[1])).to.equal(count);
    return w;
  }

  async function kill(w: PeerProcess): Promise<number> {
    w.proc.kill('SIGKILL');
    const exit = await w.exited;
    expect(exit.signal).to.equal('SIGKILL');
    return Date.now();
  }

  it('its slots come back within the TTL and a new acquire is granted; the key goes by itself', async () => {
    worker = await holdInWorker(3, 3);
    expect(await gate.usage(AC, 'calls')).to.equal(3);
    expect((await gate.acquire(AC, 'calls', 'survivor', 3, TTL)).granted).to.equal(false);

    const killedAt = await kill(worker);
    // Redis's clock: the set expires with its latest lease, at most one TTL after the last renewal.
    const pttl = await client.pTTL(gate.key(AC, 'calls'));
    expect(pttl).to.be.within(1, TTL);
    // Nobody releases and nobody acquires: the key disappears by itself.
    await eventually('the key expires', async () => (await client.exists(gate.key(AC, 'calls'))) === 0, TTL + SLACK_MS);
    expect(Date.now() - killedAt).to.be.at.most(TTL + SLACK_MS);
    expect(await gate.acquire(AC, 'calls', 'next', 3, TTL)).to.deep.include({ granted: true });
    expect(await gate.usage(AC, 'calls')).to.equal(1);
  });

  it('with a survivor holding the key, the next acquire removes the dead leases and reports them', async () => {
    expect((await gate.acquire(AC, 'calls', 'survivor', 4, 60_000)).granted).to.equal(true);
    worker = await holdInWorker(3, 4);
    expect(await gate.usage(AC, 'calls')).to.equal(4);
    expect((await gate.acquire(AC, 'calls', 'refused', 4, TTL)).granted).to.equal(false);

    const killedAt = await kill(worker);
    await eventually('the dead leases expire', async () => (await gate.usage(AC, 'calls')) === 1, TTL + SLACK_MS);
    expect(Date.now() - killedAt).to.be.at.most(TTL + SLACK_MS);
    expect(await gate.acquire(AC, 'calls', 'next', 4, TTL)).to.deep.equal({ granted: true, expired: 3 });
    expect(await gate.usage(AC, 'calls')).to.equal(2);
  });
});
