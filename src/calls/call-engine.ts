/**
 * The call engine (CONTRACT §5): the router's handler for INVITE and for the
 * requests inside call dialogs (BYE, UPDATE, INFO, re-INVITE, ACK of a 2xx).
 *
 * A new INVITE is identified (caller.ts: trunk or client, else 401/403/404),
 * takes one `calls` slot of the account's gate before anything else (none
 * free: 503 with Retry-After and `X-Herald-Limit`, the application is not
 * called), and becomes a Call. A forked `<Dial>` is one call: one slot.
 * Requests inside a dialog are found by Herald's tag (our To tag on the
 * caller's side, our From tag on a dialed leg); one that matches no live
 * dialog gets 481 (§12.2.2). A call is told when a connection it uses
 * closes (`flowClosed`, from the transport's announcement).
 */
import { BEARER_CHALLENGE } from '../auth/bearer.js';
import type { ConfigFile } from '../config/schema.js';
import { randomBytesPooled } from '../core/random-pool.js';
import { DEFAULT_LEASE_TTL_MS, type ConcurrencyGate } from '../gate/gate.js';
import { holdLease } from '../gate/hold-lease.js';
import { CALLS } from '../gate/resources.js';
import type { InstructionsClient } from '../instructions/index.js';
import type { Log } from '../log.js';
import type { MediaEngine } from '../media/media-engine.js';
import type { PresenceSources } from '../presence/snapshot.js';
import { tagOf, toOf } from '../sip/fields.js';
import { randomToken } from '../sip/ids.js';
import type { SipRequest } from '../sip/message.js';
import { createResponse, heraldWarning } from '../sip/response.js';
import type { TransactionLayer } from '../transaction/transaction-layer.js';
import type { ServerTransaction } from '../transaction/types.js';
import { heraldContact } from '../transport/contact-target.js';
import type { Flow, Transport } from '../transport/types.js';
import { Call } from './call.js';
import type { CallRecordStore } from '../store/call-record-store.js';
import type { CallServices, DialogEntry } from './call-services.js';
import { CallerIdentifier, type DigestCallers } from './caller.js';
import { CallRecordKeeper, recordRenewals } from './call-record-keeper.js';
import { legProbes } from './leg-keepalive.js';
import { ClientCalls } from './client-calls.js';
import { outboundTrunks } from './outbound-trunk.js';

export interface CallEngineOptions {
  config: Pick<ConfigFile, 'accounts' | 'trunks'>;
  transactions: TransactionLayer;
  transport: Pick<Transport, 'flow' | 'viaSentBy'>;
  gate: ConcurrencyGate;
  instructions: InstructionsClient;
  presence: PresenceSources;
  records: CallRecordStore;
  nodeId: string;
  publicHost: string;
  log: Log;
  /** The media engine (started after the call engine is made, hence a getter); absent: SDP passes through. */
  media?: () => MediaEngine | null;
  t1: number;
  /** Interval of the keepalive OPTIONS in answered calls, ms; 0 or absent = none (config `calls.keepaliveInterval`). */
  keepaliveMs?: number;
  /** Lease lifetime of a call's slot, ms (renewed while the call lives); live call records are renewed on the same beat. */
  leaseTtlMs?: number;
  /** The gate for "client in a call" leases (ClientCalls): the one without metrics. Default: `gate`. */
  busyGate?: ConcurrencyGate;
  /** How to reach devices registered on other nodes (cluster routing); without it they are rung at their contact, if they have one. */
  relayTo?: CallServices['relayTo'];
  /** Digest users placing calls (their bindings, the registrar's check); without it they are not recognised. */
  digestCallers?: DigestCallers;
  /** A client's presence may have changed (it entered or left a call). */
  presenceChanged(accountSid: string, identity: string): void;
  /** A call was refused for want of a slot (metrics). */
  refusedAtLimit?(accountSid: string): void;
  now?: () => number;
}

export class CallEngine {
  private readonly calls = new Map<string, Call>();
  private readonly dialogs = new Map<string, DialogEntry>();
  private readonly clientCalls: ClientCalls;
  /** Calls to tell when a connection closes, by flow id (reliable flows only: UDP announces nothing). */
  private readonly flowCalls = new Map<string, Set<Call>>();
  private readonly identifier: CallerIdentifier;
  private readonly services: CallServices;
  private readonly now: () => number;

