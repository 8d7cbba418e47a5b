/**
 * One call through Herald as a B2BUA (CONTRACT §5): the caller's INVITE
 * (Herald is its UAS), the application's instructions, and for a `<Dial>`
 * the dialed legs (Herald is their UAC); once a leg answers, requests in
 * either dialog are passed to the other (re-INVITE, UPDATE, INFO, BYE).
 *
 * With media off the session descriptions pass between the legs unchanged.
 * An offer in the caller's INVITE goes to every fork and the winner's answer
 * back in the 200; a caller without an offer (late offer) gets the winner's
 * offer in the 200 and its ACK's answer is carried to the winner in the ACK
 * Herald held back for it. With media on (HERALD_MEDIA=on), media-seam.ts
 * anchors the media in mediasoup: each leg is given Herald's SDP instead of
 * the other's, at the same points (with a late offer Herald offers the forks
 * itself and the caller in its 200).
 *
 * The call holds one `calls` slot of the gate from before the webhook is
 * fetched until it ends, whichever way it ends (`end` runs once). A peer
 * that vanishes ends it too: its connection closing (`flowClosed`), or a
 * 408/481/no answer to a request in its dialog — the keepalive OPTIONS
 * (leg-keepalive.ts) or a relayed re-INVITE, UPDATE, INFO.
 */
import type { AccountConfig, ApplicationConfig } from '../config/schema.js';
import type { HeldLease } from '../gate/hold-lease.js';
import {
  callParameters,
  dialActionParameters,
  type CallParameters,
  type DialCallStatus,
  type DialVerb,
  type PlayVerb,
  type SayVerb,
  type StatusEvent,
  type Verb,
} from '../instructions/index.js';
import type { Log } from '../log.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { setBody } from '../sip/message.js';
import { createResponse, heraldWarning } from '../sip/response.js';
import { cseqOf } from '../sip/fields.js';
import { IGNORE_OUTCOME, type ServerTransaction } from '../transaction/types.js';
import type { CallRecord, CallRecordStatus } from '../store/call-record-store.js';
import { Dial, type DialOutcome } from './dial.js';
import { Dialog, responseEndsDialog } from './dialog.js';
import type { IdentifiedCall } from './caller.js';
import type { CallServices } from './call-services.js';
import { LegKeepalive, type ProbedLeg } from './leg-keepalive.js';
import type { OutboundLeg } from './outbound-leg.js';
import type { CallRecordKeeper } from './call-record-keeper.js';
import { dialTargets } from './dial-targets.js';
import { MediaSeam, messageBody, type Body } from './media-seam.js';
import { SdpError } from '../media/sdp/sdp-error.js';
import { MediaCapacityError } from '../media/media-capacity-error.js';
import { promptSamples } from './prompt-source.js';

type Side = 'a' | 'b';

export interface CallInit {
  sid: string;
  invite: SipRequest;
  txn: ServerTransaction;
  identified: IdentifiedCall;
  lease: HeldLease;
  services: CallServices;
}

export class Call {
  readonly sid: string;
  readonly account: AccountConfig;
  readonly application: ApplicationConfig;
  /** The caller's INVITE until the call is answered (nothing is built from it after: a bridged call lasts). */
  private request: SipRequest | null;
  private readonly identified: IdentifiedCall;
  private readonly lease: HeldLease;
  /** The session description in the caller's INVITE (undefined: late offer), for the forks. */
  private readonly callerOffer: Body | undefined;
  private readonly txn: ServerTransaction;
  private readonly s: CallServices;
  private readonly log: Log;
  private readonly params: CallParameters;
  /** Herald's tag on the caller's dialog. */
  readonly aTag: string;
  private aDialog: Dialog | null = null;
  private bLeg: OutboundLeg | null = null;
  private dial: Dial | null = null;
  /** The call's anchored media (HERALD_MEDIA=on and an offer in the INVITE), else null: bodies pass through. */
  private media: MediaSeam | null = null;
  private answered = false;
  private ended = false;
  private rangCaller = false;
  private answeredAt: number | null = null;
  private readonly startedAt: number;
  private timeLimit: NodeJS.Timeout | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  private keepalive: LegKeepalive | null = null;
  /** The winner's 2xx waits for the caller's ACK when the caller sent no offer (its answer comes in the ACK). */
  private lateOffer: boolean;
  /** Identities counted busy while the call is bridged. */
  private busy: Array<{ accountSid: string; identity: string }> = [];
  private record: CallRecord;
  private legRecord: CallRecord | null = null;
  private readonly records: CallRecordKeeper;
  private endedResolve!: () => void;
  /** Resolves when the call has ended. */
  readonly finished: Promise<void>;

