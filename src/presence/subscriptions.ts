/**
 * SUBSCRIBE / NOTIFY for the presence event package (RFC 6665, RFC 3856):
 * a client of an account watches another client of the same account and
 * gets a NOTIFY with the PIDF of its effective status (status.ts) at once,
 * then one per change, until the subscription expires or is ended.
 *
 * The subscriber is authorized like REGISTER (Registrar.authorize on its
 * From: Bearer token with the incoming grant and the same identity, or a
 * Digest user of the sipDomain); the watched client is the Request-URI's
 * user, in the subscriber's account. Requests inside an existing
 * subscription (refresh, unsubscribe) are accepted on the strength of the
 * dialog: its Call-ID and two random tags are known only to the two ends.
 *
 * NOTIFYs of one subscription go one at a time (RFC 6665 §4.2.2 lets a
 * notifier pace them): changes that happen while one is in flight are
 * folded into the next, which is built from the store at send time, so the
 * watcher always ends on the current state. A NOTIFY whose body would be the
 * same as the last one sent is not sent, except on subscribe and refresh,
 * where RFC 6665 §4.2.1 requires one.
 *
 * The node that accepted a subscription sends its NOTIFYs (it holds the
 * subscriber's connection and the CSeq sequence); changes made on other
 * nodes reach it through PresenceChanges.
 */
import type { AccountConfig } from '../config/schema.js';
import type { Log } from '../log.js';
import { callIdOf, cseqOf, fromOf, tagOf, toOf } from '../sip/fields.js';
import { randomToken } from '../sip/ids.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { formatNameAddr, nameAddrUri } from '../sip/name-addr.js';
import { createResponse } from '../sip/response.js';
import { decodeUser, formatUri, parseUri } from '../sip/uri.js';
import type { Subscription, SubscriptionStore } from '../store/subscription-store.js';
import type { TransactionLayer } from '../transaction/transaction-layer.js';
import type { ServerTransaction } from '../transaction/types.js';
import { contactTarget, heraldContact } from '../transport/contact-target.js';
import type { Protocol, Transport } from '../transport/types.js';
import type { PresenceChange, PresenceChanges } from './changes.js';
import { PIDF_CONTENT_TYPE, pidfDocument } from './pidf.js';
import type { Authorize } from './publish.js';
import { buildNotify, type SubscriptionState } from './notify-request.js';
import { readPresence, type PresenceSources } from './snapshot.js';

export interface PresenceSubscriptionsOptions {
  accounts: readonly AccountConfig[];
  store: SubscriptionStore;
  sources: PresenceSources;
  changes: PresenceChanges;
  authorize: Authorize;
  transactions: Pick<TransactionLayer, 'sendRequest'>;
  transport: Pick<Transport, 'flow' | 'viaSentBy'>;
  nodeId: string;
  log: Log;
  now?: () => number;
  /** Seconds; defaults 60, 3600, 3600 (RFC 3856 §6.4: one hour is the package's default). */
  minExpires?: number;
  maxExpires?: number;
  defaultExpires?: number;
}

/** What this node keeps of a subscription it owns, beside the store's record. */
interface LocalState {
  cseq: number;
  inFlight: boolean;
  /** A change arrived while a NOTIFY was in flight. */
  dirty: boolean;
  lastBody: string | null;
}

const EVENT = 'presence';

export class PresenceSubscriptions {
  private readonly now: () => number;
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly defaultExpires: number;
  private readonly local = new Map<string, LocalState>();
  private readonly domains: Map<string, string>;
  private closed = false;

  constructor(private readonly o: PresenceSubscriptionsOptions) {
    this.now = o.now ?? Date.now;
    this.minExpires = o.minExpires ?? 60;
    this.maxExpires = o.maxExpires ?? 3600;
    this.defaultExpires = o.defaultExpires ?? 3600;
    this.domains = new Map(o.accounts.filter((a) => a.sipDomain !== undefined).map((a) => [(a.sipDomain as string).toLowerCase(), a.sid]));
    o.changes.listen(this.onChange);
  }

  /** The router's SUBSCRIBE handler. */
  readonly handle = (request: SipRequest, txn: ServerTransaction): void => {
    this.subscribe(request, txn).catch((err: unknown) => {
      this.o.log.error({ err, callId: request.headers.get('call-id') }, 'SUBSCRIBE failed');
      txn.respond(createResponse(request, 500));
    });
  };

  /** Ends this node's expired subscriptions, each with a final NOTIFY (RFC 6665 §4.2.2). */
  async sweep(): Promise<number> {
    const gone = await this.o.store.sweep(this.o.nodeId, this.now());
    for (const sub of gone) void this.sendFinal(sub, 'timeout');
    return gone.length;
  }

