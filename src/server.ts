/**
 * One Herald node: configuration in, listeners up, the SIP stack wired
 * transport → transactions → router, and the HTTP listener beside it.
 * `start()` resolves when everything is bound; the CLI then prints the ready line.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { HeraldConfig, HostPort } from './config/load.js';
import type { ConcurrencyGate } from './gate/gate.js';
import { MemoryConcurrencyGate } from './gate/memory-gate.js';
import { RedisConcurrencyGate } from './gate/redis-gate.js';
import type { AccountConfig, ConfigFile } from './config/schema.js';
import { buildHttpServer, type NodeInfo } from './http/http-server.js';
import { Metrics } from './http/metrics.js';
import { silentLog, type Log } from './log.js';
import { NO_MEDIA } from './media/media-counts.js';
import { MediaEngine } from './media/media-engine.js';
import { InstructionsClient } from './instructions/index.js';
import { CallEngine } from './calls/call-engine.js';
import { ClusterRoutes } from './cluster/cluster-routes.js';
import { FlowRelay } from './cluster/flow-relay.js';
import { NodeAnnouncer } from './cluster/node-announcer.js';
import type { RelayKeys } from './cluster/relay-route.js';
import { MemoryNodeRegistry, type NodeRegistry } from './store/node-registry.js';
import { RedisNodeRegistry } from './store/redis-node-registry.js';
import type { PresenceSources } from './presence/snapshot.js';
import { presenceCallbackPoster } from './presence/callback.js';
import { LocalPresenceChanges, type PresenceChanges } from './presence/changes.js';
import { ObservedPresenceStore } from './presence/observed-presence-store.js';
import { PresencePublisher } from './presence/publish.js';
import { PresenceSubscriptions } from './presence/subscriptions.js';
import { PresenceTracker } from './presence/tracker.js';
import { Registrar } from './registrar/registrar.js';
import { RequestRouter } from './router/request-router.js';
import type { BindingStore } from './store/binding-store.js';
import type { CallRecordLifetimes, CallRecordStore } from './store/call-record-store.js';
import { MemoryCallRecordStore } from './store/memory-call-record-store.js';
import { RedisCallRecordStore } from './store/redis-call-record-store.js';
import { MemoryBindingStore } from './store/memory-binding-store.js';
import { MemoryPresenceStore } from './store/memory-presence-store.js';
import type { PresenceStore } from './store/presence-store.js';
import { RedisBindingStore } from './store/redis-binding-store.js';
import { RedisPresenceStore } from './store/redis-presence-store.js';
import { connectRedis } from './store/redis-client.js';
import { MemorySubscriptionStore } from './store/memory-subscription-store.js';
import { RedisPresenceChanges } from './store/redis-presence-changes.js';
import { RedisSubscriptionStore } from './store/redis-subscription-store.js';
import { RedisNonceCounter } from './store/redis-nonce-counter.js';
import type { SharedNonceCounter } from './auth/digest.js';
import type { SubscriptionStore } from './store/subscription-store.js';
import type { Binding } from './store/binding-store.js';
import { TransactionLayer } from './transaction/transaction-layer.js';
import { SipTransport } from './transport/sip-transport.js';
import type { ListenerInfo } from './transport/types.js';

export const VERSION = '0.1.0';

/** State shared by every node of a cluster (Redis). */
export interface SharedStores {
  bindings: BindingStore;
  presence: PresenceStore;
  subscriptions: SubscriptionStore;
  /** Presence changes broadcast to every node. */
  changes: PresenceChanges;
  /** Digest nonce-counts, so a replay to another node is refused too. */
  nonceCounter: SharedNonceCounter;
  /** The concurrency gate's leases (calls, REST requests), shared so limits hold across the cluster. */
  gate: ConcurrencyGate;
  /** Call records, so that any node serves any node's calls. */
  callRecords: CallRecordStore;
  /** Where each node takes SIP from the others (calls to devices connected elsewhere). */
  nodes: NodeRegistry;
  close(): Promise<void>;
}