  constructor(init: CallInit) {
    this.sid = init.sid;
    this.request = init.invite;
    this.identified = init.identified;
    this.lease = init.lease;
    this.txn = init.txn;
    this.s = init.services;
    this.log = init.services.log;
    this.account = init.identified.account;
    this.application = init.identified.application;
    this.aTag = init.services.newTag();
    this.lateOffer = init.invite.body.length === 0;
    this.callerOffer = this.lateOffer ? undefined : { type: init.invite.headers.get('content-type') ?? 'application/sdp', bytes: init.invite.body };
    this.startedAt = this.s.now();
    this.finished = new Promise((r) => (this.endedResolve = r));
    this.records = init.services.keepRecords();
    const caller = init.identified.caller;
    this.params = callParameters({
      callSid: this.sid,
      accountSid: this.account.sid,
      applicationSid: this.application.sid,
      caller,
      to: init.identified.to,
    });
    this.record = {
      sid: this.sid,
      accountSid: this.account.sid,
      parentCallSid: null,
      from: this.params.From ?? '',
      to: this.params.To ?? '',
      direction: 'inbound',
      status: 'ringing',
      startTime: new Date(this.startedAt).toISOString(),
      answerTime: null,
      endTime: null,
      duration: null,
      endReason: null,
      node: this.s.nodeId,
    };
    this.txn.onCancel(() => this.callerCanceled('caller-canceled'));
  }

  /** The caller's INVITE: read only before the call is answered (the responses to it, its dialog, the forks' offer). */
  private get invite(): SipRequest {
    if (this.request === null) throw new Error('the caller\'s INVITE was let go when the call was answered');
    return this.request;
  }

  /** Runs the call: instructions, then their verbs, until it ends. Never rejects. */
  async run(): Promise<void> {
    try {
      this.saveRecord();
      this.status('initiated');
      const media = await MediaSeam.open(this.s, this.invite, this.txn.flow, this.sid);
      if (media instanceof SdpError) return this.refuse(488, media.message, 'not-acceptable-here', 'failed');
      if (media instanceof MediaCapacityError) return this.refuse(503, media.message, 'media-ports-exhausted', 'failed');
      this.media = media;
      // With anchored media Herald offers the forks itself: no leg waits for the caller's ACK to get its answer.
      if (media !== null) this.lateOffer = false;
      if (this.ended) return this.closeMedia();
      const voice = await this.s.instructions.fetchVoice(this.application, this.params, this.account.authToken);
      if (this.ended) return;
      if (!voice.ok) return this.refuse(480, voice.reason, 'application-error', 'failed');
      await this.execute([...voice.verbs], voice.url);
    } catch (err) {
      this.log.error({ err, callSid: this.sid }, 'call failed');
      if (!this.answered) this.refuse(500, 'internal error', 'error', 'failed');
      else this.hangUp('error', 'failed');
    }
  }

  // ---------------------------------------------------------------- verbs

