/**
 * The media engine: a pool of mediasoup workers, one router per call on the
 * least-loaded worker, and the live counts `/v1/Node` and `/metrics` show.
 *
 * States: `off` (HERALD_MEDIA=off: SDP passes end to end, no worker is
 * started, mediasoup is not even loaded), `running`, and `unavailable` — media
 * is on but no worker could start, most often because the worker binary was
 * not built (a user who is not root skipped the build during npm install).
 * Unavailable does not stop the server: signaling, registration and presence
 * work without media, and tests of those run without a worker. It is logged
 * once, at error level, with the command that builds the worker, and
 * `/v1/Node` says `"status":"unavailable"` with the reason.
 *
 * Resources end with their call: `closeRouter()` closes a call's router with
 * its transports, producers and consumers, and resolves once the worker has
 * released their ports.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { types as ms } from 'mediasoup';
import { silentLog, type Log } from '../log.js';
import { CALL_MEDIA_CODECS } from './codecs.js';
import { MediaResourceTracker, NO_MEDIA, type MediaCounts } from './media-counts.js';
import { UnknownSsrcReports } from './ssrc-latch.js';
import { WebRtcServers } from './webrtc-servers.js';
import { BUILD_WORKER_COMMAND, checkWorkerBinary, hasHeraldPatches } from './worker-binary.js';
import { WorkerPool, type CreateWorker, type WorkerPoolEvents } from './worker-pool.js';

export type MediaStatus = 'off' | 'starting' | 'running' | 'unavailable' | 'closed';

export interface MediaEngineOptions {
  /** HERALD_MEDIA: false keeps the pass-through mode (no workers). */
  enabled: boolean;
  /** HERALD_RTP_PORTS: every RTP/RTCP/ICE port of every transport comes from here. */
  rtpPorts: { min: number; max: number };
  /** HERALD_PUBLIC_HOST: the address written into SDP for our media ports. */
  publicHost: string;
  /** Local address the media sockets bind to. Default 0.0.0.0. */
  listenIp?: string;
  /** Number of workers. Default: one per core. */
  workers?: number;
  /** mediasoup worker log level (its logs reach `log`). Default 'warn'; 'error' and 'none' are raised to 'warn', which the SSRC latch needs. */
  workerLogLevel?: ms.WorkerLogLevel;
  /** Worker binary. Default: mediasoup's (MEDIASOUP_WORKER_BIN, else node_modules/mediasoup/worker/out/Release). */
  workerBin?: string;
  log?: Log;
}

export interface MediaInfo extends MediaCounts {
  status: MediaStatus;
  /** Why media is unavailable (status "unavailable" only). */
  reason?: string;
}

/** Why an operation needs media and there is none (off, unavailable or closed). */
export class MediaUnavailableError extends Error {}

export class MediaEngine extends EventEmitter<WorkerPoolEvents> {
  private state: MediaStatus;
  private reason: string | undefined;
  private pool: WorkerPool | null = null;
  private readonly tracker = new MediaResourceTracker();
  /** mediasoup gives no router → worker link; closeRouter() needs the worker. */
  private readonly routerWorkers = new WeakMap<ms.Router, ms.Worker>();
  private readonly log: Log;
  /** Packets that reached a transport with no Producer for their SSRC (ssrc-latch.ts). */
  readonly unknownSsrcs = new UnknownSsrcReports();
  /** The worker forwards RFC 4733 telephone-event (Herald's worker patch); known once running. */
  carriesTelephoneEvent = false;
  private starting: Promise<MediaStatus> | null = null;
  /** Browser legs share one UDP port per worker (webrtc-servers.ts says why not TCP). */
  private readonly webRtcServers = new WebRtcServers(() => [this.listenInfo('udp')]);

  constructor(private readonly options: MediaEngineOptions) {
    super();
    this.log = options.log ?? silentLog;
    this.state = options.enabled ? 'starting' : 'off';
  }

  get status(): MediaStatus {
    return this.state;
  }

  /**
   * Starts the workers. Never rejects: when they cannot start the engine is
   * `unavailable` and says why (one error log line with the fix).
   */
  start(): Promise<MediaStatus> {
    this.starting ??= this.startWorkers();
    return this.starting;
  }

