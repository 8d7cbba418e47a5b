/**
 * The transaction layer (RFC 3261 §17, RFC 6026): sits on the transport,
 * matches every inbound message to a transaction with one Map lookup, runs
 * the four state machines, and hands new requests, ACKs of 2xx responses and
 * client responses to the transaction users.
 *
 * Hot path: no async, no Promise per message; a request costs a validation,
 * a key string, a Map lookup and (when new) a transaction object.
 */
import { tagOf, toOf } from '../sip/fields.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { parseMessage } from '../sip/parser.js';
import { serialize } from '../sip/serializer.js';
import { createResponse, reasonPhrase } from '../sip/response.js';
import { validateRequest, validateResponse } from '../sip/validate.js';
import type {
  Flow,
  Inbound,
  InboundFailure,
  Protocol,
  SendTarget,
  Transport,
} from '../transport/types.js';
import { ackAnswers } from './ack.js';
import { ClientTransactionBase } from './client-base.js';
import { InviteClientTransaction } from './client-invite.js';
import { NonInviteClientTransaction } from './client-non-invite.js';
import {
  SILENT_LOGGER,
  type TransactionContext,
  type TransactionLogger,
  type Tracked,
} from './context.js';
import { ackKeyOfAck, clientKey, responseKey, serverKey } from './keys.js';
import { LingeringMessages, LingeringResponses, type LingerId } from './lingering.js';
import { ensureMaxForwards, ownTopBranch, pushOwnVia } from './outbound.js';
import { ServerTransactionBase } from './server-base.js';
import { InviteServerTransaction } from './server-invite.js';
import { NonInviteServerTransaction } from './server-non-invite.js';
import { resolveTimers, TimerQueue, type TransactionTimerSettings } from './timers.js';
import type { ClientTransaction, ClientTransactionUser, ServerTransactionUser } from './types.js';

export interface TransactionLayerOptions {
  /** T1, T2, T4 (RFC 3261 Table 4) and Timer D; defaults 500 / 4000 / 5000 / 32000 ms. */
  timers?: Partial<TransactionTimerSettings>;
  logger?: TransactionLogger;
}

interface AckWaiter {
  ackReceived(): void;
}

/** How late, as a share of Timer J, the sweep of lingering responses may run (1 s at the default 32 s). */
const LINGER_SLACK_SHARE = 1 / 32;

export class TransactionLayer {
  /** Live server transactions, and completed UDP non-INVITE ones as just their final response (lingering.ts). */
  private readonly servers = new Map<string, ServerTransactionBase | LingerId>();
  /** Live client transactions, and settled INVITE ones as just their ACK (lingering.ts, client-base.ts `compact`). */
  private readonly clients = new Map<string, ClientTransactionBase | LingerId>();
  /** INVITE server transactions in Accepted whose 2xx awaits its ACK, by Call-ID, CSeq number, To tag. */
  private readonly awaitingAck = new Map<string, AckWaiter>();
  private readonly timers: TimerQueue;
  private readonly lingering: LingeringResponses<ServerTransactionBase>;
  private readonly lingeringAcks: LingeringMessages<ClientTransactionBase, SendTarget, null>;
  private readonly log: TransactionLogger;
  private readonly ctx: TransactionContext;
  private stopped = false;
  private unsent = 0;

  private readonly onMessage = (inbound: Inbound): void => {
    const msg = inbound.message;
    try {
      if (msg.type === 'response') this.receiveResponse(msg);
      else this.receiveRequest(msg, inbound.flow);
    } catch (err) {
      this.log.error({ err, flow: inbound.flow.id }, 'inbound message handling failed');
    }
  };

  private readonly onMalformed = (failure: InboundFailure): void => {
    try {
      this.receiveMalformed(failure);
    } catch (err) {
      this.log.error({ err, flow: failure.flow.id }, 'malformed message handling failed');
    }
  };

  private readonly onAckSendError = (err: Error): void => {
    this.log.warn({ err }, 'ACK could not be sent');
  };