  private async execute(verbs: Verb[], docUrl: string): Promise<void> {
    while (!this.ended) {
      const verb = verbs.shift();
      if (verb === undefined) break;
      switch (verb.verb) {
        case 'Dial': {
          const next = await this.runDial(verb, docUrl);
          if (next === 'ended' || this.ended) return;
          if (next !== null) {
            verbs = [...next.verbs];
            docUrl = next.url;
          }
          break;
        }
        case 'Reject':
          return this.refuse(verb.reason === 'busy' ? 486 : 603, `rejected by the application (${verb.reason})`, `rejected-${verb.reason}`, verb.reason === 'busy' ? 'busy' : 'failed');
        case 'Hangup':
          if (this.answered) return this.hangUp('application-hangup', 'completed');
          return this.refuse(480, 'the application hung up', 'application-hangup', 'no-answer');
        case 'Redirect': {
          const next = await this.s.instructions.fetchUrl(verb.url, verb.method, this.params, this.account.authToken, docUrl);
          if (this.ended) return;
          if (!next.ok) return this.refuse(480, next.reason, 'application-error', 'failed');
          verbs = [...next.verbs];
          docUrl = next.url;
          break;
        }
        case 'Pause':
          await this.s.sleep(verb.length * 1000, this.finished);
          break;
        case 'Say':
        case 'Play':
          await this.prompt(verb, docUrl);
          break;
      }
    }
    if (this.ended) return;
    // Answered for prompts and nothing left to do: Herald hangs up, as Twilio does at the end of a document.
    if (this.answered && this.bLeg === null) return this.hangUp('instructions-ended', 'completed');
    if (this.answered) await this.finished;
    else this.refuse(480, 'the instructions ended without connecting the call', 'instructions-ended', 'no-answer');
  }

  /**
   * A `<Say>` or `<Play>`: the caller's leg is answered (Herald's SDP in a
   * 200, as Twilio answers at a prompt) once the audio is ready, then the
   * prompt is played into it; the next verb comes when it has been played.
   * Skipped (logged) without anchored media, without audio, or for a caller
   * whose offer has no PCMU/PCMA. A caller that sent no offer is offered
   * G.711 in the 200 and the prompt starts once its ACK has answered.
   */
  private async prompt(verb: SayVerb | PlayVerb, docUrl: string): Promise<void> {
    // Played through the media engine (HERALD_MEDIA=on); without it there is no audio path to play into.
    if (this.media === null) return this.log.info({ callSid: this.sid, verb: verb.verb }, 'no media engine: verb skipped');
    const samples = await promptSamples(verb, docUrl, this.log, this.sid);
    const media = this.media;
    if (samples === null || this.ended || media === null) return;
    if (!this.answered) {
      const answer = media.answerForPrompts();
      if (answer === null) return this.log.info({ callSid: this.sid, verb: verb.verb }, 'the caller offered no PCMU/PCMA: prompt skipped');
      this.answerCaller(answer);
      this.saveRecord();
      this.status('answered');
      this.watchPeers(null);
    }
    await media.playToCaller(samples, verb.loop);
  }