/** A server for the config: with HERALD_REDIS_URL its stores live in Redis, connected before anything listens. */
export async function createHeraldServer(config: HeraldConfig, log: Log = silentLog): Promise<HeraldServer> {
  if (config.redisUrl === null) return new HeraldServer(config, log);
  const redis = await connectRedis(config.redisUrl, { onError: (err) => log.error({ err }, 'redis connection error') });
  const changes = await RedisPresenceChanges.open(redis, { onError: (err) => log.error({ err }, 'redis presence-change subscriber error') });
  const shared: SharedStores = {
    bindings: new RedisBindingStore(redis),
    presence: new RedisPresenceStore(redis),
    gate: new RedisConcurrencyGate(redis, { defaultTtlMs: config.settings.gate.leaseTtlMs }),
    subscriptions: new RedisSubscriptionStore(redis),
    callRecords: new RedisCallRecordStore(redis, callRecordLifetimes(config)),
    nodes: new RedisNodeRegistry(redis),
    changes,
    nonceCounter: new RedisNonceCounter(redis),
    close: async () => {
      await changes.close();
      await redis.close();
    },
  };
  return new HeraldServer(config, log, shared);
}

/** A live record lasts one gate lease TTL without renewal (its call renews both on the same beat). */
function callRecordLifetimes(config: HeraldConfig): CallRecordLifetimes {
  return { liveTtlMs: config.settings.gate.leaseTtlMs, retentionMs: config.settings.callRecords.retention * 1000 };
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
  /** Presence records as REST and PUBLISH write them: each write is reported to the tracker. */
  readonly presence: PresenceStore;
  readonly publisher: PresencePublisher;
  /** Slots per account and resource type: REST requests take `api:*` ones; the call engine takes a `calls` slot per call. */
  readonly gate: ConcurrencyGate;
  readonly calls: CallEngine;
  /** Relays requests between this node's connections and the other nodes (cluster routing). */
  private readonly relay: FlowRelay;
  private readonly announcer: NodeAnnouncer;
  readonly callRecords: CallRecordStore;
  private readonly instructions: InstructionsClient;
  readonly tracker: PresenceTracker;
  readonly subscriptions: PresenceSubscriptions;
  private readonly changes: PresenceChanges;
  /** The media engine (src/media): started by start() when HERALD_MEDIA=on, null otherwise. */
  media: MediaEngine | null = null;
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
    this.metrics.observeMedia(() => this.media?.counts() ?? NO_MEDIA, () => this.media?.unknownSsrcs.candidatesTried ?? 0);
    this.router = new RequestRouter(log, { rejected: (status) => this.metrics.sipRejected.inc({ status }) });
    // Requests routed through this node's relay (cluster routing) are forwarded before the router sees them.
    this.transactions = new TransactionLayer(
      this.transport,
      {
        onRequest: (request, txn) => {
          if (!this.relay.onRequest(request, txn)) this.router.onRequest(request, txn);
        },
        onAck: (ack, flow) => {
          if (!this.relay.onAck(ack, flow)) this.router.onAck(ack, flow);
        },
      },
      { timers: sip.timers, logger: log },
    );
    const authTokens = new Map(config.settings.accounts.map((a) => [a.sid, a.authToken]));
    const relayKeys: RelayKeys = (accountSid) => authTokens.get(accountSid) ?? null;
    this.relay = new FlowRelay({ nodeId: config.nodeId, keys: relayKeys, transactions: this.transactions, transport: this.transport, log });
    const nodes = shared?.nodes ?? new MemoryNodeRegistry();
    this.announcer = new NodeAnnouncer(nodes, config.settings.gate.leaseTtlMs, log);
    const clusterRoutes = new ClusterRoutes(nodes, relayKeys, log);
    this.bindings = shared?.bindings ?? new MemoryBindingStore();
    this.callRecords = shared?.callRecords ?? new MemoryCallRecordStore(callRecordLifetimes(config));
    const presenceStore = shared?.presence ?? new MemoryPresenceStore();
    this.instructions = new InstructionsClient({ userAgent: `Herald/${VERSION}`, log, timeoutMs: config.settings.webhooks.timeout * 1000 });
    const sources: PresenceSources = {
      bindings: this.bindings,
      presence: presenceStore,
      // A client in a call is busy (CONTRACT §4); the engine counts this node's calls.
      activeCalls: (accountSid, identity) => this.calls?.activeCalls(accountSid, identity) ?? 0,
    };
    this.changes = shared?.changes ?? new LocalPresenceChanges();
    this.tracker = new PresenceTracker({
      accounts: config.settings.accounts,
      sources,
      changes: this.changes,
      log,
      transition: presenceCallbackPoster(this.instructions),
    });
    this.registrar = new Registrar({
      accounts: config.settings.accounts,
      store: this.bindings,
      nodeId: config.nodeId,
      log,
      md5OnlyUserAgents: sip.md5OnlyUserAgents.map((p) => new RegExp(p, 'i')),
      changed: (accountSid, identity) => this.tracker.changed(accountSid, identity),
      ...(shared !== null ? { nonceCounter: shared.nonceCounter } : {}),
    });
    this.router.handle('REGISTER', this.registrar.handle);
    this.presence = new ObservedPresenceStore(presenceStore, this.tracker);
    this.publisher = new PresencePublisher({
      store: this.presence,
      authorize: (request, identity, host, source, local) => this.registrar.authorize(request, identity, host, source, local),
      log,
    });
    this.router.handle('PUBLISH', this.publisher.handle);
    this.router.addAccept('application/pidf+xml');
    this.subscriptions = new PresenceSubscriptions({
      accounts: config.settings.accounts,
      store: shared?.subscriptions ?? new MemorySubscriptionStore(),
      sources,
      changes: this.changes,
      authorize: (request, identity, host, source, local) => this.registrar.authorize(request, identity, host, source, local),
      transactions: this.transactions,
      transport: this.transport,
      nodeId: config.nodeId,
      log,
    });
    this.router.handle('SUBSCRIBE', this.subscriptions.handle);
    this.transport.on('flowClosed', (flow) => {
      if (!flow.reliable) return;
      this.registrar.flowClosed(flow.id).then(
        (gone) => {
          if (gone.length > 0) log.info({ flow: flow.id, bindings: gone.length }, 'flow closed: bindings removed');
          this.bindingsGone(gone);
        },
        (err: unknown) => log.error({ err, flow: flow.id }, 'removing the bindings of a closed flow failed'),
      );
      this.subscriptions.flowClosed(flow.id).catch((err: unknown) => log.error({ err, flow: flow.id }, 'removing the subscriptions of a closed flow failed'));
      this.calls.flowClosed(flow.id);
    });
    // Label children bound once: a labelled inc() hashes its labels on every message.
    const receivedRequests = this.metrics.sipReceived.labels('request');
    const receivedResponses = this.metrics.sipReceived.labels('response');
    this.transport.on('message', (m) => (m.message.type === 'request' ? receivedRequests : receivedResponses).inc());
    this.transport.on('malformed', () => this.metrics.sipMalformed.inc());
    const gate = shared?.gate ?? new MemoryConcurrencyGate({ defaultTtlMs: config.settings.gate.leaseTtlMs });
    this.gate = this.metrics.observeGate(gate);
    this.http = buildHttpServer({ metrics: this.metrics, nodeInfo: () => this.nodeInfo(), draining: () => this.draining, accounts: config.settings.accounts, bindings: this.bindings, presence: this.presence, now: Date.now, log,
      gate: this.gate, gateSettings: config.settings.gate, callRecords: this.callRecords,
      activeCalls: (accountSid, identity) => this.calls?.activeCalls(accountSid, identity) ?? 0,
      ...demoAccountOf(config.settings) });
    this.calls = new CallEngine({
      config: config.settings,
      transactions: this.transactions,
      transport: this.transport,
      gate: this.gate,
      instructions: this.instructions,
      presence: sources,
      records: this.callRecords,
      nodeId: config.nodeId,
      publicHost: config.publicHost,
      log,
      media: () => this.media,
      t1: this.transactions.settings.t1,
      keepaliveMs: config.settings.calls.keepaliveInterval * 1000,
      leaseTtlMs: config.settings.gate.leaseTtlMs,
      busyGate: gate,
      relayTo: (binding) => clusterRoutes.hopTo(binding),
      digestCallers: {
        bindings: this.bindings,
        nodeId: config.nodeId,
        authorize: (request, identity, host, source, local) => this.registrar.authorize(request, identity, host, source, local),
      },
      presenceChanged: (accountSid, identity) => this.tracker.changed(accountSid, identity),
    });
    this.router.handle('INVITE', this.calls.handleInvite, { forwards: true });
    for (const method of ['BYE', 'UPDATE', 'INFO']) this.router.handle(method, this.calls.handleInDialog);
    this.router.onAckReceived(this.calls.handleAck);
    this.holdDrainWhile(() => this.calls.count() > 0);
  }

  async start(): Promise<ReadyInfo> {
    if (this.config.media) {
      // Never throws: without a worker binary media is "unavailable" (logged with the fix) and signaling still starts.
      this.media = new MediaEngine({
        enabled: true,
        rtpPorts: this.config.rtpPorts,
        publicHost: this.config.publicHost,
        ...(this.config.settings.media.workers !== undefined ? { workers: this.config.settings.media.workers } : {}),
        log: this.log,
      });
      await this.media.start();
    }
    const sipListeners = await this.transport.start();
    // Expired bindings go within a second; the count feeds /v1/Node.
    this.sweepTimer = setInterval(() => {
      this.registrar
        .sweep()
        .then((gone) => this.bindingsGone(gone))
        .then(() => this.bindings.count())
        .then((n) => (this.bindingCount = n))
        .catch((err: unknown) => this.log.error({ err }, 'binding sweep failed'));
      this.subscriptions.sweep().catch((err: unknown) => this.log.error({ err }, 'subscription sweep failed'));
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
    // Other nodes send calls for this node's connections to its TCP listener (else UDP), at its public host:
    // relayed INVITEs carry whole SDP offers, often past the 1300 bytes RFC 3261 §18.1.1 allows over UDP.
    const { tcp, udp } = this.bound.listeners;
    const inbound = tcp !== null ? { protocol: 'tcp' as const, port: tcp.port } : udp !== null ? { protocol: 'udp' as const, port: udp.port } : null;
    if (inbound !== null) await this.announcer.start({ nodeId: this.config.nodeId, sip: { ...inbound, host: this.config.publicHost } });
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
    this.subscriptions.close();
    this.tracker.close();
    if (this.shared === null) await this.changes.close();
    await this.announcer.stop(this.config.nodeId);
    this.transactions.stop();
    await this.instructions.close();
    await this.media?.close();
    await Promise.all([this.transport.stop(), this.http.close()]);
    await this.shared?.close();
  }

  /** Bindings removed by a flow closing or expiring: their clients' presence may have changed. */
  private bindingsGone(gone: readonly Binding[]): void {
    const seen = new Set<string>();
    for (const b of gone) {
      const k = `${b.accountSid}\u0000${b.identity}`;
      if (seen.has(k)) continue;
      seen.add(k);
      this.tracker.changed(b.accountSid, b.identity);
    }
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
      media: this.media?.info() ?? { status: 'off', ...NO_MEDIA },
    };
  }
}

/** The `demo` section's account, as the HTTP server's `demoAccount` option (absent without a demo section). */
function demoAccountOf(settings: ConfigFile): { demoAccount?: AccountConfig } {
  const sid = settings.demo?.account;
  const account = sid === undefined ? undefined : settings.accounts.find((a) => a.sid === sid);
  return account !== undefined ? { demoAccount: account } : {};
}
