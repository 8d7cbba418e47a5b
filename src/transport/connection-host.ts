/** What every connection needs from the transport that owns it. */
import type { FlowTable } from './flow-table.js';
import type { InboundDispatcher } from './inbound.js';
import type { TransportLogger } from './options.js';

export interface ConnectionHost {
  readonly inbound: InboundDispatcher;
  readonly table: FlowTable;
  readonly log: TransportLogger;
  readonly maxMessageBytes: number;
  readonly idleTimeoutMs: number;
}
