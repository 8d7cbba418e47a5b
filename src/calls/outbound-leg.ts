/**
 * One dialed leg of a call: Herald's INVITE to one device (or SIP URI) as a
 * UAC (RFC 3261 §13.2), and what can happen to it — provisional responses,
 * the 2xx that establishes its dialog (ACKed per §13.2.2.4, for every
 * retransmission too), a final failure, a timeout, a CANCEL (§9.1: only
 * after a provisional response arrived; one that comes after a 2xx is too
 * late, so the leg is ACKed and hung up instead). A 401/407 is answered
 * with Digest when the leg has credentials (§22.2: the same Call-ID and From
 * tag, the next CSeq), once, or once more when the nonce was only stale.
 */
import { answerChallenge, type ClientCredentials } from '../auth/digest-client.js';
import { randomToken } from '../sip/ids.js';
import { Headers } from '../sip/headers.js';
import { SipRequest, setBody, type SipResponse } from '../sip/message.js';
import { createCancel } from '../transaction/cancel.js';
import type { TransactionLayer } from '../transaction/transaction-layer.js';
import { IGNORE_OUTCOME, type ClientTransaction } from '../transaction/types.js';
import type { SendTarget, Transport } from '../transport/types.js';
import { Dialog } from './dialog.js';

export interface OutboundLegEvents {
  provisional(leg: OutboundLeg, response: SipResponse): void;
  /** The first 2xx: the leg is answered (its dialog exists). */
  answered(leg: OutboundLeg, response: SipResponse): void;
  /** A final failure, a timeout (408) or a transport error (503): the leg is over. */
  failed(leg: OutboundLeg, status: number): void;
}

export interface OutboundLegOptions {
  transactions: Pick<TransactionLayer, 'sendRequest' | 'sendAck'>;
  transport: Pick<Transport, 'flow'>;
  target: SendTarget;
  requestUri: string;
  /** From name-addr without tag, e.g. `<sip:+15550001111@host>`. */
  from: string;
  /** To name-addr, e.g. `<sip:alice@host>`. */
  to: string;
  contact: string;
  /** Route headers (a binding's Path, RFC 3327). */
  route?: readonly string[];
  body?: { type: string; bytes: Buffer };
  /** Label for logs and records: the client identity, or the URI. */
  label: string;
  /** Answer a 401/407 with these (a carrier trunk, a `<Sip>` with username and password). */
  credentials?: ClientCredentials;
  events: OutboundLegEvents;
}

export type LegState = 'calling' | 'ringing' | 'answered' | 'failed' | 'canceled' | 'ended';

/** Challenges answered at most: one, and one more when the server only said the nonce was stale. */
const MAX_CHALLENGES = 2;

export class OutboundLeg {
  /** The INVITE in progress (a new one, next CSeq, after a Digest challenge); let go of once its 2xx is ACKed. */
  private invite: SipRequest | null;
  private inviteCseq = 1;
  readonly label: string;
  private readonly callId = randomToken(24);
  private readonly fromTag = randomToken(16);
  private challenges = 0;
  state: LegState = 'calling';
  dialog: Dialog | null = null;
  private sawProvisional = false;
  private cancelReason: string | null = null;
  /** The ACK of the 2xx as sent (bytes), resent for each retransmission of the 2xx (§13.2.2.4). */
  private ackOf2xx: Buffer | null = null;
  /** The INVITE's client transaction until the leg is over (see release). */
  private inviteTxn: ClientTransaction | null = null;
  /** Set when the leg was given up after its 2xx: hang it up once ACKed. */
  private hangUpWhenAnswered = false;

  constructor(private readonly o: OutboundLegOptions) {
    this.label = o.label;
    this.invite = this.buildInvite(1);
  }

  private buildInvite(cseq: number, authorization?: { header: string; value: string }): SipRequest {
    const o = this.o;
    this.inviteCseq = cseq;
    const h = new Headers();
    for (const r of o.route ?? []) h.append('Route', r);
    h.append('From', `${o.from};tag=${this.fromTag}`);
    h.append('To', o.to);
    h.append('Call-ID', this.callId);
    h.append('CSeq', `${cseq} INVITE`);
    h.append('Contact', o.contact);
    h.append('Allow', 'INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS');
    if (authorization !== undefined) h.append(authorization.header, authorization.value);
    const invite = new SipRequest('INVITE', o.requestUri, h);
    if (o.body !== undefined && o.body.bytes.length > 0) setBody(invite, o.body.bytes, o.body.type);
    else setBody(invite, Buffer.alloc(0));
    return invite;
  }

  get target(): SendTarget {
    return this.o.target;
  }

  start(): void {
    if (this.invite === null) return;
    this.inviteTxn = this.o.transactions.sendRequest(this.invite, this.o.target, {
      onResponse: (r) => this.onResponse(r),
      onTimeout: () => this.fail(408),
      onTransportError: () => this.fail(503),
    });
  }

