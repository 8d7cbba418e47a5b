/** Prometheus metrics (prom-client), one registry per server so tests can run several in a process. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly sipReceived = new Counter({ name: 'herald_sip_messages_received_total', help: 'SIP messages received', labelNames: ['type'] as const, registers: [this.registry] });
  readonly sipMalformed = new Counter({ name: 'herald_sip_malformed_total', help: 'SIP messages that could not be parsed or framed', registers: [this.registry] });
  readonly sipRejected = new Counter({ name: 'herald_sip_rejected_total', help: 'Requests refused by the router, by status', labelNames: ['status'] as const, registers: [this.registry] });

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
}