  private async startWorkers(): Promise<MediaStatus> {
    if (this.state !== 'starting') return this.state;
    let mediasoup: typeof import('mediasoup');
    try {
      // Loaded here, not at the top: with HERALD_MEDIA=off mediasoup is never loaded.
      mediasoup = await import('mediasoup');
    } catch (err) {
      return this.unavailable(`mediasoup cannot be loaded (${(err as Error).message})`);
    }
    const bin = this.options.workerBin ?? mediasoup.workerBin;
    const binary = checkWorkerBinary(bin);
    if (!binary.ok) return this.unavailable(`no mediasoup worker binary: ${binary.problem}`);
    this.carriesTelephoneEvent = hasHeraldPatches(bin);
    if (!this.carriesTelephoneEvent) {
      this.log.warn({ workerBin: bin }, `the mediasoup worker was built without Herald's patches: no RFC 4733 telephone-event (DTMF by SIP INFO or in the audio), slower SSRC learning when many calls start at once; ${BUILD_WORKER_COMMAND} builds a patched one`);
    }
    const log = this.log;
    const unknownSsrcs = this.unknownSsrcs;
    // Worker warnings and errors come through mediasoup's logger; without this they only reach DEBUG=mediasoup*.
    // (Process-wide: with several engines in one process the last one started gets them.)
    mediasoup.setLogEventListeners({
      onwarn: (namespace, text) => {
        if (!unknownSsrcs.take(text)) log.warn({ namespace }, text);
      },
      onerror: (namespace, text, err) => log.error({ namespace, err }, text),
    });
    const { min, max } = this.options.rtpPorts;
    const pool = new WorkerPool({
      size: this.options.workers ?? availableParallelism(),
      settings: {
        logLevel: this.options.workerLogLevel === 'debug' ? 'debug' : 'warn',
        // 'rtp' warnings include the unknown SSRCs that plain RTP legs latch on (ssrc-latch.ts).
        logTags: ['rtp'],
        workerBin: bin,
        // Deprecated in favour of the per-transport portRange that listenInfo()
        // gives, but kept as the worker's default so that a transport created
        // without listenInfo() still stays inside HERALD_RTP_PORTS.
        rtcMinPort: min,
        rtcMaxPort: max,
      },
      createWorker: mediasoup.createWorker as CreateWorker,
      onWorker: (worker) => this.tracker.track(worker),
      log,
    });
    pool.on('workerstarted', (pid) => this.emit('workerstarted', pid));
    pool.on('workerdied', (pid, err) => this.emit('workerdied', pid, err));
    try {
      await pool.start();
    } catch (err) {
      return this.unavailable(`the mediasoup worker ${bin} does not start (${(err as Error).message})`);
    }
    if (this.state !== 'starting') {
      // close() was called while the workers were starting.
      await pool.close();
      return this.state;
    }
    this.pool = pool;
    this.state = 'running';
    this.log.info({ workers: pool.size, pids: pool.pids(), rtpPorts: `${min}-${max}`, workerBin: bin }, 'media engine running');
    return this.state;
  }

  /**
   * A router for one call, on the least-loaded worker. Close it with
   * closeRouter() when the call ends. `mediaCodecs` defaults to every codec
   * Herald carries; a call passes the caller's (sdp/codec-match.ts
   * routerCodecsFor), so that payload types follow the caller's numbering.
   */
  async createRouter(appData: ms.AppData = {}, mediaCodecs: ms.RouterRtpCodecCapability[] = this.carriesTelephoneEvent ? CALL_MEDIA_CODECS : CALL_MEDIA_CODECS.filter((c) => c.mimeType !== 'audio/telephone-event')): Promise<ms.Router> {
    if (this.pool === null) throw new MediaUnavailableError(`media is ${this.state}${this.reason ? `: ${this.reason}` : ''}`);
    const { router, worker } = await this.pool.createRouter({ mediaCodecs, appData });
    this.routerWorkers.set(router, worker);
    return router;
  }

  /**
   * Closes a call's router (and its transports, producers, consumers) and
   * resolves when its worker has done so, i.e. when the ports are free again:
   * requests to a worker are answered in order, so an answer to a request sent
   * after the close means the close has been carried out.
   */
  async closeRouter(router: ms.Router): Promise<void> {
    if (router.closed) return;
    const worker = this.routerWorkers.get(router);
    router.close();
    if (worker && !worker.closed) await worker.dump().catch(() => undefined);
  }

  /** The pid of the worker that holds `router` (unknown-SSRC reports name the worker). */
  workerPidOf(router: ms.Router): number | null {
    return this.routerWorkers.get(router)?.pid ?? null;
  }

  /**
   * The WebRtcServer of the worker that holds `router`, where its browser
   * legs listen (made on first use). Throws MediaCapacityError when
   * HERALD_RTP_PORTS has no free port for it.
   */
  webRtcServerOf(router: ms.Router): Promise<ms.WebRtcServer> {
    const worker = this.routerWorkers.get(router);
    if (worker === undefined) throw new MediaUnavailableError('the router is not one of this engine\'s');
    return this.webRtcServers.for(worker);
  }

  /** Where a transport listens: HERALD_RTP_PORTS on listenIp, announced as HERALD_PUBLIC_HOST. */
  listenInfo(protocol: ms.TransportProtocol = 'udp'): ms.TransportListenInfo {
    const ip = this.options.listenIp ?? '0.0.0.0';
    return {
      protocol,
      ip,
      ...(ip === this.options.publicHost ? {} : { announcedAddress: this.options.publicHost }),
      portRange: { ...this.options.rtpPorts },
    };
  }

  counts(): MediaCounts {
    return this.pool === null ? { ...NO_MEDIA } : this.tracker.counts();
  }

  /** Status and counts, as `/v1/Node` shows them. */
  info(): MediaInfo {
    return { status: this.state, ...(this.reason !== undefined ? { reason: this.reason } : {}), ...this.counts() };
  }

  /** Pids of the live workers (operations, tests). */
  workerPids(): number[] {
    return this.pool?.pids() ?? [];
  }

  /** The routers of each live worker, as the worker processes themselves report them (not our bookkeeping). */
  async workerLoads(): Promise<Array<{ pid: number; routerIds: string[] }>> {
    const workers = this.pool?.list() ?? [];
    return Promise.all(workers.map(async (w) => ({ pid: w.pid, routerIds: (await w.dump()).routerIds })));
  }

  /** Closes every worker and with them every router, transport, producer and consumer; resolves when the processes are gone. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (this.state !== 'off') this.state = 'closed';
    await pool?.close();
  }

  private unavailable(reason: string): MediaStatus {
    if (this.state !== 'starting') return this.state;
    this.state = 'unavailable';
    this.reason = reason;
    this.log.error(
      { reason, fix: BUILD_WORKER_COMMAND },
      `media unavailable (HERALD_MEDIA=on): ${reason}. Calls cannot anchor media until the worker is built: run \`${BUILD_WORKER_COMMAND}\` (as root it also installs the Debian packages it needs; see README "Media"), or set HERALD_MEDIA=off for SDP pass-through.`,
    );
    return this.state;
  }
}
