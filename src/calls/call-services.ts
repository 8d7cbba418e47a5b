/**
 * What a call needs from the rest of the node, in one place: the SIP stack,
 * the instructions client, the stores, the dialog table of the engine.
 * A narrow interface so that a call never reaches past it (DESIGN "Nothing
 * reaches past its neighbour").
 */
import type { InstructionsClient } from '../instructions/index.js';
import type { Log } from '../log.js';
import type { MediaEngine } from '../media/media-engine.js';
import type { PresenceSources } from '../presence/snapshot.js';
import type { TransactionLayer } from '../transaction/transaction-layer.js';
import type { Protocol, Transport } from '../transport/types.js';
import type { Call } from './call.js';
import type { CallRecordKeeper } from './call-record-keeper.js';
import type { Ticker } from '../core/ticker.js';
import type { LegKeepalive } from './leg-keepalive.js';
import type { OutboundTrunk } from './outbound-trunk.js';
import type { RelayHop } from '../cluster/cluster-routes.js';
import type { Binding } from '../store/binding-store.js';

export interface DialogEntry {
  call: Call;
  side: 'a' | 'b';
}

export interface CallServices {
  transactions: Pick<TransactionLayer, 'sendRequest' | 'sendAck'>;
  transport: Pick<Transport, 'flow' | 'viaSentBy'>;
  instructions: InstructionsClient;
  presence: PresenceSources;
  /** A keeper for one call's records (renewed while the call lives). */
  keepRecords(): CallRecordKeeper;
  /** Dialogs of live calls by Herald's tag. */
  dialogs: Map<string, DialogEntry>;
  nodeId: string;
  /** How to reach a device registered on another node (through that node); null when it cannot be relayed. */
  relayTo(binding: Binding): Promise<RelayHop | null>;
  /** Where an account's `<Number>` goes; null without an outbound trunk. */
  outboundTrunk(accountSid: string): OutboundTrunk | null;
  publicHost: string;
  log: Log;
  /** The media engine when HERALD_MEDIA=on (calls anchor their media in it), else null: SDP passes between the legs. */
  media(): MediaEngine | null;
  /** T1, ms (the 2xx ACK wait is 64·T1). */
  t1: number;
  /** Interval of the keepalive OPTIONS in an answered call's dialogs, ms; 0 = none (`calls.keepaliveInterval`). */
  /** Probes the legs of answered calls (leg-keepalive.ts); null: no probes. */
  legProbes: Ticker<LegKeepalive> | null;
  now(): number;
  newTag(): string;
  newCallSid(): string;
  /** Herald's Contact for a leg over `protocol`. */
  contactFor(protocol: Protocol): string;
  /** A client entered (+1) or left (-1) call `callSid` (presence `busy`, cluster-wide). */
  busyChanged(accountSid: string, identity: string, callSid: string, delta: 1 | -1): void;
  callEnded(call: Call): void;
  /** Tells the call when this connection (a reliable flow) closes, until the call ends. */
  watchFlow(flowId: string, call: Call): void;
  /** Waits `ms`, or less if `until` settles first. */
  sleep(ms: number, until: Promise<void>): Promise<void>;
}
