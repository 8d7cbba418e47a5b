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
import type { CallRecordStore } from './call-records.js';
import type { Call } from './call.js';

export interface DialogEntry {
  call: Call;
  side: 'a' | 'b';
}

export interface CallServices {
  transactions: Pick<TransactionLayer, 'sendRequest' | 'sendAck'>;
  transport: Pick<Transport, 'flow' | 'viaSentBy'>;
  instructions: InstructionsClient;
  presence: PresenceSources;
  records: CallRecordStore;
  /** Dialogs of live calls by Herald's tag. */
  dialogs: Map<string, DialogEntry>;
  nodeId: string;
  publicHost: string;
  log: Log;
  /** The media engine when HERALD_MEDIA=on (calls anchor their media in it), else null: SDP passes between the legs. */
  media(): MediaEngine | null;
  /** T1, ms (the 2xx ACK wait is 64·T1). */
  t1: number;
  now(): number;
  newTag(): string;
  newCallSid(): string;
  /** Herald's Contact for a leg over `protocol`. */
  contactFor(protocol: Protocol): string;
  /** A client's number of calls changed (presence `busy`). */
  busyChanged(accountSid: string, identity: string, delta: number): void;
  callEnded(call: Call): void;
  /** Waits `ms`, or less if `until` settles first. */
  sleep(ms: number, until: Promise<void>): Promise<void>;
}