  /**
   * A connection closed. Subscriptions that only it could reach (WebSocket
   * clients, `.invalid` contacts) end without a NOTIFY, like their bindings;
   * the others are notified at their Contact from now on.
   */
  async flowClosed(flowId: string): Promise<number> {
    let n = 0;
    for (const sub of await this.o.store.byFlow(this.o.nodeId, flowId)) {
      if (contactTarget(this.o.transport, null, this.firstHop(sub)) !== null) continue;
      if (await this.o.store.remove(sub.id)) n++;
      this.local.delete(sub.id);
    }
    return n;
  }

  /** Stops sending; the store keeps the subscriptions (another node or a restart may serve them). */
  close(): void {
    this.closed = true;
    this.local.clear();
  }

  private readonly onChange = (change: PresenceChange): void => {
    if (this.closed) return;
    this.o.store.watching(change.accountSid, change.identity, this.now()).then(
      (subs) => {
        for (const sub of subs) if (sub.node === this.o.nodeId) this.notify(sub, false);
      },
      (err: unknown) => this.o.log.error({ err, ...change }, 'reading the watchers of a presence change failed'),
    );
  };

  private async subscribe(request: SipRequest, txn: ServerTransaction): Promise<void> {
    const event = (request.headers.get('event') ?? '').split(';')[0]!.trim().toLowerCase();
    if (event !== EVENT) {
      const res = createResponse(request, 489);
      res.headers.set('Allow-Events', EVENT);
      return txn.respond(res);
    }
    // No Accept means the package's default, PIDF (RFC 3856 §6.3); a list without it cannot be served.
    const accept = request.headers.has('accept') ? request.headers.list('accept') : null;
    if (accept !== null && !accept.some((a) => acceptsPidf(a))) {
      const res = createResponse(request, 406);
      res.headers.set('Accept', PIDF_CONTENT_TYPE);
      return txn.respond(res);
    }
    const expiresText = request.headers.get('expires');
    let asked = this.defaultExpires;
    if (expiresText !== undefined) {
      if (!/^\s*[0-9]{1,10}\s*$/.test(expiresText)) return txn.respond(createResponse(request, 400, 'Bad Request (malformed Expires)'));
      asked = Number(expiresText);
    }
    if (asked !== 0 && asked < this.minExpires) {
      const res = createResponse(request, 423);
      res.headers.set('Min-Expires', String(this.minExpires));
      return txn.respond(res);
    }
    const toTag = tagOf(toOf(request));
    if (toTag !== null) return this.inDialog(request, txn, toTag, asked);
    return this.initial(request, txn, asked);
  }

  /** A SUBSCRIBE outside any dialog: a new subscription (or a fetch, Expires: 0). */
  private async initial(request: SipRequest, txn: ServerTransaction, asked: number): Promise<void> {
    const ruri = parseUri(request.uri);
    if (!ruri.ok || ruri.uri.kind !== 'sip' || ruri.uri.user === null) {
      return txn.respond(createResponse(request, 404, 'Not Found (presentity must be sip:identity@host)'));
    }
    const presentity = decodeUser(ruri.uri);
    const from = fromOf(request);
    const to = toOf(request);
    const fromTag = tagOf(from);
    const contact = request.headers.get('contact');
    const contactNa = contact === undefined ? null : nameAddrUri(contact);
    if (presentity === null || presentity === '' || from === null || to === null || fromTag === null) {
      return txn.respond(createResponse(request, 400, 'Bad Request (SUBSCRIBE needs From with a tag, To and a presentity)'));
    }
    if (contactNa === null) return txn.respond(createResponse(request, 400, 'Bad Request (SUBSCRIBE needs one Contact)'));
    if (from.uri.kind !== 'sip' || from.uri.user === null) return txn.respond(createResponse(request, 403, 'Forbidden (subscriber must be sip:identity@host)'));
    const watcher = decodeUser(from.uri);
    if (watcher === null || watcher === '') return txn.respond(createResponse(request, 403));

    const auth = await this.o.authorize(request, watcher, from.uri.host.toLowerCase(), txn.flow.remote.address, txn.flow.local);
    if (!auth.ok) return txn.respond(auth.response);
    const accountSid = auth.who.accountSid;
    const domainAccount = this.domains.get(ruri.uri.host.toLowerCase());
    if (domainAccount !== undefined && domainAccount !== accountSid) {
      return txn.respond(createResponse(request, 403, 'Forbidden (presentity is in another account)'));
    }

    const now = this.now();
    // Never past the watcher's token (like its bindings, CONTRACT §4).
    const tokenLeft = auth.who.expiresAt === null ? Infinity : Math.max(1, Math.floor(auth.who.expiresAt - now / 1000));
    const granted = Math.min(asked, this.maxExpires, tokenLeft);
    const fromNoTag = { ...from, params: new Map(from.params) };
    fromNoTag.params.delete('tag');
    const eventId = eventIdOf(request);
    const sub: Subscription = {
      id: randomToken(20),
      accountSid,
      presentity,
      watcher,
      callId: callIdOf(request) as string,
      localTag: '',
      remoteTag: fromTag,
      entity: `sip:${ruri.uri.user}@${ruri.uri.host}`,
      localUri: formatUri(to.uri),
      remoteUri: formatNameAddr(fromNoTag),
      remoteTarget: contactNa,
      routeSet: request.headers.list('record-route') ?? [],
      eventId,
      localCseq: 0,
      remoteCseq: (cseqOf(request) as { seq: number }).seq,
      expiresAt: now + granted * 1000,
      notAfter: auth.who.expiresAt === null ? null : auth.who.expiresAt * 1000,
      node: this.o.nodeId,
      flowId: txn.flow.id,
      transport: txn.flow.protocol,
    };
    // Our tag is the subscription's id: an in-dialog request finds it by its To tag.
    sub.localTag = sub.id;
    if (granted > 0) await this.o.store.put(sub);
    txn.respond(this.accepted(request, sub, granted));
    this.local.set(sub.id, freshState(0));
    if (granted === 0) {
      // A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, and the subscription is over.
      void this.sendFinal(sub, 'timeout');
      return;
    }
    this.notify(sub, true);
  }