  /** A `<Dial>`: rings, bridges, and returns what the `action` URL says to do next (null: go on with the next verb). */
  private async runDial(verb: DialVerb, docUrl: string): Promise<{ verbs: readonly Verb[]; url: string } | null | 'ended'> {
    const targets = await dialTargets(this.s, this.account, verb, {
      callerUser: this.identified.fromUser,
      body: this.callerOffer,
    });
    if (this.ended) return 'ended';
    let legs = targets.legs;
    try {
      if (this.media !== null) legs = await this.media.offerLegs(targets.legs);
    } catch (err) {
      if (!(err instanceof MediaCapacityError)) throw err;
      this.refuse(503, err.message, 'media-ports-exhausted', 'failed');
      return 'ended';
    }
    if (this.ended) return 'ended';
    const dial = new Dial({
      legs,
      timeout: verb.timeout,
      busyWithoutRinging: targets.busy,
      unreachable: targets.unreachable,
      onRinging: (leg, r) => this.ringing(leg, r),
      ...(this.media !== null ? { acceptAnswer: this.media.acceptAnswer } : {}),
    });
    this.media?.bindLegs(dial.legs);
    this.dial = dial;
    const dialSid = this.s.newCallSid();
    dial.start();
    const outcome = await dial.outcome;
    this.dial = null;
    this.media?.dialOver(outcome.kind === 'answered' ? outcome.leg : undefined);
    if (outcome.kind === 'canceled' || this.ended) return 'ended';
    if (outcome.kind === 'answered') {
      const answer = await this.bridgedAnswer(outcome);
      if (answer === 'ended') return 'ended';
      this.bridge(outcome, dialSid, verb, answer);
      // Not awaited here: this frame holds the dial, both legs and the answer, which the bridged call no longer needs.
      return this.whileBridged(verb, dialSid, docUrl);
    }
    const status: DialCallStatus = outcome.kind;
    this.log.info({ callSid: this.sid, status, legs: targets.legs.length, statuses: outcome.statuses }, 'dial ended unanswered');
    if (verb.action === undefined) {
      if (status === 'busy') {
        this.refuse(486, 'every dialed device was busy', 'busy', 'busy');
        return 'ended';
      }
      return null;
    }
    const next = await this.s.instructions.fetchUrl(verb.action, verb.method, dialActionParameters(this.params, { status, dialCallSid: dialSid, durationSeconds: 0 }), this.account.authToken, docUrl);
    if (this.ended) return 'ended';
    if (!next.ok) {
      this.refuse(480, next.reason, 'application-error', 'failed');
      return 'ended';
    }
    return { verbs: next.verbs, url: next.url };
  }

  /**
   * The bridged call lasts until it ends; then the Dial's action URL is told
   * (its TwiML is not run: the caller's leg has ended with the bridge, there
   * is no media to keep it up alone). A frame of its own, so that what waits
   * all call long holds only these arguments.
   */
  private async whileBridged(verb: DialVerb, dialSid: string, docUrl: string): Promise<'ended'> {
    await this.finished;
    const duration = this.answeredAt === null ? 0 : Math.round((this.s.now() - this.answeredAt) / 1000);
    if (verb.action !== undefined) {
      void this.s.instructions.fetchUrl(verb.action, verb.method, dialActionParameters(this.params, { status: 'completed', dialCallSid: dialSid, durationSeconds: duration, callStatus: 'completed' }), this.account.authToken, docUrl);
    }
    return 'ended';
  }

  // ---------------------------------------------------------------- the caller's leg

  /** 180/183 from a leg: the caller hears ringing once (CONTRACT §5.5), or the leg's early media (183 with SDP). */
  private ringing(leg: OutboundLeg, r: SipResponse): void {
    // A caller answered for a prompt has had its final response: it hears nothing until the bridge (no early media).
    if (this.ended || this.answered) return;
    if (this.media !== null && r.status === 183 && r.body.length > 0) return this.earlyMedia(this.media, leg, r);
    if (this.rangCaller) return;
    const early = r.status === 183 && r.body.length > 0;
    this.provisional(early ? 183 : 180, early ? messageBody(r) : undefined);
  }

  /** A 183 with SDP while media is anchored: bridged early, the caller's 183 carries Herald's answer (else a plain 180). */
  private earlyMedia(media: MediaSeam, leg: OutboundLeg, r: SipResponse): void {
    media.earlyAnswer(leg, r).then(
      (answer) => {
        if (this.ended || this.answered || this.media !== media) return;
        if (answer !== null) this.provisional(183, answer);
        else if (!this.rangCaller) this.provisional(180);
      },
      (err: unknown) => this.log.error({ err, callSid: this.sid }, 'bridging early media failed'),
    );
  }

  private provisional(status: 180 | 183, body?: Body): void {
    const res = createResponse(this.invite, status, undefined, this.aTag);
    res.headers.set('Contact', this.s.contactFor(this.txn.flow.protocol));
    if (body !== undefined) setBody(res, body.bytes, body.type);
    this.txn.respond(res);
    if (!this.rangCaller) this.status('ringing');
    this.rangCaller = true;
  }