  constructor(
    private readonly transport: Transport,
    private readonly user: ServerTransactionUser,
    options: TransactionLayerOptions = {},
  ) {
    this.log = options.logger ?? SILENT_LOGGER;
    const settings = resolveTimers(options.timers);
    const log = this.log;
    this.timers = new TimerQueue((err, name) =>
      log.error({ err, timer: name }, 'transaction timer handler threw'),
    );
    const onResponseError = (err: Error): void => log.warn({ err }, 'response could not be sent');
    const timerJ = 64 * settings.t1;
    this.lingering = new LingeringResponses(this.servers, timerJ, timerJ * LINGER_SLACK_SHARE, (err) =>
      log.error({ err }, 'onTerminated listener threw'),
    );
    // Timer M and Timer D (both 64·T1 by default): an entry lasts the longer.
    const acksLifetime = Math.max(timerJ, settings.timerD);
    this.lingeringAcks = new LingeringMessages(this.clients, acksLifetime, acksLifetime * LINGER_SLACK_SHARE, (err) =>
      log.error({ err }, 'onTerminated listener threw'),
    );
    const servers = this.servers;
    const clients = this.clients;
    const awaitingAck = this.awaitingAck;
    this.ctx = {
      transport,
      timers: this.timers,
      lingering: this.lingering,
      lingeringAcks: this.lingeringAcks,
      settings,
      log,
      onResponseError,
      sendResponse: (response, flow) => transport.sendResponse(response, flow, onResponseError),
      serverTerminated: (txn: Tracked) => {
        if (servers.get(txn.id) === txn) servers.delete(txn.id);
      },
      clientTerminated: (txn: Tracked) => {
        if (clients.get(txn.id) === txn) clients.delete(txn.id);
      },
      awaitAck: (key, txn) => {
        awaitingAck.set(key, txn);
      },
      forgetAck: (key) => {
        awaitingAck.delete(key);
      },
    };
    transport.on('message', this.onMessage);
    transport.on('malformed', this.onMalformed);
  }

  /** The timer values in use. */
  get settings(): Readonly<TransactionTimerSettings> {
    return this.ctx.settings;
  }

  serverTransactionCount(): number {
    return this.servers.size;
  }

  clientTransactionCount(): number {
    return this.clients.size;
  }

  /** Of those counted above, how many are kept as bytes only (lingering.ts): server and client. */
  compactTransactionCount(): { server: number; client: number } {
    return { server: this.lingering.size(), client: this.lingeringAcks.size() };
  }

