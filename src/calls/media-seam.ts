/**
 * Where a call takes and gives session descriptions when its media is
 * anchored (HERALD_MEDIA=on): the SIP side of src/media/call-media.ts. A Call
 * holds one when the caller's INVITE carried an offer and media runs; without
 * one, bodies pass between the legs unchanged (call.ts).
 *
 * It turns SIP things into what CallMedia needs — where a peer's SIP comes
 * from, the bodies of requests and responses — and back.
 */
import { CallMedia, type CallSide, type ForkMedia } from '../media/call-media.js';
import { MediaCapacityError } from '../media/media-capacity-error.js';
import { MediaUnavailableError } from '../media/media-engine.js';
import { SdpError } from '../media/sdp/sdp-error.js';
import type { SipMessage, SipRequest, SipResponse } from '../sip/message.js';
import { parseUri } from '../sip/uri.js';
import type { Flow, SendTarget } from '../transport/types.js';
import type { CallServices } from './call-services.js';
import type { OutboundLeg, OutboundLegOptions } from './outbound-leg.js';

export type Body = { type: string; bytes: Buffer };
type LegOptions = Omit<OutboundLegOptions, 'events'>;

const SDP = 'application/sdp';

/** A message's body with its type, as legs are given one (undefined when empty). */
export function messageBody(m: SipMessage): Body | undefined {
  return m.body.length > 0 ? { type: m.headers.get('content-type') ?? SDP, bytes: m.body } : undefined;
}

/** The body of a message when it is SDP. */
export function sdpBody(m: SipMessage): Buffer | null {
  if (m.body.length === 0) return null;
  const type = (m.headers.get('content-type') ?? SDP).split(';')[0]!.trim().toLowerCase();
  return type === SDP ? m.body : null;
}

export class MediaSeam {
  /** Forks in the order of the dial's legs, then by leg once the dial made them. */
  private pendingForks: ForkMedia[] = [];
  private readonly forks = new Map<OutboundLeg, ForkMedia>();

  private constructor(
    private readonly media: CallMedia,
    private readonly s: CallServices,
    private readonly callSid: string,
  ) {}

  /**
   * Anchors the caller's media: its offer, or Herald's own offer when the
   * INVITE has none (late offer). Null when media is off or unavailable, or
   * the INVITE's body is not SDP (the call passes bodies through); an
   * SdpError when the offer cannot be used (the caller gets 488), a
   * MediaCapacityError when no media port is free (503).
   */
  static async open(s: CallServices, invite: SipRequest, flow: Flow, callSid: string): Promise<MediaSeam | SdpError | MediaCapacityError | null> {
    const engine = s.media();
    if (engine === null || engine.status !== 'running') return null;
    const offer = sdpBody(invite);
    if (offer === null && invite.body.length > 0) {
      s.log.info({ callSid, type: invite.headers.get('content-type') }, 'the INVITE\'s body is not SDP: media is not anchored for this call');
      return null;
    }
    try {
      const media =
        offer === null
          ? await CallMedia.openWithoutOffer(engine, { advertised: uriHostOf(contactUri(invite) ?? ''), observed: flow.remote.address }, callSid, s.log)
          : await CallMedia.open(engine, offer, { advertised: null, observed: flow.remote.address }, callSid, s.log);
      return new MediaSeam(media, s, callSid);
    } catch (err) {
      if (err instanceof SdpError || err instanceof MediaCapacityError) return err;
      if (err instanceof MediaUnavailableError) return null;
      throw err;
    }
  }

  /**
   * The dial's legs, each with Herald's own offer (its own transport) instead
   * of the caller's: a WebRTC offer to a browser (a binding whose flow is a
   * WebSocket), a plain RTP one to any other device.
   */
  async offerLegs(legs: readonly LegOptions[]): Promise<LegOptions[]> {
    this.pendingForks = [];
    const out: LegOptions[] = [];
    for (const leg of legs) {
      const profile = this.isBrowser(leg.target) ? 'webrtc' : 'rtp';
      const { fork, offer } = await this.media.offerFork({ advertised: uriHostOf(leg.requestUri), observed: this.targetAddress(leg.target) }, profile);
      this.pendingForks.push(fork);
      out.push({ ...leg, body: { type: SDP, bytes: offer } });
    }
    return out;
  }

  /** Names the forks by the dial's legs (made in the order offerLegs() returned them). */
  bindLegs(legs: readonly OutboundLeg[]): void {
    legs.forEach((leg, i) => {
      const fork = this.pendingForks[i];
      if (fork !== undefined) this.forks.set(leg, fork);
    });
    this.pendingForks = [];
  }

  /** The dial's question before a 2xx wins: 488 when the callee's answer cannot meet the caller's media. */
  readonly acceptAnswer = (leg: OutboundLeg, response: SipResponse): { status: number; text: string } | null => {
    const fork = this.forks.get(leg);
    if (fork === undefined) return null;
    const body = sdpBody(response);
    let problem: SdpError | null;
    try {
      problem = body === null ? new SdpError('the callee answered without SDP') : this.media.checkAnswer(fork, body);
    } catch (err) {
      // A body Herald fails to read is a body it cannot bridge: that leg fails, the call goes on.
      this.s.log.error({ err, callSid: this.callSid, leg: leg.label }, 'reading a dialed leg\'s answer failed');
      problem = new SdpError('the answer could not be read');
    }
    if (problem === null) return null;
    this.s.log.info({ callSid: this.callSid, leg: leg.label, reason: problem.message }, 'dialed leg answered with media that cannot be bridged: 488');
    return { status: problem.sipStatus, text: 'Not Acceptable Here' };
  };