  /**
   * Stops ringing this leg (another answered, the caller gave up, the dial
   * timed out). Sends CANCEL now if a provisional response came, else as soon
   * as one comes; a leg that answers anyway is ACKed and hung up.
   */
  cancel(reason?: string): void {
    if (this.state === 'answered') {
      this.hangUpWhenAnswered = true;
      this.bye(reason);
      return;
    }
    if (this.state !== 'calling' && this.state !== 'ringing') return;
    this.state = 'canceled';
    this.cancelReason = reason ?? '';
    if (this.sawProvisional) this.sendCancel();
  }

  /** Hangs up an answered leg (BYE in its dialog). */
  bye(reason?: string): void {
    if (this.dialog === null || this.state === 'ended') return;
    this.state = 'ended';
    const extra: Array<[string, string]> = reason !== undefined && reason !== '' ? [['Reason', reason]] : [];
    const bye = this.dialog.request('BYE', this.o.contact, undefined, extra);
    const target = this.dialog.target(this.o.transport) ?? this.o.target;
    this.o.transactions.sendRequest(bye, target, IGNORE_OUTCOME);
    this.release();
  }

  /**
   * The leg is ACKed or over: its INVITE transaction, which lives on up to
   * 32 s (RFC 6026 Accepted, Timer D), keeps only what a retransmitted 2xx
   * needs (our ACK, sent again), not this leg and through it the whole call.
   */
  private release(): void {
    const txn = this.inviteTxn;
    if (txn === null) return;
    this.inviteTxn = null;
    txn.settle(this.ackOf2xx, this.ackTarget());
  }

  /** ACKs the 2xx (with a body when the caller's offer came late, in its ACK). */
  ack(body?: { type: string; bytes: Buffer }): void {
    if (this.dialog === null) return;
    const ack = this.dialog.ack(this.inviteCseq, this.o.contact);
    if (body !== undefined && body.bytes.length > 0) setBody(ack, body.bytes, body.type);
    this.ackOf2xx = this.o.transactions.sendAck(ack, this.ackTarget());
    // Answered and ACKed: nothing is built from the INVITE any more (no CANCEL, no retry), and a bridged call lasts:
    // the transaction keeps only the ACK's bytes for a retransmitted 2xx (settle), the leg neither it nor the INVITE.
    this.invite = null;
    this.release();
  }

  private ackTarget(): SendTarget {
    return this.dialog?.target(this.o.transport) ?? this.o.target;
  }

  private onResponse(r: SipResponse): void {
    if (r.status < 200) {
      if (r.status > 100 || !this.sawProvisional) {
        const first = !this.sawProvisional;
        this.sawProvisional = true;
        if (this.state === 'canceled' && first) return this.sendCancel();
      }
      if (r.status > 100 && this.state === 'calling') this.state = 'ringing';
      if (r.status > 100 && (this.state === 'ringing' || this.state === 'calling')) this.o.events.provisional(this, r);
      return;
    }
    if (r.status < 300) {
      // A retransmitted 2xx before our ACK went (the caller's answer comes in its ACK), or another fork's 2xx
      // downstream: nothing to send yet. Once ACKed, the settled transaction sends the ACK again itself.
      if (this.dialog !== null) return;
      if (this.invite === null) return;
      this.dialog = Dialog.asUac(this.invite, r, 'flowId' in this.o.target ? this.o.target.flowId : null);
      if (this.state === 'canceled' || this.hangUpWhenAnswered) {
        // Answered after we gave up on it (a CANCEL crossing the 2xx, §9.1): ACK and hang up.
        this.state = 'answered';
        this.ack();
        this.bye(this.cancelReason ?? undefined);
        return;
      }
      this.state = 'answered';
      this.o.events.answered(this, r);
      return;
    }
    if ((r.status === 401 || r.status === 407) && this.retryWithCredentials(r)) return;
    this.fail(r.status);
  }

  /** §22.2: the same INVITE again with credentials for the challenge; false when there are none to give. */
  private retryWithCredentials(challenge: SipResponse): boolean {
    const credentials = this.o.credentials;
    if (credentials === undefined || this.invite === null || (this.state !== 'calling' && this.state !== 'ringing')) return false;
    const answer = answerChallenge(challenge, this.invite, credentials);
    if (answer === null || this.challenges >= MAX_CHALLENGES || (this.challenges === 1 && !answer.stale)) return false;
    this.challenges += 1;
    this.invite = this.buildInvite(this.inviteCseq + 1, answer);
    this.sawProvisional = false;
    this.start();
    return true;
  }

  private fail(status: number): void {
    if (this.state === 'answered' || this.state === 'ended' || this.state === 'failed') return;
    const wasCanceled = this.state === 'canceled';
    this.state = wasCanceled ? 'canceled' : 'failed';
    this.release();
    if (!wasCanceled) this.o.events.failed(this, status);
  }

  private sendCancel(): void {
    if (this.invite === null) return;
    const cancel = createCancel(this.invite, this.cancelReason !== null && this.cancelReason !== '' ? this.cancelReason : undefined);
    this.o.transactions.sendRequest(cancel, this.o.target, IGNORE_OUTCOME);
  }
}