  /**
   * With anchored media, the winner's answer bridged in mediasoup: the body of
   * the caller's 200 (null: media passes through, the callee's answer goes as it is).
   * 'ended' when the call ended meanwhile or the media could not be bridged.
   */
  private async bridgedAnswer(outcome: Extract<DialOutcome, { kind: 'answered' }>): Promise<Body | null | 'ended'> {
    if (this.media === null) return null;
    try {
      const body = await this.media.answerFor(outcome.leg, outcome.response);
      if (!this.ended) return body;
    } catch (err) {
      this.log.error({ err, callSid: this.sid }, 'bridging the media failed');
      if (err instanceof SdpError) this.refuse(488, err.message, 'not-acceptable-here', 'failed');
      else this.refuse(500, 'the media could not be bridged', 'media-error', 'failed');
    }
    outcome.leg.ack();
    outcome.leg.bye();
    return 'ended';
  }

  private bridge(outcome: Extract<DialOutcome, { kind: 'answered' }>, dialSid: string, verb: DialVerb, answer: Body | null): void {
    const leg = outcome.leg;
    this.bLeg = leg;
    if (!this.lateOffer) leg.ack();
    // A caller answered for a prompt keeps its dialog and codec (the callee was offered only that one): no second 200, no second `answered`.
    const answeredBefore = this.answered;
    const answerTime = answeredBefore ? new Date(this.s.now()).toISOString() : this.answerCaller(answer ?? messageBody(outcome.response));
    this.keepalive?.stop();
    if (leg.dialog !== null) this.s.dialogs.set(leg.dialog.state.localTag, { call: this, side: 'b' });
    this.timeLimit = setTimeout(() => this.hangUp('time-limit', 'completed'), verb.timeLimit * 1000);
    this.timeLimit.unref();
    this.legRecord = {
      ...this.record,
      sid: dialSid,
      parentCallSid: this.sid,
      to: leg.label,
      direction: 'outbound-dial',
      startTime: answerTime,
    };
    this.saveRecord();
    this.markBusy(leg.label);
    if (!answeredBefore) this.status('answered');
    this.watchPeers(leg);
  }