  /**
   * Starts a client transaction (§17.1). The request gets our Via on top
   * (`SIP/2.0/<TRANSPORT> <sent-by>;branch=<new>;rport`, §8.1.1.7, RFC 3581)
   * and Max-Forwards 70 if it has none (§8.1.1.6); it is modified in place. A
   * CANCEL from `createCancel` keeps the INVITE's Via as §9.1 requires. A
   * request that already has our Via on top (the TU re-sending the same
   * object) gets a fresh branch: a new request is a new transaction (§8.1.3.5).
   *
   * Failures to send are reported through `user.onTransportError`, never thrown.
   */
  sendRequest(
    request: SipRequest,
    target: SendTarget,
    user: ClientTransactionUser,
  ): ClientTransaction {
    if (this.stopped) throw new Error('transaction layer is stopped');
    if (request.method === 'ACK') {
      throw new TypeError('ACK creates no client transaction: use sendAck (§17.1.1.3, §13.2.2.4)');
    }
    const route = this.routeOf(target);
    let error = route.error;
    let key = '';
    if (error === null) {
      try {
        key = clientKey(
          this.placeVia(request, route.protocol, request.method === 'CANCEL'),
          request.method,
        );
        ensureMaxForwards(request);
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
    }
    if (error !== null) key = `unsent-${++this.unsent}|${request.method}`;
    const txn =
      request.method === 'INVITE'
        ? new InviteClientTransaction(
            key,
            request,
            target,
            route.reliable,
            user,
            this.ctx,
            'calling',
          )
        : new NonInviteClientTransaction(
            key,
            request,
            target,
            route.reliable,
            user,
            this.ctx,
            'trying',
          );
    if (error !== null) {
      // §8.1.3.1: no way to send is a transport error, reported to the TU (after we return).
      txn.transportFailed(error);
      return txn;
    }
    this.clients.set(key, txn);
    txn.start();
    return txn;
  }

  /**
   * Sends the ACK of a 2xx statelessly (§13.2.2.4: it is its own transaction,
   * end to end, and retransmitted by the TU for each retransmitted 2xx). The
   * ACK gets our Via (reused if the same ACK object is sent again) and
   * Max-Forwards; send failures are logged. Returns the bytes sent (null: not
   * sent), which is all a TU needs to keep to send it again (`settle`).
   */
  sendAck(ack: SipRequest, target: SendTarget): Buffer | null {
    const route = this.routeOf(target);
    if (route.error !== null) {
      this.log.warn({ err: route.error }, 'ACK not sent');
      return null;
    }
    this.placeVia(ack, route.protocol, true);
    ensureMaxForwards(ack);
    const bytes = serialize(ack);
    this.transport.sendBytes(bytes, target, this.onAckSendError);
    return bytes;
  }

  /** Answers a request outside any transaction (§8.2.6, §16.11). ACKs are never answered. */
  respondStateless(request: Pick<SipRequest, 'method'>, response: SipResponse, flow: Flow): void {
    if (request.method === 'ACK') return;
    this.ctx.sendResponse(response, flow);
  }

  /** Stops listening, cancels every timer and forgets every transaction (without notifying anyone). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.transport.off('message', this.onMessage);
    this.transport.off('malformed', this.onMalformed);
    this.lingering.clear();
    this.lingeringAcks.clear();
    for (const txn of this.servers.values()) if (txn instanceof ServerTransactionBase) txn.dispose();
    for (const txn of this.clients.values()) if (txn instanceof ClientTransactionBase) txn.dispose();
    this.servers.clear();
    this.clients.clear();
    this.awaitingAck.clear();
    this.timers.clear();
  }

  // ---- inbound ----------------------------------------------------------

  private receiveRequest(request: SipRequest, flow: Flow): void {
    // §8.2 / §16.3: a request must be well formed before anything acts on it; ACKs are never answered.
    const verdict = validateRequest(request);
    if (!verdict.ok) {
      this.log.debug(
        { flow: flow.id, status: verdict.status, reason: verdict.reason },
        'invalid request',
      );
      if (request.method !== 'ACK') {
        this.ctx.sendResponse(createResponse(request, verdict.status, verdict.reason), flow);
      }
      return;
    }
    const method = request.method;
    if (method === 'ACK') return this.receiveAck(request, flow);
    if (method === 'CANCEL') return this.receiveCancel(request, flow);
    const key = serverKey(request, method);
    if (key === null) return;
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      this.absorb(existing, request);
      return;
    }
    if (method === 'INVITE') {
      const txn = new InviteServerTransaction(key, request, flow, this.ctx);
      this.servers.set(key, txn);
      txn.start();
      this.deliver(request, txn);
    } else {
      const txn = new NonInviteServerTransaction(key, request, flow, this.ctx);
      this.servers.set(key, txn);
      this.deliver(request, txn);
    }
  }

  /** §17.2.1, §17.2.2: a retransmission is absorbed by its transaction, or answered from its lingering response. */
  private absorb(existing: ServerTransactionBase | LingerId, request: SipRequest): void {
    if (existing instanceof ServerTransactionBase) {
      existing.receiveRetransmission(request);
      return;
    }
    // An INVITE kept as its 2xx is in Accepted, which absorbs retransmissions (RFC 6026 §7.1).
    if (request.method === 'INVITE') return;
    const response = this.lingering.response(existing);
    if (response !== null) this.transport.sendPrepared(response, this.ctx.onResponseError);
  }

  private deliver(request: SipRequest, txn: ServerTransactionBase): void {
    try {
      this.user.onRequest(request, txn);
    } catch (err) {
      this.log.error(
        { err, txn: txn.id, method: request.method },
        'transaction user onRequest threw',
      );
      if (txn.state !== 'terminated' && !txn.hasFinalResponse())
        txn.respond(createResponse(request, 500));
    }
  }

  /**
   * ACK (§17.2.3): the ACK of a 3xx–6xx matches the INVITE server transaction
   * and is absorbed there. Any other ACK — the ACK of a 2xx, a new
   * transaction end to end (§13.2.2.4) — goes to the TU, after stopping the
   * 2xx retransmissions of the INVITE it acknowledges (RFC 6026 §7.1).
   */
  private receiveAck(ack: SipRequest, flow: Flow): void {
    const invite = this.inviteForAck(ack);
    if (invite !== null) {
      if (!invite.receiveAck(ack)) return;
    } else if (this.awaitingAck.size > 0) {
      const key = ackKeyOfAck(ack);
      if (key !== null) this.awaitingAck.get(key)?.ackReceived();
    }
    try {
      this.user.onAck(ack, flow);
    } catch (err) {
      this.log.error({ err }, 'transaction user onAck threw');
    }
  }

  private inviteForAck(ack: SipRequest): InviteServerTransaction | null {
    const key = serverKey(ack, 'INVITE');
    if (key === null) return null;
    const txn = this.servers.get(key);
    if (txn instanceof InviteServerTransaction) return txn;
    if (!key.startsWith('2543 ')) return null;
    // §17.2.3 (RFC 2543): the ACK carries the To tag of our response while the INVITE had none.
    const ackTag = tagOf(toOf(ack));
    if (ackTag === null) return null;
    const untagged = serverKey(ack, 'INVITE', '');
    const candidate = untagged === null ? undefined : this.servers.get(untagged);
    return candidate instanceof InviteServerTransaction && candidate.finalToTag() === ackTag
      ? candidate
      : null;
  }

  /**
   * CANCEL (§9.2): its own non-INVITE server transaction (§17.2.3: it does not
   * match the INVITE). No INVITE transaction with the same branch and sent-by
   * → 481; otherwise 200, and the INVITE is cancelled if it has no final
   * response yet (listeners run, or the layer answers 487 itself).
   */
  private receiveCancel(cancel: SipRequest, flow: Flow): void {
    const key = serverKey(cancel, 'CANCEL');
    if (key === null) return;
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      this.absorb(existing, cancel);
      return;
    }
    const txn = new NonInviteServerTransaction(key, cancel, flow, this.ctx);
    this.servers.set(key, txn);
    const inviteKey = serverKey(cancel, 'INVITE');
    const invite = inviteKey === null ? undefined : this.servers.get(inviteKey);
    if (typeof invite === 'number') {
      // Answered and ACKed, kept as its 2xx: the CANCEL changes nothing (§9.2), its 200 carries the 2xx's To tag.
      txn.respond(createResponse(cancel, 200, undefined, this.lingeringToTag(invite)));
      return;
    }
    if (!(invite instanceof InviteServerTransaction)) {
      txn.respond(createResponse(cancel, 481));
      return;
    }
    // §9.2: the To tag of the 200 to the CANCEL should equal that of the INVITE's responses.
    txn.respond(createResponse(cancel, 200, undefined, invite.toTag()));
    invite.cancel(cancel);
  }