  constructor(private readonly o: CallEngineOptions) {
    this.now = o.now ?? Date.now;
    this.identifier = new CallerIdentifier(o.config, o.digestCallers ?? null, this.now);
    const trunks = outboundTrunks(o.config.trunks);
    this.clientCalls = new ClientCalls(o.busyGate ?? o.gate, o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, o.log);
    const records = recordRenewals((o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS) / 3);
    this.services = {
      transactions: o.transactions,
      transport: o.transport,
      instructions: o.instructions,
      presence: o.presence,
      keepRecords: () => new CallRecordKeeper(o.records, records, o.log),
      dialogs: this.dialogs,
      nodeId: o.nodeId,
      outboundTrunk: (accountSid) => trunks.get(accountSid) ?? null,
      relayTo: o.relayTo ?? (async () => null),
      publicHost: o.publicHost,
      log: o.log,
      media: o.media ?? (() => null),
      t1: o.t1,
      legProbes: (o.keepaliveMs ?? 0) > 0 ? legProbes(o.keepaliveMs as number) : null,
      now: this.now,
      // Two tags' worth of randomness as one flat string (a concatenation is a cons string kept as long as the dialog).
      newTag: () => randomToken(24),
      // From the pooled CSPRNG: a randomBytes call per call was ~2 % of the call path's CPU.
      newCallSid: () => `CA${randomBytesPooled(16).toString('hex')}`,
      contactFor: (protocol) => heraldContact(o.transport, protocol),
      busyChanged: (accountSid, identity, callSid, delta) => this.busyChanged(accountSid, identity, callSid, delta),
      callEnded: (call) => this.calls.delete(call.sid),
      watchFlow: (flowId, call) => this.watchFlow(flowId, call),
      sleep: (ms, until) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          void until.then(() => {
            clearTimeout(t);
            resolve();
          });
        }),
    };
  }

  /** The router's INVITE handler: a new call, or a re-INVITE inside one. */
  readonly handleInvite = (request: SipRequest, txn: ServerTransaction): void => {
    if (tagOf(toOf(request)) !== null) return this.handleInDialog(request, txn);
    this.startCall(request, txn).catch((err: unknown) => {
      this.o.log.error({ err, callId: request.headers.get('call-id') }, 'starting a call failed');
      txn.respond(createResponse(request, 500));
    });
  };

  /** BYE, UPDATE, INFO, re-INVITE: passed to the call whose dialog Herald's tag names. */
  readonly handleInDialog = (request: SipRequest, txn: ServerTransaction): void => {
    const tag = tagOf(toOf(request));
    const entry = tag === null ? undefined : this.dialogs.get(tag);
    if (entry === undefined) return txn.respond(createResponse(request, 481));
    entry.call.onDialogRequest(entry.side, request, txn);
  };

  /** The ACK of a 2xx (end to end, §13.2.2.4). */
  readonly handleAck = (ack: SipRequest, _flow: Flow): void => {
    const tag = tagOf(toOf(ack));
    const entry = tag === null ? undefined : this.dialogs.get(tag);
    entry?.call.onDialogAck(entry.side, ack);
  };

  /** A connection closed (the transport's `flowClosed`): the calls using it lose that side. */
  flowClosed(flowId: string): void {
    const calls = this.flowCalls.get(flowId);
    if (calls === undefined) return;
    this.flowCalls.delete(flowId);
    for (const call of calls) call.flowClosed(flowId);
  }

  /** Calls a client is in, on every node of the cluster (presence `busy`). */
  activeCalls(accountSid: string, identity: string): Promise<number> {
    return this.clientCalls.count(accountSid, identity);
  }

  /** Calls in progress on this node (drain, /v1/Node). */
  count(): number {
    return this.calls.size;
  }

  private async startCall(request: SipRequest, txn: ServerTransaction): Promise<void> {
    const verdict = await this.identifier.identify(request, txn.flow);
    if (!verdict.ok) {
      if (verdict.response !== undefined) return txn.respond(verdict.response);
      const res = createResponse(request, verdict.status, undefined);
      if (verdict.status === 401) res.headers.append('WWW-Authenticate', BEARER_CHALLENGE);
      res.headers.set('Warning', heraldWarning(verdict.reason));
      this.o.log.info({ status: verdict.status, reason: verdict.reason, source: txn.flow.remote.address }, 'INVITE refused');
      return txn.respond(res);
    }
    const { account } = verdict.call;
    const sid = this.services.newCallSid();
    const lease = await holdLease(this.o.gate, account.sid, CALLS, sid, account.limits.calls, {
      ...(this.o.leaseTtlMs !== undefined ? { ttlMs: this.o.leaseTtlMs } : {}),
      onError: (err) => this.o.log.warn({ err, callSid: sid }, 'renewing a call slot failed'),
    });
    if (!lease.granted) {
      // CONTRACT §5.2: refused before the application is called.
      this.o.refusedAtLimit?.(account.sid);
      const res = createResponse(request, 503, 'Service Unavailable (call limit reached)');
      res.headers.set('Retry-After', String(lease.retryAfterSeconds));
      res.headers.set('X-Herald-Limit', `calls=${lease.limit}`);
      return txn.respond(res);
    }
    const call = new Call({ sid, invite: request, txn, identified: verdict.call, lease: lease.lease, services: this.services });
    this.calls.set(sid, call);
    if (txn.flow.reliable) this.watchFlow(txn.flow.id, call);
    void call.run();
  }

  private watchFlow(flowId: string, call: Call): void {
    let calls = this.flowCalls.get(flowId);
    if (calls === undefined) this.flowCalls.set(flowId, (calls = new Set()));
    calls.add(call);
    void call.finished.then(() => {
      const still = this.flowCalls.get(flowId);
      still?.delete(call);
      if (still?.size === 0) this.flowCalls.delete(flowId);
    });
  }

  /** The presence change is announced once the cluster sees the client in (or out of) the call. */
  private busyChanged(accountSid: string, identity: string, callSid: string, delta: 1 | -1): void {
    const done = delta > 0 ? this.clientCalls.enter(accountSid, identity, callSid) : this.clientCalls.leave(accountSid, identity, callSid);
    void done.then(() => this.o.presenceChanged(accountSid, identity));
  }
}