  /** The caller's 200 (with `body`, the session description): its dialog starts, the call is answered. */
  private answerCaller(body: Body | undefined): string {
    const ok = createResponse(this.invite, 200, undefined, this.aTag);
    ok.headers.set('Contact', this.s.contactFor(this.txn.flow.protocol));
    ok.headers.set('Allow', 'INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS');
    if (body !== undefined) setBody(ok, body.bytes, body.type);
    this.txn.respond(ok);
    this.aDialog = Dialog.asUas(this.invite, this.aTag, this.txn.flow.id);
    this.request = null;
    this.answered = true;
    this.answeredAt = this.s.now();
    this.s.dialogs.set(this.aTag, { call: this, side: 'a' });
    // §13.3.1.4: no ACK for our 2xx within 64·T1 → the session is torn down.
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      if (!this.ended) {
        this.log.info({ callSid: this.sid }, 'no ACK for the 200: call ended');
        this.hangUp('no-ack', 'failed');
      }
    }, 64 * this.s.t1);
    this.record.status = 'in-progress';
    this.record.answerTime = new Date(this.answeredAt).toISOString();
    return this.record.answerTime;
  }

  private markBusy(calleeLabel: string): void {
    const caller = this.identified.clientIdentity;
    if (caller !== null) this.busy.push({ accountSid: this.account.sid, identity: caller });
    if (calleeLabel.startsWith('client:')) this.busy.push({ accountSid: this.account.sid, identity: calleeLabel.slice('client:'.length) });
    for (const b of this.busy) this.s.busyChanged(b.accountSid, b.identity, this.sid, +1);
  }

  /** The caller's CANCEL (before any final response), or its connection closing while the call rings. */
  private callerCanceled(reason: 'caller-canceled' | 'caller-lost'): void {
    if (this.ended || this.answered) return;
    this.dial?.cancel();
    this.txn.respond(createResponse(this.invite, 487, undefined, this.aTag));
    this.end(reason, 'canceled');
  }

  /** From the answer on, a peer that vanishes ends the call: its connection closes, or the keepalive finds it gone. */
  private watchPeers(leg: OutboundLeg | null): void {
    const a = this.aDialog as Dialog;
    const legs: ProbedLeg[] = [{ dialog: a, target: () => a.target(this.s.transport), contact: this.s.contactFor(this.txn.flow.protocol), lost: (why) => this.legLost('a', why) }];
    const b = leg?.dialog ?? null;
    if (leg !== null && b !== null) legs.push({ dialog: b, target: () => b.target(this.s.transport) ?? leg.target, contact: this.s.contactFor(this.legProtocol()), lost: (why) => this.legLost('b', why) });
    this.keepalive = new LegKeepalive({ probes: this.s.legProbes, transactions: this.s.transactions, legs });
    this.keepalive.start();
    if (leg === null) return;
    // The caller's connection is watched from the INVITE on (call-engine.ts); the callee's once it answered.
    const flowId = 'flowId' in leg.target ? leg.target.flowId : null;
    if (flowId === null) return;
    const flow = this.s.transport.flow(flowId);
    if (flow === null) return this.legLost('b', 'connection closed before the call was bridged');
    if (flow.reliable) this.s.watchFlow(flowId, this);
  }

  /** A watched connection closed: the side it carried is gone (a crashed softphone, a closed browser tab). */
  flowClosed(flowId: string): void {
    if (this.ended) return;
    if (flowId === this.txn.flow.id) return this.legLost('a', 'connection closed');
    const b = this.bLeg?.target;
    if (b !== undefined && 'flowId' in b && b.flowId === flowId) this.legLost('b', 'connection closed');
  }

  /** A leg's peer is gone: the call ends with a BYE to the other leg only (nothing reaches the lost one). */
  private legLost(side: Side, why: string): void {
    if (this.ended) return;
    this.log.info({ callSid: this.sid, lost: side === 'a' ? 'caller' : 'callee', why }, 'peer gone: call ended');
    // Before the answer only the caller's connection is watched: closed while ringing, it can no longer CANCEL, so this is its CANCEL.
    if (!this.answered) return this.callerCanceled('caller-lost');
    this.hangUp(side === 'a' ? 'caller-lost' : 'callee-lost', 'completed', side);
  }

  /** Ends an unanswered call with a final response (and a Warning saying why, RFC 3261 §20.43). */
  private refuse(status: number, why: string, reason: string, recordStatus: CallRecordStatus): void {
    if (this.ended) return;
    // Answered for a prompt, the caller has its dialog: it is hung up with a BYE instead.
    if (this.answered) {
      this.log.info({ callSid: this.sid, why }, 'call hung up');
      return this.hangUp(reason, recordStatus);
    }
    const res = createResponse(this.invite, status, undefined, this.aTag);
    res.headers.set('Warning', heraldWarning(why));
    this.txn.respond(res);
    this.end(reason, recordStatus);
  }

  // ---------------------------------------------------------------- inside the dialogs

  /** A request inside one of the call's dialogs (the engine found it by our tag). */
  onDialogRequest(side: Side, request: SipRequest, txn: ServerTransaction): void {
    const dialog = side === 'a' ? this.aDialog : (this.bLeg?.dialog ?? null);
    const other = side === 'a' ? (this.bLeg?.dialog ?? null) : this.aDialog;
    if (dialog === null || this.ended) return txn.respond(createResponse(request, 481));
    const seq = cseqOf(request)?.seq ?? 0;
    if (!dialog.acceptRemoteCseq(seq)) return txn.respond(createResponse(request, 500, 'Server Internal Error (CSeq out of order)'));
    if (request.method === 'BYE') {
      txn.respond(createResponse(request, 200));
      return this.hangUp(side === 'a' ? 'caller-hangup' : 'callee-hangup', 'completed', side);
    }
    if (other === null) return this.answerAlone(request, txn);
    const media = this.media;
    if (media === null) return this.relayInDialog(side, request, txn, other, messageBody(request));
    // With anchored media an SDP offer becomes Herald's offer to the other leg (media-seam.ts).
    media.requestBody(side, request).then(
      (body) => {
        if (!this.ended) this.relayInDialog(side, request, txn, other, body, media);
      },
      (err: unknown) => this.mediaRefused(request, txn, err),
    );
  }

  /**
   * A request from the caller while no callee is bridged (answered for a
   * prompt): a re-offer is refused with 488, which keeps the session as it
   * was (RFC 3261 §14.2); anything else (INFO, OPTIONS) is taken.
   */
  private answerAlone(request: SipRequest, txn: ServerTransaction): void {
    if (request.method !== 'INVITE' && request.method !== 'UPDATE') return txn.respond(createResponse(request, 200));
    const res = createResponse(request, 488);
    res.headers.set('Warning', heraldWarning('no new offer is taken before the call is bridged'));
    txn.respond(res);
  }

  /** Passes a request to the other leg as a new request of its dialog; its answer comes back (through the media seam when there is one). */
  private relayInDialog(side: Side, request: SipRequest, txn: ServerTransaction, other: Dialog, body: Body | undefined, media?: MediaSeam): void {
    const otherSide: Side = side === 'a' ? 'b' : 'a';
    const extra: Array<[string, string]> = [];
    for (const name of ['Info-Package', 'Content-Disposition', 'Event'] as const) {
      const v = request.headers.get(name);
      if (v !== undefined) extra.push([name, v]);
    }
    const relayed = other.request(request.method, this.s.contactFor(side === 'a' ? this.legProtocol() : this.txn.flow.protocol), body, extra);
    const target = other.target(this.s.transport);
    if (target === null) return txn.respond(createResponse(request, 480));
    this.s.transactions.sendRequest(relayed, target, {
      onResponse: (r) => {
        if (r.status < 200) return;
        if (request.method === 'INVITE' && r.status < 300) {
          // The re-INVITE's 2xx is ACKed on the leg at once; the requester ACKs ours (absorbed by the engine).
          const ack = other.ack((cseqOf(relayed) as { seq: number }).seq, this.s.contactFor(this.legProtocol()));
          this.s.transactions.sendAck(ack, target);
        }
        const respond = (answer: Body | undefined) => {
          const res = createResponse(request, r.status, r.reason);
          if (answer !== undefined) setBody(res, answer.bytes, answer.type);
          if (request.method === 'INVITE' || request.method === 'UPDATE') res.headers.set('Contact', this.s.contactFor(txn.flow.protocol));
          txn.respond(res);
          // §12.2.1.2: the other peer no longer has its dialog (481) or is unreachable (408).
          if (responseEndsDialog(r.status)) this.legLost(otherSide, `${request.method} answered ${r.status}`);
        };
        if (media === undefined) return respond(messageBody(r));
        media.responseBody(side, request, r).then(respond, (err: unknown) => this.mediaRefused(request, txn, err));
      },
      onTimeout: () => {
        txn.respond(createResponse(request, 408));
        this.legLost(otherSide, `${request.method} not answered`);
      },
      onTransportError: () => {
        txn.respond(createResponse(request, 503));
        this.legLost(otherSide, `${request.method} could not be sent`);
      },
    });
  }

  /** An in-dialog offer or answer the anchored media cannot follow: 488 with the reason (500 for anything else). */
  private mediaRefused(request: SipRequest, txn: ServerTransaction, err: unknown): void {
    const sdp = err instanceof SdpError;
    if (!sdp) this.log.error({ err, callSid: this.sid }, 'relaying an in-dialog offer through the media failed');
    const res = createResponse(request, sdp ? 488 : 500);
    res.headers.set('Warning', heraldWarning(sdp ? err.message : 'the media could not follow the request'));
    txn.respond(res);
  }

  /** An ACK in one of the call's dialogs: the caller's ACK of our 200 (carrying the answer to a late offer). */
  onDialogAck(side: Side, ack: SipRequest): void {
    if (side !== 'a' || this.ended) return;
    if (this.ackTimer !== null) {
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
      if (this.media !== null) {
        // A late offer's answer (Herald offered in its 200): the caller's media is connected with it.
        this.media.callerAck(ack).catch((err: unknown) => {
          this.log.info({ err, callSid: this.sid }, 'the caller\'s answer in its ACK cannot be used: call ended');
          this.hangUp('not-acceptable-here', 'failed');
        });
      } else if (this.lateOffer) {
        this.lateOffer = false;
        this.bLeg?.ack(ack.body.length > 0 ? { type: ack.headers.get('content-type') ?? 'application/sdp', bytes: ack.body } : undefined);
      }
    }
  }

  private legProtocol() {
    const t = this.bLeg?.target;
    if (t === undefined) return this.txn.flow.protocol;
    if ('protocol' in t) return t.protocol;
    return this.s.transport.flow(t.flowId)?.protocol ?? 'udp';
  }

  // ---------------------------------------------------------------- ending

  /** Hangs up an answered call: BYE to the legs that did not send one (`by`: the side that did, or that is gone). */
  private hangUp(reason: string, status: CallRecordStatus, by?: Side): void {
    if (this.ended) return;
    if (by !== 'b') this.bLeg?.bye();
    if (by !== 'a' && this.aDialog !== null) {
      const bye = this.aDialog.request('BYE', this.s.contactFor(this.txn.flow.protocol));
      const target = this.aDialog.target(this.s.transport);
      if (target !== null) this.s.transactions.sendRequest(bye, target, IGNORE_OUTCOME);
    }
    this.end(reason, status);
  }

  /** Runs once, whatever ended the call: the slot goes back, the record closes, the callbacks are told. */
  private end(reason: string, status: CallRecordStatus): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timeLimit !== null) clearTimeout(this.timeLimit);
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.keepalive?.stop();
    this.dial?.cancel();
    this.closeMedia();
    this.s.dialogs.delete(this.aTag);
    const bTag = this.bLeg?.dialog?.state.localTag;
    if (bTag !== undefined) this.s.dialogs.delete(bTag);
    for (const b of this.busy) this.s.busyChanged(b.accountSid, b.identity, this.sid, -1);
    this.busy = [];
    void this.lease.release();
    const now = this.s.now();
    const duration = this.answeredAt === null ? 0 : Math.round((now - this.answeredAt) / 1000);
    this.record = { ...this.record, status, endTime: new Date(now).toISOString(), duration, endReason: reason };
    if (this.legRecord !== null) this.legRecord = { ...this.legRecord, status: 'completed', endTime: this.record.endTime, duration, endReason: reason };
    this.saveRecord();
    this.status('completed', duration, status);
    this.s.callEnded(this);
    this.endedResolve();
  }

  /** The call's media goes with it: router, transports, producers, consumers, ports. */
  private closeMedia(): void {
    const media = this.media;
    this.media = null;
    media?.close().catch((err: unknown) => this.log.error({ err, callSid: this.sid }, 'closing the call media failed'));
  }

  private saveRecord(): void {
    this.records.save([this.record, ...(this.legRecord !== null ? [this.legRecord] : [])]);
  }

  private status(event: StatusEvent, duration?: number, finalStatus?: CallRecordStatus): void {
    if (this.application.statusCallback === undefined) return;
    void this.s.instructions.statusCallback(this.application, event, this.params, this.account.authToken, {
      ...(duration !== undefined ? { callDuration: duration } : {}),
      ...(finalStatus !== undefined ? { finalStatus } : {}),
    });
  }
}
