/**
 * One Herald node: configuration in, listeners up, the SIP stack wired
 * transport → transactions → router, and the HTTP listener beside it.
 * `start()` resolves when everything is bound; the CLI then prints the ready line.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { HeraldConfig, HostPort } from './config/load.js';
import { buildHttpServer, type NodeInfo } from './http/http-server.js';
import { Metrics } from './http/metrics.js';
import { silentLog, type Log } from './log.js';
import { PresencePublisher } from './presence/publish.js';
import { Registrar } from './registrar/registrar.js';
import { RequestRouter } from './router/request-router.js';
import type { BindingStore } from './store/binding-store.js';
import { MemoryBindingStore } from './store/memory-binding-store.js';
import { MemoryPresenceStore } from './store/memory-presence-store.js';
import type { PresenceStore } from './store/presence-store.js';
import { RedisBindingStore } from './store/redis-binding-store.js';
import { RedisPresenceStore } from './store/redis-presence-store.js';
import { connectRedis } from './store/redis-client.js';
import { TransactionLayer } from './transaction/transaction-layer.js';
import { SipTransport } from './transport/sip-transport.js';
import type { ListenerInfo } from './transport/types.js';

export const VERSION = '0.1.0';

/** State shared by every node of a cluster (Redis). */
export interface SharedStores {
  bindings: BindingStore;
  presence: PresenceStore;
  close(): Promise<void>;
}

/** A server for the config: with HERALD_REDIS_URL its stores live in Redis, connected before anything listens. */
export async function createHeraldServer(config: HeraldConfig, log: Log = silentLog): Promise<HeraldServer> {
  if (config.redisUrl === null) return new HeraldServer(config, log);
  const redis = await connectRedis(config.redisUrl, { onError: (err) => log.error({ err }, 'redis connection error') });
  const shared: SharedStores = {
    bindings: new RedisBindingStore(redis),
    presence: new RedisPresenceStore(redis),
    close: async () => {
      await redis.close();
    },
  };
  return new HeraldServer(config, log, shared);
}

export interface ReadyInfo {
  nodeId: string;
  publicHost: string;
  listeners: Record<'udp' | 'tcp' | 'tls' | 'ws' | 'wss' | 'http', HostPort | null>;
}

export class HeraldServer {
  readonly transport: SipTransport;
  readonly transactions: TransactionLayer;
  readonly router: RequestRouter;
  readonly metrics: Metrics;
  readonly bindings: BindingStore;
  readonly registrar: Registrar;
  readonly presence: PresenceStore;
  readonly publisher: PresencePublisher;
  private readonly http: FastifyInstance;
  private sweepTimer: NodeJS.Timeout | null = null;
  private bindingCount = 0;
  private bound: ReadyInfo | null = null;
  private draining = false;
  private readonly drainHolds: Array<() => boolean> = [];

