/**
 * The media engine with real mediasoup workers: the pool, a real RTP relay,
 * a killed worker replaced, and clean-up down to the ports.
 */
import { once } from 'node:events';
import { expect } from 'chai';
import { MediaEngine, MediaUnavailableError } from '../../../src/media/media-engine.js';
import { bindUdp, buildRelay, closeUdp, LOCAL, relayPackets, runningEngine, sentPayloads } from './rtp.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('media engine (real mediasoup workers)', function () {
  // Starting a worker takes ~100 ms, longer on a loaded machine.
  this.timeout(60_000);

  describe('worker pool', () => {
    let engine: MediaEngine;
    const signalListeners = { SIGTERM: 0, SIGINT: 0 };
    before(async () => {
      signalListeners.SIGTERM = process.listenerCount('SIGTERM');
      signalListeners.SIGINT = process.listenerCount('SIGINT');
      engine = await runningEngine({ workers: 3 });
    });
    after(() => engine.close());

    it('starts the configured number of worker processes', () => {
      const pids = engine.workerPids();
      expect(pids).to.have.length(3);
      expect(new Set(pids).size).to.equal(3);
      for (const pid of pids) expect(alive(pid), `worker ${pid} alive`).to.equal(true);
      expect(engine.counts()).to.deep.equal({ workers: 3, routers: 0, transports: 0, producers: 0, consumers: 0 });
    });

    it('leaves SIGTERM to Herald: mediasoup would close every worker on it, but a drain keeps calls going', () => {
      expect(process.listenerCount('SIGTERM')).to.equal(signalListeners.SIGTERM);
      expect(process.listenerCount('SIGINT')).to.equal(signalListeners.SIGINT);
    });

    it('puts each new call router on the least-loaded worker', async () => {
      const loads = async () => (await engine.workerLoads()).map((l) => l.routerIds.length);
      // Calls set up at the same moment spread too (routers still being created count).
      const routers = await Promise.all([1, 2, 3].map(async () => engine.createRouter()));
      try {
        expect(await loads()).to.deep.equal([1, 1, 1]);
        for (let i = 0; i < 3; i++) routers.push(await engine.createRouter());
        expect(engine.counts().routers).to.equal(6);
        expect(await loads()).to.deep.equal([2, 2, 2]);
        // The worker whose calls ended gets the next call.
        const [first] = await engine.workerLoads();
        const ended = routers.filter((r) => first!.routerIds.includes(r.id));
        expect(ended).to.have.length(2);
        await Promise.all(ended.map((r) => engine.closeRouter(r)));
        const next = await engine.createRouter();
        routers.push(next);
        const after = await engine.workerLoads();
        expect(after.find((l) => l.pid === first!.pid)!.routerIds).to.deep.equal([next.id]);
      } finally {
        await Promise.all(routers.map((r) => engine.closeRouter(r)));
      }
      expect(engine.counts().routers).to.equal(0);
      expect(await loads()).to.deep.equal([0, 0, 0]);
    });
  });

  describe('relay', () => {
    let engine: MediaEngine;
    before(async () => (engine = await runningEngine({ rtpPorts: { min: 43000, max: 43099 } })));
    after(() => engine.close());

    it('relays real RTP from one UDP socket through a router to another', async () => {
      const relay = await buildRelay(engine);
      try {
        expect(relay.inPort).to.be.within(43000, 43099);
        expect(relay.outPort).to.be.within(43000, 43099);
        expect(engine.counts()).to.deep.equal({ workers: 1, routers: 1, transports: 2, producers: 1, consumers: 1 });
        const got = await relayPackets(relay, 20);
        expect(got.map((b) => b.toString('latin1'))).to.deep.equal(sentPayloads(20).map((b) => b.toString('latin1')));
        const stats = await relay.producer.getStats();
        expect(stats[0]?.packetCount).to.equal(20);
      } finally {
        await relay.close();
        await engine.closeRouter(relay.router);
      }
    });
  });

  describe('a worker that dies', () => {
    let engine: MediaEngine;
    before(async () => (engine = await runningEngine({ rtpPorts: { min: 43100, max: 43199 } })));
    after(() => engine.close());

    it('is replaced, its routers close, and the engine keeps serving', async () => {
      const router = await engine.createRouter();
      const [oldPid] = engine.workerPids();
      expect(oldPid).to.be.a('number');
      const routerGone = once(router, 'workerclose');
      const died = once(engine, 'workerdied');
      const started = once(engine, 'workerstarted');
      process.kill(oldPid!, 'SIGKILL');
      const [diedPid] = (await died) as [number, Error];
      expect(diedPid).to.equal(oldPid);
      await routerGone;
      expect(router.closed).to.equal(true);
      const [newPid] = (await started) as [number];
      expect(newPid).to.not.equal(oldPid);
      expect(alive(oldPid!)).to.equal(false);
      expect(engine.workerPids()).to.deep.equal([newPid]);
      expect(engine.counts()).to.deep.equal({ workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 });

      const relay = await buildRelay(engine);
      try {
        const got = await relayPackets(relay, 5);
        expect(got).to.have.length(5);
      } finally {
        await relay.close();
        await engine.closeRouter(relay.router);
      }
    });
  });

  describe('clean-up', () => {
    it('closing a call router frees its transports, producers, consumers and ports', async () => {
      const engine = await runningEngine({ rtpPorts: { min: 43200, max: 43299 } });
      try {
        const relay = await buildRelay(engine);
        await relayPackets(relay, 3);
        await relay.close();
        const ports = [relay.inPort, relay.outPort];
        // While the call lives its ports are taken: the check below can fail.
        for (const port of ports) {
          const err = await bindUdp(port).then(closeUdp, (e: NodeJS.ErrnoException) => e);
          expect(err, `port ${port} in use during the call`).to.have.property('code', 'EADDRINUSE');
        }
        await engine.closeRouter(relay.router);
        expect(engine.counts()).to.deep.equal({ workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 });
        for (const port of ports) await closeUdp(await bindUdp(port));
      } finally {
        await engine.close();
      }
    });

    it('close() ends every worker process and leaves nothing counted', async () => {
      const engine = await runningEngine({ workers: 2, rtpPorts: { min: 43300, max: 43399 } });
      const relay = await buildRelay(engine);
      await relay.close();
      const pids = engine.workerPids();
      await engine.close();
      expect(engine.status).to.equal('closed');
      expect(engine.counts()).to.deep.equal({ workers: 0, routers: 0, transports: 0, producers: 0, consumers: 0 });
      for (const pid of pids) expect(alive(pid), `worker ${pid} gone`).to.equal(false);
      for (const port of [relay.inPort, relay.outPort]) await closeUdp(await bindUdp(port, LOCAL));
      await engine.createRouter().then(
        () => expect.fail('createRouter after close'),
        (err: unknown) => expect(err).to.be.instanceOf(MediaUnavailableError),
      );
    });
  });

  describe('without media', () => {
    it('HERALD_MEDIA=off starts no worker', async () => {
      const engine = new MediaEngine({ enabled: false, rtpPorts: { min: 43400, max: 43499 }, publicHost: LOCAL });
      expect(await engine.start()).to.equal('off');
      expect(engine.info()).to.deep.equal({ status: 'off', workers: 0, routers: 0, transports: 0, producers: 0, consumers: 0 });
      expect(engine.workerPids()).to.deep.equal([]);
      await engine.createRouter().then(
        () => expect.fail('createRouter with media off'),
        (err: unknown) => expect(err).to.be.instanceOf(MediaUnavailableError),
      );
    });

    it('a missing worker binary makes media unavailable, says how to build it, once, and does not throw', async () => {
      const errors: Array<{ obj: object; msg?: string }> = [];
      const log = { debug() {}, info() {}, warn() {}, error: (obj: object, msg?: string) => void errors.push({ obj, msg }) };
      const engine = new MediaEngine({ enabled: true, rtpPorts: { min: 43500, max: 43599 }, publicHost: LOCAL, workerBin: '/nonexistent/mediasoup-worker', log });
      expect(await engine.start()).to.equal('unavailable');
      expect(await engine.start()).to.equal('unavailable');
      expect(errors).to.have.length(1);
      expect(errors[0]!.msg).to.include('media unavailable').and.include('npm run mediasoup-worker').and.include('/nonexistent/mediasoup-worker');
      expect(engine.info()).to.include({ status: 'unavailable', workers: 0 });
      expect(engine.info().reason).to.include('/nonexistent/mediasoup-worker does not exist');
      await engine.close();
    });
  });
});
