/**
 * A real `herald serve` with HERALD_MEDIA=on: its mediasoup workers show in
 * GET /v1/Node and /metrics, they are its child processes, and they end with
 * it. Without a worker binary it still serves signaling and says why media is
 * unavailable. (Needs the built dist/, like every herald-process test.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { expect } from 'chai';
import { startHerald, type HeraldProcess } from '../../helpers/herald-process.js';

interface NodeMedia {
  status: string;
  reason?: string;
  workers: number;
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}

async function nodeMedia(herald: HeraldProcess): Promise<NodeMedia> {
  const res = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Node`);
  expect(res.status).to.equal(200);
  return ((await res.json()) as { media: NodeMedia }).media;
}

async function metric(herald: HeraldProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The pids of a process's children that run mediasoup-worker (Linux /proc). */
function workerChildren(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.filter((c) => {
    try {
      return readFileSync(`/proc/${c}/comm`, 'utf8').startsWith('mediasoup-worke');
    } catch {
      return false;
    }
  });
}

describe('herald serve: media engine', function () {
  this.timeout(60_000);
  let herald: HeraldProcess | null = null;
  afterEach(async () => {
    await herald?.stop('SIGKILL');
    herald = null;
  });

  it('HERALD_MEDIA=on: one worker per core, counted in /v1/Node and /metrics, ended with the server', async () => {
    herald = await startHerald({ env: { HERALD_MEDIA: 'on', HERALD_RTP_PORTS: '43600-43699' } });
    const cores = availableParallelism();
    expect(await nodeMedia(herald)).to.deep.equal({ status: 'running', workers: cores, routers: 0, transports: 0, producers: 0, consumers: 0 });
    expect(await metric(herald, 'herald_media_workers')).to.equal(cores);
    for (const kind of ['routers', 'transports', 'producers', 'consumers']) expect(await metric(herald, `herald_media_${kind}`), kind).to.equal(0);
    const workers = workerChildren(herald.proc.pid!);
    expect(workers).to.have.length(cores);
    expect(herald.logs.some((l) => l.msg === 'media engine running' && l.workers === cores)).to.equal(true);
    expect(await herald.stop('SIGTERM')).to.equal(0);
    herald = null;
    for (const pid of workers) expect(existsSync(`/proc/${pid}`), `worker ${pid} ended with the server`).to.equal(false);
  });

  it('HERALD_MEDIA=on without a worker binary: signaling starts, media is unavailable and the log says how to build it', async () => {
    herald = await startHerald({ env: { HERALD_MEDIA: 'on', MEDIASOUP_WORKER_BIN: '/nonexistent/mediasoup-worker' } });
    const media = await nodeMedia(herald);
    expect(media).to.include({ status: 'unavailable', workers: 0 });
    expect(media.reason).to.include('/nonexistent/mediasoup-worker');
    expect(await metric(herald, 'herald_media_workers')).to.equal(0);
    const errors = herald.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('media unavailable'));
    expect(errors).to.have.length(1);
    expect(errors[0]).to.include({ level: 50 });
    expect(errors[0]!.msg).to.include('npm run mediasoup-worker');
    expect(workerChildren(herald.proc.pid!)).to.deep.equal([]);
  });

  it('HERALD_MEDIA=off: no worker, status off', async () => {
    herald = await startHerald({ env: { HERALD_MEDIA: 'off' } });
    expect(await nodeMedia(herald)).to.deep.equal({ status: 'off', workers: 0, routers: 0, transports: 0, producers: 0, consumers: 0 });
    expect(await metric(herald, 'herald_media_workers')).to.equal(0);
    expect(workerChildren(herald.proc.pid!)).to.deep.equal([]);
  });
});