  /**
   * `shared` is the cluster state (CONTRACT §1 HERALD_REDIS_URL): without it
   * the embedded memory store. `createHeraldServer` connects it from the config.
   */
  constructor(
    readonly config: HeraldConfig,
    private readonly log: Log = silentLog,
    private readonly shared: SharedStores | null = null,
  ) {
    const sip = config.settings.sip;
    this.transport = new SipTransport({
      udp: config.listen.udp,
      tcp: config.listen.tcp,
      tls: config.listen.tls,
      ws: config.listen.ws,
      wss: config.listen.wss,
      ...(config.tlsCert !== null ? { tlsCert: config.tlsCert } : {}),
      ...(config.tlsKey !== null ? { tlsKey: config.tlsKey } : {}),
      publicHost: config.publicHost,
      maxMessageBytes: sip.maxMessageBytes,
      maxConnectionsPerAddress: sip.maxConnectionsPerAddress,
      idleTimeoutMs: sip.idleTimeout * 1000,
      wsAllowedOrigins: sip.wsAllowedOrigins,
      logger: log,
    });
    this.metrics = new Metrics({
      connections: () => this.transport.connectionCount(),
      serverTransactions: () => this.transactions.serverTransactionCount(),
      clientTransactions: () => this.transactions.clientTransactionCount(),
    });
    this.router = new RequestRouter(log, { rejected: (status) => this.metrics.sipRejected.inc({ status }) });
    this.transactions = new TransactionLayer(this.transport, this.router, { timers: sip.timers, logger: log });
    this.bindings = shared?.bindings ?? new MemoryBindingStore();
    this.registrar = new Registrar({
      accounts: config.settings.accounts,
      store: this.bindings,
      nodeId: config.nodeId,
      log,
      md5OnlyUserAgents: sip.md5OnlyUserAgents.map((p) => new RegExp(p, 'i')),
    });
    this.router.handle('REGISTER', this.registrar.handle);
    this.presence = shared?.presence ?? new MemoryPresenceStore();
    this.publisher = new PresencePublisher({
      store: this.presence,
      authorize: (request, identity, host, source) => this.registrar.authorize(request, identity, host, source),
      log,
    });
    this.router.handle('PUBLISH', this.publisher.handle);
    this.router.addAccept('application/pidf+xml');
    this.transport.on('flowClosed', (flow) => {
      if (!flow.reliable) return;
      this.registrar.flowClosed(flow.id).then(
        (gone) => gone.length > 0 && log.info({ flow: flow.id, bindings: gone.length }, 'flow closed: bindings removed'),
        (err: unknown) => log.error({ err, flow: flow.id }, 'removing the bindings of a closed flow failed'),
      );
    });
    // Label children bound once: a labelled inc() hashes its labels on every message.
    const receivedRequests = this.metrics.sipReceived.labels('request');
    const receivedResponses = this.metrics.sipReceived.labels('response');
    this.transport.on('message', (m) => (m.message.type === 'request' ? receivedRequests : receivedResponses).inc());
    this.transport.on('malformed', () => this.metrics.sipMalformed.inc());
    this.http = buildHttpServer({ metrics: this.metrics, nodeInfo: () => this.nodeInfo(), draining: () => this.draining, accounts: config.settings.accounts, bindings: this.bindings, presence: this.presence, now: Date.now, log });
  }

  async start(): Promise<ReadyInfo> {
    const sipListeners = await this.transport.start();
    // Expired bindings go within a second; the count feeds /v1/Node.
    this.sweepTimer = setInterval(() => {
      this.registrar
        .sweep()
        .then(() => this.bindings.count())
        .then((n) => (this.bindingCount = n))
        .catch((err: unknown) => this.log.error({ err }, 'binding sweep failed'));
    }, 1000);
    const httpListen = this.config.listen.http;
    await this.http.listen({ host: httpListen.host, port: httpListen.port });
    const httpAddress = this.http.server.address() as AddressInfo;
    const pick = (p: ListenerInfo['protocol']): HostPort | null => {
      const l = sipListeners.find((x) => x.protocol === p);
      return l ? { host: l.address, port: l.port } : null;
    };
    this.bound = {
      nodeId: this.config.nodeId,
      publicHost: this.config.publicHost,
      listeners: {
        udp: pick('udp'),
        tcp: pick('tcp'),
        tls: pick('tls'),
        ws: pick('ws'),
        wss: pick('wss'),
        http: { host: httpAddress.address, port: httpAddress.port },
      },
    };
    return this.bound;
  }

  /**
   * SIGTERM (CONTRACT §1): refuse new calls with 503, let calls in progress
   * finish, resolve when none is left or after drainTimeout. Transactions that
   * only absorb retransmissions (Completed, Timer J/K) are not waited for.
   * The call engine registers what counts as "in progress" with `holdDrainWhile`.
   */
  async drain(): Promise<void> {
    this.draining = true;
    this.router.startDrain();
    const deadline = Date.now() + this.config.settings.drainTimeout * 1000;
    while (Date.now() < deadline && this.drainHolds.some((busy) => busy())) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Keeps a SIGTERM drain waiting while `busy()` is true (calls in progress). */
  holdDrainWhile(busy: () => boolean): void {
    this.drainHolds.push(busy);
  }

  async stop(): Promise<void> {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.transactions.stop();
    await Promise.all([this.transport.stop(), this.http.close()]);
    await this.shared?.close();
  }

  nodeInfo(): NodeInfo {
    return {
      nodeId: this.config.nodeId,
      version: VERSION,
      publicHost: this.config.publicHost,
      draining: this.draining,
      listeners: this.bound?.listeners ?? {},
      connections: this.transport.connectionCount(),
      bindings: this.bindingCount,
      transactions: { server: this.transactions.serverTransactionCount(), client: this.transactions.clientTransactionCount() },
    };
  }
}