  /** The dial is decided: every fork but the winner loses its transport. */
  dialOver(winner?: OutboundLeg): void {
    this.media.dropForks(winner === undefined ? undefined : this.forks.get(winner));
    for (const leg of [...this.forks.keys()]) if (leg !== winner) this.forks.delete(leg);
  }

  /**
   * A 183 with SDP from a dialed leg: Herald's answer for the caller's 183
   * when that leg's early media is bridged, null when it is not (another leg
   * has early media, or this one's cannot be bridged: the caller hears ringing).
   */
  async earlyAnswer(leg: OutboundLeg, response: SipResponse): Promise<Body | null> {
    const fork = this.forks.get(leg);
    const body = sdpBody(response);
    if (fork === undefined || body === null) return null;
    try {
      const bytes = await this.media.earlyAnswer(fork, body);
      return bytes === null ? null : { type: SDP, bytes };
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      this.s.log.info({ callSid: this.callSid, leg: leg.label, reason: err.message }, 'early media of a dialed leg cannot be bridged');
      return null;
    }
  }

  /** The caller's ACK: with a late offer it carries the answer to Herald's offer in the 200. */
  async callerAck(ack: SipRequest): Promise<void> {
    const sdp = sdpBody(ack);
    if (sdp !== null) await this.media.callerAnswered(sdp);
    // RFC 3261 §13.2.1: the ACK to a 2xx that carried the offer must carry the answer.
    else if (this.media.awaitsCallerAnswer) throw new SdpError('the ACK carries no answer to the offer in Herald\'s 200');
  }

  /** The winner's answer bridged: the body of the caller's 200. */
  async answerFor(leg: OutboundLeg, response: SipResponse): Promise<Body> {
    const fork = this.forks.get(leg);
    const body = sdpBody(response);
    if (fork === undefined || body === null) throw new SdpError('the answered leg has no media to bridge');
    return { type: SDP, bytes: await this.media.bridge(fork, body) };
  }

  /** The body to pass on with an in-dialog request from `side` (an SDP offer becomes Herald's offer to the other leg). */
  async requestBody(side: CallSide, request: SipRequest): Promise<Body | undefined> {
    const sdp = sdpBody(request);
    if (sdp !== null && (request.method === 'INVITE' || request.method === 'UPDATE')) return { type: SDP, bytes: await this.media.relayOffer(side, sdp) };
    return messageBody(request);
  }

  /** The body of the answer to an in-dialog request from `side`, made from the other leg's response. */
  async responseBody(side: CallSide, request: SipRequest, response: SipResponse): Promise<Body | undefined> {
    const sdp = sdpBody(response);
    if (sdp !== null && response.status >= 200 && response.status < 300) {
      // An offerless re-INVITE is answered with Herald's current description: the other leg's SDP never reaches this one.
      const bytes = sdpBody(request) !== null ? await this.media.relayAnswer(side, sdp) : this.media.currentDescription(side);
      return { type: SDP, bytes };
    }
    // Any other response keeps its body, unless it is SDP (it would name the other leg's address).
    return sdp !== null ? undefined : messageBody(response);
  }

  /** The body of the caller's 200 when the call is answered for `<Say>`/`<Play>`; null when prompts cannot be played to this caller. */
  answerForPrompts(): Body | null {
    const bytes = this.media.answerForPrompts();
    return bytes === null ? null : { type: SDP, bytes };
  }

  /** Plays a prompt to the answered caller (see CallMedia.playToCaller). */
  playToCaller(samples: Int16Array, loop: number): Promise<void> {
    return this.media.playToCaller(samples, loop);
  }

  /** Closes the call's media (router, transports, producers, consumers). */
  close(): Promise<void> {
    return this.media.close();
  }

  /** A device reached over WS/WSS is a browser (RFC 7118 clients are): it takes WebRTC media only. */
  private isBrowser(target: SendTarget): boolean {
    const protocol = 'flowId' in target ? this.s.transport.flow(target.flowId)?.protocol : target.protocol;
    return protocol === 'ws' || protocol === 'wss';
  }

  private targetAddress(target: SendTarget): string | null {
    if ('address' in target) return target.address;
    return this.s.transport.flow(target.flowId)?.remote.address ?? null;
  }
}

/** The URI of a request's Contact (first one), if any. */
function contactUri(request: SipRequest): string | null {
  const contact = request.headers.get('contact');
  if (contact === undefined) return null;
  return /<([^>]+)>/.exec(contact)?.[1] ?? contact.split(';')[0]?.trim() ?? null;
}

function uriHostOf(uri: string): string | null {
  const u = parseUri(uri);
  if (!u.ok || u.uri.kind !== 'sip') return null;
  return u.uri.host.replace(/^\[|\]$/g, '');
}