  /** The To tag of a lingering response (read back from its bytes: a rare path). */
  private lingeringToTag(id: LingerId): string | undefined {
    const kept = this.lingering.response(id);
    const parsed = kept === null ? null : parseMessage(kept.bytes);
    return parsed?.ok === true ? (tagOf(toOf(parsed.message)) ?? undefined) : undefined;
  }

  private receiveResponse(response: SipResponse): void {
    // §18.1.2: responses that are not well formed are dropped.
    const problem = validateResponse(response);
    if (problem !== null) {
      this.log.debug({ status: response.status, problem }, 'invalid response dropped');
      return;
    }
    const key = responseKey(response);
    const txn = key === null ? undefined : this.clients.get(key);
    if (typeof txn === 'number') {
      // A settled INVITE transaction: its ACK again for a retransmitted final response, else absorbed.
      const ack = this.lingeringAcks.message(txn);
      if (ack !== null && ackAnswers(ack.bytes, response)) this.transport.sendBytes(ack.bytes, ack.flow, this.onAckSendError);
      return;
    }
    if (txn === undefined) {
      // §17.1.3 / §18.1.2: a response matching no client transaction is discarded.
      this.log.debug(
        { status: response.status, callId: response.headers.get('call-id') },
        'response matches no transaction',
      );
      return;
    }
    txn.receiveResponse(response);
  }

  /**
   * A request the transport could not parse still deserves a 400 or 513
   * (§21.4.1, §21.5.14) when we can tell where to send it: a request with a
   * Via. Responses and unrecognisable messages are dropped; ACKs are never
   * answered.
   */
  private receiveMalformed(failure: InboundFailure): void {
    const partial = failure.partial;
    if (
      partial === null ||
      partial.type !== 'request' ||
      partial.method === 'ACK' ||
      !partial.headers.has('via')
    ) {
      this.log.debug(
        { flow: failure.flow.id, reason: failure.reason },
        'malformed message dropped',
      );
      return;
    }
    const reason = failure.reason.replace(/[\r\n]+/g, ' ').trim() || reasonPhrase(failure.status);
    this.ctx.sendResponse(createResponse(partial, failure.status, reason), failure.flow);
  }

  // ---- outbound helpers -------------------------------------------------

  private routeOf(target: SendTarget): {
    protocol: Protocol;
    reliable: boolean;
    error: Error | null;
  } {
    if ('flowId' in target) {
      const flow = this.transport.flow(target.flowId);
      if (flow === null)
        return {
          protocol: 'udp',
          reliable: true,
          error: new Error(`flow ${target.flowId} is closed`),
        };
      return { protocol: flow.protocol, reliable: flow.reliable, error: null };
    }
    return { protocol: target.protocol, reliable: target.protocol !== 'udp', error: null };
  }

  /**
   * Puts our Via on top and returns its branch. When the top Via is already
   * ours, `reuse` keeps it (CANCEL §9.1, a re-sent ACK); otherwise it is
   * replaced by one with a new branch.
   */
  private placeVia(request: SipRequest, protocol: Protocol, reuse: boolean): string {
    const sentBy = this.transport.viaSentBy(protocol);
    const own = ownTopBranch(request, sentBy);
    if (own !== null) {
      if (reuse) return own;
      request.headers.removeFirst('via');
    }
    return pushOwnVia(request, protocol, sentBy);
  }
}