  /** Refresh or unsubscribe (RFC 6665 §4.1.2.2, §4.1.2.3). */
  private async inDialog(request: SipRequest, txn: ServerTransaction, toTag: string, asked: number): Promise<void> {
    const sub = await this.o.store.get(toTag);
    if (sub === null || sub.callId !== callIdOf(request) || sub.remoteTag !== tagOf(fromOf(request))) {
      return txn.respond(createResponse(request, 481, 'Subscription Does Not Exist'));
    }
    const cseq = (cseqOf(request) as { seq: number }).seq;
    // §12.2.2: a lower CSeq than the last one in the dialog is out of order.
    if (cseq <= sub.remoteCseq) return txn.respond(createResponse(request, 500, 'Server Internal Error (CSeq out of order)'));
    sub.remoteCseq = cseq;
    const contact = request.headers.get('contact');
    const target = contact === undefined ? null : nameAddrUri(contact);
    if (target !== null) sub.remoteTarget = target; // §12.2.2: a target refresh
    const state = this.takeOver(sub, txn.flow.id, txn.flow.protocol);
    if (asked === 0) {
      await this.o.store.remove(sub.id);
      txn.respond(this.accepted(request, sub, 0));
      void this.sendFinal(sub, 'timeout');
      return;
    }
    const now = this.now();
    // A refresh carries no token: the one that created the subscription still bounds it.
    const tokenLeft = sub.notAfter === null ? Infinity : Math.floor((sub.notAfter - now) / 1000);
    if (tokenLeft <= 0) {
      await this.o.store.remove(sub.id);
      txn.respond(createResponse(request, 403, 'Forbidden (the access token of this subscription has expired)'));
      void this.sendFinal(sub, 'timeout');
      return;
    }
    const granted = Math.min(asked, this.maxExpires, tokenLeft);
    sub.expiresAt = now + granted * 1000;
    sub.localCseq = state.cseq;
    await this.o.store.put(sub);
    txn.respond(this.accepted(request, sub, granted));
    this.notify(sub, true);
  }

  /** A request of the subscription reached this node: it sends the NOTIFYs from now on (cluster failover). */
  private takeOver(sub: Subscription, flowId: string, protocol: Protocol): LocalState {
    if (sub.node !== this.o.nodeId) this.local.delete(sub.id);
    const state = this.stateOf(sub);
    sub.node = this.o.nodeId;
    sub.flowId = flowId;
    sub.transport = protocol;
    return state;
  }

  private accepted(request: SipRequest, sub: Subscription, granted: number): SipResponse {
    // Our tag on the To makes the dialog (§12.1.1); an in-dialog request already carries it.
    const res = createResponse(request, 200, undefined, sub.localTag);
    res.headers.set('Contact', this.contact(sub));
    res.headers.set('Expires', String(granted));
    return res;
  }

  private contact(sub: Subscription): string {
    return heraldContact(this.o.transport, sub.transport);
  }

