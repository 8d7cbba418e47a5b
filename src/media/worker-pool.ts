/**
 * A fixed-size pool of mediasoup workers (one process each, single-threaded:
 * one per core uses the machine). A worker that dies is logged and replaced;
 * the routers it held are gone with it (mediasoup closes them, and their
 * owners hear `workerclose`), new routers go to the live workers meanwhile.
 */
import { EventEmitter } from 'node:events';
import process from 'node:process';
import type { types as ms } from 'mediasoup';
import type { Log } from '../log.js';

export type CreateWorker = (settings: ms.WorkerSettings) => Promise<ms.Worker>;

export interface WorkerPoolOptions {
  size: number;
  settings: ms.WorkerSettings;
  createWorker: CreateWorker;
  /** Called with every worker the pool starts, before it is used (resource counting). */
  onWorker?: (worker: ms.Worker) => void;
  log: Log;
}

export interface WorkerPoolEvents {
  /** A worker is up: at start and after each replacement. */
  workerstarted: [pid: number];
  /** A worker died unexpectedly; a replacement is on its way. */
  workerdied: [pid: number, error: Error];
}

/** How long close() waits for a worker process to exit before killing it. */
const EXIT_WAIT_MS = 5000;
/** A worker that dies sooner than this after starting counts as a crash loop: replacements back off. */
const SHORT_LIFE_MS = 5000;
const MAX_BACKOFF_MS = 30_000;

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  /** Per worker: live routers, routers being created (so concurrent calls spread too), start time. */
  private readonly workers = new Map<ms.Worker, { routers: number; creating: number; startedAt: number }>();
  private readonly pending = new Set<Promise<void>>();
  private shortLivedDeaths = 0;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {
    super();
  }

  /** Starts every worker; rejects (after stopping those that did start) if one cannot start. */
  async start(): Promise<void> {
    const started = await Promise.allSettled(Array.from({ length: this.options.size }, () => this.spawn()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
  }

  get size(): number {
    return this.workers.size;
  }

  /** The live workers. */
  list(): ms.Worker[] {
    return [...this.workers.keys()];
  }

  pids(): number[] {
    return this.list().map((w) => w.pid);
  }

  /**
   * A router on the live worker with the fewest routers (one router per call,
   * so the fewest calls), counting those still being created so that calls
   * set up at the same moment spread too. While every worker is being
   * replaced, waits for one.
   */
  async createRouter(options: ms.RouterOptions): Promise<{ router: ms.Router; worker: ms.Worker }> {
    while (this.workers.size === 0) {
      if (this.closed) throw new Error('media worker pool is closed');
      if (this.pending.size === 0) throw new Error('no media worker is running');
      await Promise.race(this.pending);
    }
    let worker: ms.Worker | null = null;
    let state: { routers: number; creating: number } | null = null;
    for (const [w, s] of this.workers) {
      if (state === null || s.routers + s.creating < state.routers + state.creating) {
        worker = w;
        state = s;
      }
    }
    state!.creating++;
    try {
      return { router: await worker!.createRouter(options), worker: worker! };
    } finally {
      state!.creating--;
    }
  }

  /** Closes every worker and resolves when their processes have exited (their ports are free then). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.pending);
    const workers = [...this.workers.keys()];
    this.workers.clear();
    await Promise.all(workers.map((w) => closeAndWait(w)));
  }

  private async spawn(): Promise<void> {
    const worker = await this.options.createWorker(this.options.settings);
    // mediasoup closes every worker on the Node process's SIGINT/SIGTERM. Herald
    // drains on SIGTERM (CONTRACT §1: calls in progress continue), and stop()
    // closes the pool itself, so the media of calls must not end on the signal.
    releaseSignalHandlers(worker);
    if (this.closed) {
      await closeAndWait(worker);
      return;
    }
    const state = { routers: 0, creating: 0, startedAt: Date.now() };
    this.workers.set(worker, state);
    worker.observer.on('newrouter', (router) => {
      state.routers++;
      router.observer.once('close', () => state.routers--);
    });
    worker.once('died', (error) => this.onDied(worker, error));
    this.options.onWorker?.(worker);
    this.emit('workerstarted', worker.pid);
  }

  private onDied(worker: ms.Worker, error: Error): void {
    const state = this.workers.get(worker);
    this.workers.delete(worker);
    if (this.closed) return;
    const lived = state ? Date.now() - state.startedAt : 0;
    this.shortLivedDeaths = lived < SHORT_LIFE_MS ? this.shortLivedDeaths + 1 : 0;
    const delay = this.shortLivedDeaths <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** (this.shortLivedDeaths - 2));
    this.options.log.error({ err: error, pid: worker.pid, livedMs: lived, replaceInMs: delay }, 'media worker died; replacing it');
    this.emit('workerdied', worker.pid, error);
    this.replace(delay);
  }

  /** Starts a replacement after `delay` ms, and keeps trying (backing off) while it fails. */
  private replace(delay: number): void {
    const attempt = (async () => {
      if (delay > 0) await new Promise<void>((r) => setTimeout(r, delay).unref());
      if (this.closed) return;
      try {
        await this.spawn();
      } catch (err) {
        const next = Math.min(MAX_BACKOFF_MS, Math.max(1000, delay * 2));
        this.options.log.error({ err, retryInMs: next }, 'starting a replacement media worker failed');
        if (!this.closed) this.replace(next);
      }
    })();
    this.pending.add(attempt);
    void attempt.finally(() => this.pending.delete(attempt));
  }
}

function releaseSignalHandlers(worker: ms.Worker): void {
  // `onSignal` is the listener mediasoup 3.27 adds with process.once('SIGINT'/'SIGTERM');
  // test/integration/media checks that starting workers leaves no signal listener.
  const onSignal = (worker as unknown as { onSignal?: unknown }).onSignal;
  if (typeof onSignal !== 'function') return;
  process.removeListener('SIGINT', onSignal as () => void);
  process.removeListener('SIGTERM', onSignal as () => void);
}

function closeAndWait(worker: ms.Worker): Promise<void> {
  if (worker.subprocessClosed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      // The worker ignored WORKER_CLOSE: make sure no process (and no port) outlives the pool.
      try {
        process.kill(worker.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      resolve();
    }, EXIT_WAIT_MS);
    worker.once('subprocessclose', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.close();
  });
}
