/** Prometheus metrics (prom-client), one registry per server so tests can run several in a process. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MediaCounts } from '../media/media-counts.js';
import type { ConcurrencyGate } from '../gate/gate.js';
import { ObservedGate } from '../gate/observed-gate.js';

export class Metrics {
  readonly registry = new Registry();
  readonly sipReceived = new Counter({ name: 'herald_sip_messages_received_total', help: 'SIP messages received', labelNames: ['type'] as const, registers: [this.registry] });
  readonly sipMalformed = new Counter({ name: 'herald_sip_malformed_total', help: 'SIP messages that could not be parsed or framed', registers: [this.registry] });
  readonly sipRejected = new Counter({ name: 'herald_sip_rejected_total', help: 'Requests refused by the router, by status', labelNames: ['status'] as const, registers: [this.registry] });
  // The concurrency gate, per account and resource type (`calls`, `api:Presence`…; src/gate/resources.ts).
  readonly gateGranted = this.perAccountResource('herald_gate_granted_total', 'Gate acquires granted by this node');
  readonly gateRefused = this.perAccountResource(
    'herald_gate_refused_total',
    'Gate acquires refused by this node (a queued REST request may count several before it gets a slot or a 429)',
  );
  readonly gateExpired = this.perAccountResource(
    'herald_gate_expired_total',
    'Leases an acquire of this node found expired and removed: their holder never released them (crashed, or lost the store)',
  );
  readonly gateReleased = this.perAccountResource(
    'herald_gate_released_total',
    'Gate releases by this node that gave a live lease back (with granted_total: one each per call or REST request that ended)',
  );
  readonly gateReleaseMissed = this.perAccountResource(
    'herald_gate_release_missed_total',
    'Gate releases by this node that found no lease: released before (a double release) or expired first (renewals failed)',
  );
  readonly apiThrottled = this.perAccountResource('herald_api_throttled_total', 'REST requests answered 429 (limits.api)');

  constructor(live: { connections: () => number; serverTransactions: () => number; clientTransactions: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    new Gauge({ name: 'herald_sip_connections', help: 'Open SIP connection flows (TCP, TLS, WS, WSS)', registers: [this.registry], collect() { this.set(live.connections()); } });
    new Gauge({
      name: 'herald_sip_transactions',
      help: 'Live SIP transactions',
      labelNames: ['side'] as const,
      registers: [this.registry],
      collect() {
        this.set({ side: 'server' }, live.serverTransactions());
        this.set({ side: 'client' }, live.clientTransactions());
      },
    });
  }

  /**
   * The gate the server hands out, counted here: granted, refused, expired,
   * released and release-missed per account and resource type, and `herald_gate_in_use`, read from the
   * gate at each scrape (with Redis: the whole cluster's leases) for every
   * account and resource type this node has acquired for.
   */
  observeGate(gate: ConcurrencyGate): ConcurrencyGate {
    const seen = new Map<string, { account: string; resource: string }>();
    new Gauge({
      name: 'herald_gate_in_use',
      help: 'Leases held, per account and resource type (cluster-wide with Redis)',
      labelNames: ['account', 'resource'] as const,
      registers: [this.registry],
      async collect() {
        const labels = [...seen.values()];
        const counts = await Promise.all(labels.map((l) => gate.usage(l.account, l.resource).catch(() => null)));
        this.reset();
        // A store that cannot be read leaves its series out rather than failing the whole scrape.
        labels.forEach((l, i) => {
          const n = counts[i];
          if (n !== null && n !== undefined) this.set(l, n);
        });
      },
    });
    return new ObservedGate(gate, {
      acquired: (account, resource, result) => {
        const labels = { account, resource };
        const key = `${account}\n${resource}`;
        if (!seen.has(key)) seen.set(key, labels);
        (result.granted ? this.gateGranted : this.gateRefused).inc(labels);
        if (result.expired > 0) this.gateExpired.inc(labels, result.expired);
      },
      released: (account, resource, removed) => (removed ? this.gateReleased : this.gateReleaseMissed).inc({ account, resource }),
    });
  }

  /** A counter labelled `account` and `resource`, in this registry (field initializers run after `registry`'s). */
  private perAccountResource(name: string, help: string): Counter<'account' | 'resource'> {
    return new Counter({ name, help, labelNames: ['account', 'resource'] as const, registers: [this.registry] });
  }

  /**
   * Live media resources (src/media), read from the engine at each scrape:
   * herald_media_workers, _routers, _transports, _producers, _consumers. All 0
   * with HERALD_MEDIA=off or while media is unavailable. And the SSRC latch's
   * candidates, a counter.
   */
  observeMedia(counts: () => MediaCounts, ssrcCandidates: () => number): void {
    const kinds = ['workers', 'routers', 'transports', 'producers', 'consumers'] as const;
    for (const kind of kinds) {
      new Gauge({ name: `herald_media_${kind}`, help: `Live mediasoup ${kind}`, registers: [this.registry], collect() { this.set(counts()[kind]); } });
    }
    new Counter({
      name: 'herald_media_ssrc_candidates_total',
      help: 'Producers tried to learn a plain RTP peer\'s SSRC (src/media/ssrc-latch.ts): about one per leg; far more means reports reach legs they are not for',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(ssrcCandidates());
      },
    });
  }
}