  /** The URI a NOTIFY goes to when the subscriber's connection is gone: the first route, else the remote target. */
  private firstHop(sub: Subscription): string {
    const route = sub.routeSet[0];
    if (route === undefined) return sub.remoteTarget;
    return nameAddrUri(route) ?? sub.remoteTarget;
  }

  /**
   * Sends the current state if it differs from the last NOTIFY (always when
   * `force`), or marks the subscription to be looked at again once the
   * NOTIFY in flight is answered.
   */
  private notify(sub: Subscription, force: boolean): void {
    const state = this.stateOf(sub);
    if (force) state.lastBody = null;
    if (state.inFlight) {
      state.dirty = true;
      return;
    }
    state.inFlight = true;
    state.dirty = false;
    this.sendCurrent(sub, state).catch((err: unknown) => {
      state.inFlight = false;
      this.o.log.error({ err, subscription: sub.id }, 'NOTIFY failed');
    });
  }

  private async sendCurrent(sub: Subscription, state: LocalState): Promise<void> {
    const now = this.now();
    const presence = await readPresence(this.o.sources, sub.accountSid, sub.presentity, now);
    const body = pidfDocument(sub.entity, presence.status);
    if (body === state.lastBody || this.closed) {
      state.inFlight = false;
      return;
    }
    // The subscription may have ended while the store was read.
    const current = await this.o.store.get(sub.id);
    if (current === null || this.local.get(sub.id) !== state) {
      state.inFlight = false;
      return;
    }
    state.lastBody = body;
    const expiresIn = Math.max(0, Math.round((current.expiresAt - now) / 1000));
    this.send(current, state, { state: 'active', expiresIn }, body, () => {
      state.inFlight = false;
      if (state.dirty && this.local.get(sub.id) === state) this.notify(current, false);
    });
  }

  /** The last NOTIFY of a subscription (expired, unsubscribed, fetched): nothing is sent after it. */
  private async sendFinal(sub: Subscription, reason: 'timeout' | 'noresource'): Promise<void> {
    const state = this.stateOf(sub);
    this.local.delete(sub.id);
    if (this.closed) return;
    const presence = await readPresence(this.o.sources, sub.accountSid, sub.presentity, this.now());
    this.send(sub, state, { state: 'terminated', reason }, pidfDocument(sub.entity, presence.status), () => {});
  }

  private send(sub: Subscription, state: LocalState, subState: SubscriptionState, body: string, done: () => void): void {
    const target = contactTarget(this.o.transport, sub.flowId, this.firstHop(sub));
    if (target === null) {
      this.o.log.info({ subscription: sub.id, watcher: sub.watcher }, 'subscriber unreachable: subscription ended');
      void this.end(sub.id);
      return done();
    }
    state.cseq += 1;
    const request = buildNotify(sub, state.cseq, this.contact(sub), subState, body);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      done();
    };
    this.o.transactions.sendRequest(request, target, {
      onResponse: (res) => {
        if (res.status < 200) return;
        // RFC 6665 §4.2.2: 481 means the subscriber has no such subscription; an error or timeout that it cannot be reached.
        if (res.status === 481 || res.status === 408 || res.status >= 500) void this.end(sub.id);
        finish();
      },
      onTimeout: () => {
        void this.end(sub.id);
        finish();
      },
      onTransportError: () => {
        void this.end(sub.id);
        finish();
      },
    });
  }

  /**
   * This node's NOTIFY state of a subscription. Made when missing (this node
   * restarted, or took the subscription over): the NOTIFYs sent before were
   * not all recorded in the store, so the CSeq leaps past them to stay
   * increasing (§12.2.1.1).
   */
  private stateOf(sub: Subscription): LocalState {
    let state = this.local.get(sub.id);
    if (state === undefined) {
      state = freshState(sub.localCseq + 10_000);
      this.local.set(sub.id, state);
    }
    return state;
  }

  private async end(id: string): Promise<void> {
    this.local.delete(id);
    try {
      await this.o.store.remove(id);
    } catch (err) {
      this.o.log.error({ err, subscription: id }, 'removing a subscription failed');
    }
  }
}

function freshState(cseq: number): LocalState {
  return { cseq, inFlight: false, dirty: false, lastBody: null };
}

function eventIdOf(request: SipRequest): string | null {
  const m = /;\s*id\s*=\s*([^;\s]+)/i.exec(request.headers.get('event') ?? '');
  return m === null ? null : (m[1] as string);
}

function acceptsPidf(value: string): boolean {
  const type = value.split(';')[0]!.trim().toLowerCase();
  return type === PIDF_CONTENT_TYPE || type === 'application/*' || type === '*/*';
}
