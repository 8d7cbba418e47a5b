/**
 * A call's media anchored in mediasoup (HERALD_MEDIA=on, CONTRACT §5.7): the
 * SDP each leg sees names Herald's address, and the audio goes through one
 * router per call.
 *
 *   caller's offer ─ open():    router with the caller's codecs, the caller's
 *                               transport (connected, or comedia)
 *   each fork      ─ offerFork(): a transport, and Herald's offer: the caller's
 *                               codecs that the router carries
 *   a 183 with SDP ─ earlyAnswer(): the first such fork is bridged early (early
 *                               media), the caller's 183 gets Herald's answer
 *   an answer      ─ checkAnswer(): a codec in common (the early media's codec
 *                               once there is early media), or 488 for that fork
 *                  ─ bridge():  the winner's transport connected, a Producer on
 *                               each leg, Consumers crossed; the caller's answer
 *   losing forks   ─ dropForks(): their transports closed
 *   re-INVITE/UPDATE ─ relayOffer()/relayAnswer(): directions (hold) passed on
 *   the call ends  ─ close():   the router, and with it everything above
 *
 * The call engine (src/calls/call.ts) calls these where it takes and gives a
 * body; everything about SDP and mediasoup stays here.
 */
import type { types as ms } from 'mediasoup';
import type { Log } from '../log.js';
import { needsComedia } from './comedia.js';
import type { MediaEngine } from './media-engine.js';
import type { MediaLeg } from './media-leg.js';
import { PlainRtpLeg } from './plain-rtp-leg.js';
import { parseAudioDescription, type AudioDescription, type MediaProfile, type SdpCodec } from './sdp/audio-description.js';
import { asNumberedBy, bridgeCodecs, bridgeSdpCodecs, carriedCodecs, isTelephoneEvent, keptBy, routerCodecsFor, sameCodec, type BridgeCodecs } from './sdp/codec-match.js';
import { SdpError } from './sdp/sdp-error.js';
import { playPrompt, promptLaw } from './prompt/prompt-player.js';
import { WebRtcLeg } from './webrtc-leg.js';

export type CallSide = 'a' | 'b';

/** How long after a re-offer a leg takes a new SSRC as its peer's restarted stream. */
const RELATCH_WINDOW_MS = 10_000;

/** One dialed leg's media until the dial is decided. */
export interface ForkMedia {
  readonly leg: MediaLeg;
  /** The callee's answer, once checked. */
  answer: AudioDescription | null;
}

/** Where a peer's SIP comes from and what it says its address is (for the comedia decision). */
export interface PeerAddresses {
  /** The address the peer advertises for itself (its SDP c=, or its Contact host before there is SDP). */
  advertised: string | null;
  /** The address its SIP really comes from (or goes to). */
  observed: string | null;
}

/** A fork whose media is bridged with the caller's: early (183) or for good (2xx). */
interface Bridged {
  leg: MediaLeg;
  /** The codecs of the bridge, in the router's (the caller's) numbering. */
  codecs: BridgeCodecs;
  /** The callee's latest description. */
  remote: AudioDescription;
}

export class CallMedia {
  private readonly forks = new Set<ForkMedia>();
  private bridged: Bridged | null = null;
  /** The fork that gave early media (a 183 with SDP) and its setting up, until the dial is decided. */
  private early: (Bridged & { fork: ForkMedia; setup: Promise<void> }) | null = null;
  /** The codec the caller's Producer takes, once a fork was bridged (early or not): every later fork must take it too. */
  private callerSends: BridgeCodecs | null = null;
  /** A re-offer waiting for its answer: its requester's description (the answer mirrors its m= lines). */
  private pendingOffer: { from: CallSide; offer: AudioDescription } | null = null;
  /** The codec the caller was answered with for prompts (Say/Play before any Dial). */
  private promptCodecs: BridgeCodecs | null = null;
  /** A caller without an offer answered for prompts: Herald's G.711 offer in the 200, settled by the answer in its ACK. */
  private promptOffer: { codecs: SdpCodec[]; answered: Promise<void>; settle: (err?: Error) => void } | null = null;
  private closed = false;
  /** Stops legs waiting for their first packet when the call ends. */
  private readonly ending = new AbortController();

  private constructor(
    private readonly engine: MediaEngine,
    private readonly router: ms.Router,
    private readonly caller: MediaLeg,
    private callerOffer: AudioDescription,
    /** The caller's offered codecs that the router carries (the caller's payload types). */
    private readonly carried: readonly SdpCodec[],
    private readonly callSid: string,
    private readonly log: Log,
    /** The caller sent no offer: Herald offers in its 200 and the answer comes in the ACK (RFC 3261 §13.2.1). */
    private lateOffer = false,
  ) {}

  /**
   * The caller's offer: its router and transport. Throws SdpError (488) when
   * the offer has no audio Herald can carry (or cannot be followed: a
   * browser's without a DTLS fingerprint); MediaUnavailableError when media
   * is on but no worker runs. A browser's offer gets a WebRTC leg.
   */
  static async open(engine: MediaEngine, offer: Buffer, caller: PeerAddresses, callSid: string, log: Log): Promise<CallMedia> {
    const description = parseAudioDescription(offer);
    // An unpatched worker drops telephone-event: then it is not offered on (peers fall back to SIP INFO or in-band DTMF).
    const carried = carriedCodecs(engine.carriesTelephoneEvent ? description.codecs : description.codecs.filter((c) => !isTelephoneEvent(c)));
    const router = await engine.createRouter({ callSid }, routerCodecsFor(carried));
    try {
      const leg =
        description.profile === 'webrtc'
          ? await openWebRtcLeg(engine, router, { callSid, side: 'a' })
          : await PlainRtpLeg.open({
              router,
              listenInfo: engine.listenInfo(),
              rtcpMux: description.rtcpMux,
              comedia: needsComedia(description.address, caller.observed),
              appData: { callSid, side: 'a' },
              latch: { reports: engine.unknownSsrcs, workerPid: engine.workerPidOf(router) ?? 0 },
            });
      await leg.connect(description);
      await leg.setReceiving(description.direction);
      log.debug({ callSid, profile: leg.profile, codecs: carried.map((c) => c.name) }, 'caller media anchored');
      return new CallMedia(engine, router, leg, description, carried, callSid, log);
    } catch (err) {
      await engine.closeRouter(router);
      throw err;
    }
  }

  /**
   * A caller that sent no offer (late offer): the router carries every codec
   * Herald has, the forks are offered those, and the caller is offered the
   * bridge's codec in the 200; `callerAnswered` takes its ACK's answer. Its
   * transport's comedia is decided by its Contact host, its SDP not being known.
   */
  static async openWithoutOffer(engine: MediaEngine, caller: PeerAddresses, callSid: string, log: Log): Promise<CallMedia> {
    const router = await engine.createRouter({ callSid });
    try {
      const leg = await PlainRtpLeg.open({
        router,
        listenInfo: engine.listenInfo(),
        rtcpMux: false,
        comedia: caller.advertised === null ? false : needsComedia(caller.advertised, caller.observed),
        appData: { callSid, side: 'a' },
        latch: { reports: engine.unknownSsrcs, workerPid: engine.workerPidOf(router) ?? 0 },
      });
      const carried: SdpCodec[] = (router.rtpCapabilities.codecs ?? []).map((c) => ({
        payloadType: c.preferredPayloadType ?? 0,
        name: c.mimeType.slice(c.mimeType.indexOf('/') + 1),
        clockRate: c.clockRate,
        channels: c.channels ?? 1,
        fmtp: '',
      }));
      const offer: AudioDescription = {
        profile: 'rtp',
        protocol: 'RTP/AVP',
        address: '',
        addressFamily: 4,
        port: 0,
        rtcpMux: false,
        rtcpPort: 0,
        codecs: carried,
        direction: 'sendrecv',
        ptime: null,
        audioIndex: 0,
        lines: [{ type: 'audio', port: 0, protocol: 'RTP/AVP', formats: '' }],
        origin: { sessionId: '0', version: '0' },
        webrtc: null,
      };
      return new CallMedia(engine, router, leg, offer, carried, callSid, log, true);
    } catch (err) {
      await engine.closeRouter(router);
      throw err;
    }
  }

  /** The caller's answer in its ACK to Herald's offer in the 200 (late offer). Throws SdpError when it does not take the bridge's codec. */
  async callerAnswered(body: Buffer): Promise<void> {
    if (!this.lateOffer) return;
    this.lateOffer = false;
    const offered = this.promptOffer;
    if (offered !== null && this.bridged === null) {
      try {
        await this.promptsAnswered(offered.codecs, body);
        offered.settle();
      } catch (err) {
        offered.settle(err as Error);
        throw err;
      }
      return;
    }
    const answer = parseAudioDescription(body);
    const sends = this.requireBridged().codecs.audio;
    if (answer.profile !== this.caller.profile || !answer.codecs.some((c) => sameCodec(c, sends))) throw new SdpError(`the caller's answer does not take ${sends.name}/${sends.clockRate}, the codec Herald offered`);
    this.callerOffer = answer;
    await this.caller.connect(answer);
    await this.caller.setReceiving(answer.direction);
  }

  /** Is Herald waiting for the caller's answer in its ACK (it offered in its 200)? */
  get awaitsCallerAnswer(): boolean {
    return this.lateOffer && (this.bridged !== null || this.promptOffer !== null);
  }

  /** The answer to Herald's prompt offer: the caller's codec (and telephone-event) from then on, its transport connected. */
  private async promptsAnswered(offered: readonly SdpCodec[], body: Buffer): Promise<void> {
    const answer = parseAudioDescription(body);
    if (answer.profile !== 'rtp') throw new SdpError(`the caller answered ${answer.protocol} to Herald's RTP/AVP offer`);
    const codecs = bridgeCodecs(offered, answer.codecs);
    this.promptCodecs = codecs;
    // The caller sends this codec from now on: a later dial's callee must take it (no transcoding).
    this.callerSends = codecs;
    this.callerOffer = answer;
    await this.caller.connect(answer);
    await this.caller.setReceiving(answer.direction);
  }

  /**
   * A transport for one dialed leg and Herald's offer to it: a WebRTC leg
   * for a browser (`profile` 'webrtc': a binding over WS/WSS), plain RTP
   * for any other device.
   */
  async offerFork(callee: PeerAddresses, profile: MediaProfile = 'rtp'): Promise<{ fork: ForkMedia; offer: Buffer }> {
    this.assertOpen();
    const appData = { callSid: this.callSid, side: 'b' };
    const leg =
      profile === 'webrtc'
        ? await openWebRtcLeg(this.engine, this.router, appData)
        : await PlainRtpLeg.open({
            router: this.router,
            listenInfo: this.engine.listenInfo(),
            // Not offered to callees: RFC 5761 would have us fall back to a second port anyway, and most SIP devices do not mux.
            rtcpMux: false,
            // The callee's SDP address is not known yet: decide by its Contact against where its SIP goes.
            comedia: callee.advertised === null ? false : needsComedia(callee.advertised, callee.observed),
            appData,
            latch: { reports: this.engine.unknownSsrcs, workerPid: this.engine.workerPidOf(this.router) ?? 0 },
          });
    const fork: ForkMedia = { leg, answer: null };
    this.forks.add(fork);
    // A caller answered for prompts already has its codec: the forks are offered that one.
    const offered = this.promptCodecs !== null ? bridgeSdpCodecs(this.promptCodecs) : this.carried;
    return { fork, offer: leg.describe(offered, this.callerOffer.direction, this.callerOffer.ptime) };
  }

  /** Is this fork's answer one the caller's media can meet? An SdpError (488) if not, else null. Synchronous: the dial asks it before choosing a winner. */
  checkAnswer(fork: ForkMedia, body: Buffer): SdpError | null {
    try {
      const answer = parseAudioDescription(body);
      this.answersAsOffered(fork, answer);
      this.codecsOfAnswer(answer);
      fork.answer = answer;
      return null;
    } catch (err) {
      if (err instanceof SdpError) return err;
      throw err;
    }
  }

  /**
   * The winner: its transport sends to its answer's address, and each leg's
   * audio is produced and consumed by the other as soon as its first packets
   * come (ssrc-latch.ts). Resolves with the caller's answer, without waiting
   * for those packets (the caller starts sending once it has the answer).
   */
  async bridge(fork: ForkMedia, body: Buffer): Promise<Buffer> {
    this.assertOpen();
    const early = this.early;
    this.early = null;
    this.forks.delete(fork);
    if (early !== null && early.fork === fork) {
      // The fork that gave early media answers: its media is already bridged.
      await early.setup;
      this.bridged = { leg: early.leg, codecs: early.codecs, remote: early.remote };
      return this.answerForCaller(this.bridged);
    }
    const answer = fork.answer ?? parseAudioDescription(body);
    const bridged: Bridged = { leg: fork.leg, codecs: this.codecsOfAnswer(answer), remote: answer };
    this.bridged = bridged;
    await this.connectFork(bridged);
    return this.answerForCaller(bridged);
  }

  /**
   * A 183 with SDP from a fork: the first one gets early media — bridged
   * like an answer, without ending the dial — and the caller's 183 carries
   * Herald's answer. Null for a later fork (the caller keeps the first
   * fork's early media) or once the call is answered.
   */
  async earlyAnswer(fork: ForkMedia, body: Buffer): Promise<Buffer | null> {
    this.assertOpen();
    if (this.bridged !== null || !this.forks.has(fork)) return null;
    if (this.early !== null) {
      if (this.early.fork !== fork) return null;
      await this.early.setup;
      return this.answerForCaller(this.early);
    }
    const answer = parseAudioDescription(body);
    this.answersAsOffered(fork, answer);
    fork.answer = answer;
    const early = { fork, leg: fork.leg, codecs: this.codecsOfAnswer(answer), remote: answer, setup: Promise.resolve() };
    early.setup = this.connectFork(early);
    this.early = early;
    await early.setup;
    return this.answerForCaller(early);
  }

  /**
   * A fork answers in the profile it was offered (a browser's
   * UDP/TLS/RTP/SAVPF, else RTP/AVP), a browser with its DTLS fingerprint:
   * checked before the fork can win, so that a bad answer fails that fork
   * only and the dial goes on.
   */
  private answersAsOffered(fork: ForkMedia, answer: AudioDescription): void {
    if (answer.profile !== fork.leg.profile) throw new SdpError(`the callee answered ${answer.protocol} to an offer of ${fork.leg.profile === 'webrtc' ? 'UDP/TLS/RTP/SAVPF' : 'RTP/AVP'}`);
    if (answer.profile === 'webrtc' && answer.webrtc?.fingerprint == null) throw new SdpError('the callee answered WebRTC without a=fingerprint (DTLS-SRTP needs it)');
  }

  /**
   * A fork's codec: its first that the caller offered — or, once a fork was
   * bridged (early media), that fork's, which the caller has been told to
   * send and its Producer takes.
   */
  private codecsOfAnswer(answer: AudioDescription): BridgeCodecs {
    const fixed = this.callerSends;
    if (fixed === null) return bridgeCodecs(this.carried, answer.codecs);
    if (!answer.codecs.some((c) => sameCodec(c, fixed.audio))) throw new SdpError(`the caller already sends ${fixed.audio.name}/${fixed.audio.clockRate} (early media); this answer does not take it`);
    return keptBy(fixed, answer.codecs);
  }

  /** A bridged fork sends to its answer's address; each side's audio goes to the other once it flows. */
  private async connectFork(b: Bridged): Promise<void> {
    this.callerSends ??= b.codecs;
    await b.leg.connect(b.remote);
    await b.leg.setReceiving(b.remote.direction);
    this.crossWhenFlowing('a', this.caller, b.leg, asNumberedBy(b.codecs, this.callerOffer.codecs), b.codecs);
    this.crossWhenFlowing('b', b.leg, this.caller, asNumberedBy(b.codecs, b.remote.codecs), b.codecs);
    if (b.remote.codecs.some((c) => sameCodec(b.codecs.audio, c) && b.codecs.audio.payloadType !== c.payloadType)) {
      this.log.warn({ callSid: this.callSid, codec: b.codecs.audio, answered: b.remote.codecs }, 'the callee renumbered a payload type in its answer; it is sent the numbers Herald offered');
    }
  }

  /** Herald's answer to the caller's offer for a bridged fork (its offer, for a caller that sent none). */
  private answerForCaller(b: Bridged): Buffer {
    if (this.lateOffer) return this.caller.describe(bridgeSdpCodecs(b.codecs), b.remote.direction, b.remote.ptime);
    return this.caller.describe(bridgeSdpCodecs(b.codecs), b.remote.direction, b.remote.ptime, { lines: this.callerOffer.lines, audioIndex: this.callerOffer.audioIndex });
  }

  /** `from`'s audio to `to`, once `from`'s first packets have made its Producer (and again if it restarts under a new SSRC). */
  private crossWhenFlowing(side: CallSide, from: MediaLeg, to: MediaLeg, sent: BridgeCodecs, codecs: BridgeCodecs): void {
    from.produce(sent, `${this.callSid}-${side}`, this.ending.signal, async (producer) => {
      // A fork that lost (its early media ended) no longer consumes.
      if (this.closed || to.closed) return;
      try {
        await to.consume(producer, codecs, this.router.rtpCapabilities);
        this.log.debug({ callSid: this.callSid, side, ssrc: producer.rtpParameters.encodings?.[0]?.ssrc }, 'media flowing');
      } catch (err) {
        if (!this.closed) this.log.warn({ err, callSid: this.callSid, side }, 'the media of a leg could not be bridged');
      }
    });
  }

  /**
   * Herald's answer to the caller's offer when the call is answered to play
   * prompts (`<Say>`, `<Play>` before any `<Dial>`): the first G.711 codec
   * the caller offered. Null when it offered none (prompts are encoded in
   * PCMU/PCMA only). A caller that sent no offer (late offer) is offered
   * PCMU, PCMA and telephone-event instead; prompts wait for its answer in
   * the ACK (callerAnswered).
   */
  answerForPrompts(): Buffer | null {
    this.assertOpen();
    if (this.bridged !== null || this.early !== null) return null;
    if (this.lateOffer) return this.offerForPrompts();
    if (this.promptCodecs === null) {
      const audio = this.carried.find((c) => promptLaw(c.name) !== null && c.channels === 1);
      if (audio === undefined) return null;
      // The caller's telephone-event goes with it, so that a later dial's callee can be sent its DTMF.
      const dtmf = this.carried.find((c) => isTelephoneEvent(c) && c.clockRate === audio.clockRate);
      this.promptCodecs = dtmf === undefined ? { audio } : { audio, dtmf };
      // Answered with this codec, the caller sends it: a later dial's callee must take it (no transcoding).
      this.callerSends = this.promptCodecs;
    }
    return this.caller.describe(bridgeSdpCodecs(this.promptCodecs), 'sendrecv', this.callerOffer.ptime, { lines: this.callerOffer.lines, audioIndex: this.callerOffer.audioIndex });
  }

  /** Herald's offer in the 200 of a caller that sent none, answered for prompts: the G.711 codecs and 8 kHz telephone-event. */
  private offerForPrompts(): Buffer {
    if (this.promptOffer === null) {
      const codecs = this.carried.filter((c) => (promptLaw(c.name) !== null && c.channels === 1) || (isTelephoneEvent(c) && c.clockRate === 8000));
      let settle: (err?: Error) => void = () => undefined;
      const answered = new Promise<void>((resolve, reject) => (settle = (err) => (err === undefined ? resolve() : reject(err))));
      // Only a prompt waiting for it reads the outcome; a call that ends first must not leave an unhandled rejection.
      answered.catch(() => undefined);
      this.promptOffer = { codecs, answered, settle };
    }
    return this.caller.describe(this.promptOffer.codecs, 'sendrecv', null);
  }

  /** Plays a prompt to the caller (answered by answerForPrompts); resolves when it was played `loop` times, or at once when the call ends. */
  async playToCaller(samples: Int16Array, loop: number): Promise<void> {
    try {
      // A late-offer caller: its codec is known once its ACK has answered Herald's offer.
      if (this.promptCodecs === null && this.promptOffer !== null) await this.promptOffer.answered;
      if (this.promptCodecs === null) throw new Error('the caller was not answered for prompts');
      await playPrompt({
        router: this.router,
        leg: this.caller,
        codecs: this.promptCodecs,
        samples,
        loop,
        signal: this.ending.signal,
        cname: `${this.callSid}-prompt`,
      });
    } catch (err) {
      // The call ended while the playback was being set up: its router (and all on it) is gone, nothing to play to.
      if (!this.closed) throw err;
    }
  }

  /** Closes the transports of every fork but `keep` (the dial is decided, or over). */
  dropForks(keep?: ForkMedia): void {
    for (const fork of this.forks) {
      if (fork === keep) continue;
      if (this.early?.fork === fork) this.early = null;
      fork.leg.close();
      this.forks.delete(fork);
    }
  }

  /**
   * An offer inside the bridged call (re-INVITE, UPDATE) from `from`: the
   * offer Herald sends the other leg. The direction passes on as it is (a
   * caller that holds with a=sendonly is sent only by Herald, so Herald
   * holds the other leg with a=sendonly); the codec stays the bridge's.
   */
  async relayOffer(from: CallSide, body: Buffer): Promise<Buffer> {
    const bridged = this.requireBridged();
    const offer = parseAudioDescription(body);
    this.keepsBridgeCodec(offer);
    await this.legOf(from).connect(offer);
    await this.legOf(from).setReceiving(offer.direction);
    this.followSender(from, offer);
    this.pendingOffer = { from, offer };
    if (from === 'a') this.callerOffer = { ...offer };
    else bridged.remote = offer;
    const to = from === 'a' ? 'b' : 'a';
    return this.legOf(to).describe(this.codecsFor(to), offer.direction, offer.ptime);
  }

  /** The other leg's answer to a relayed offer: the answer Herald gives the requester. */
  async relayAnswer(to: CallSide, body: Buffer): Promise<Buffer> {
    const bridged = this.requireBridged();
    const answer = parseAudioDescription(body);
    const answerer: CallSide = to === 'a' ? 'b' : 'a';
    this.keepsBridgeCodec(answer);
    await this.legOf(answerer).connect(answer);
    await this.legOf(answerer).setReceiving(answer.direction);
    this.followSender(answerer, answer);
    if (answerer === 'b') bridged.remote = answer;
    const offer = this.pendingOffer?.from === to ? this.pendingOffer.offer : null;
    this.pendingOffer = null;
    return this.legOf(to).describe(this.codecsFor(to), answer.direction, answer.ptime, offer === null ? undefined : { lines: offer.lines, audioIndex: offer.audioIndex });
  }

  /** Herald's current description for `side` (a re-INVITE without an offer is answered with it). */
  currentDescription(side: CallSide): Buffer {
    // Herald sends `side` what the other leg sends: the other leg's direction.
    const other = side === 'a' ? this.requireBridged().remote : this.callerOffer;
    return this.legOf(side).describe(this.codecsFor(side), other.direction, other.ptime);
  }

  /** Closes the router and everything on it; resolves when the worker has freed the ports. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ending.abort(new Error('the call ended'));
    this.promptOffer?.settle(new Error('the call ended'));
    this.forks.clear();
    await this.engine.closeRouter(this.router);
  }

  /** A side that sends after a re-offer (resume) may restart its stream under a new SSRC: its leg watches for one for a while. */
  private followSender(side: CallSide, description: AudioDescription): void {
    if (description.direction === 'sendrecv' || description.direction === 'sendonly') this.legOf(side).relatch(RELATCH_WINDOW_MS);
  }

  private codecsFor(side: CallSide): SdpCodec[] {
    const bridged = this.requireBridged();
    return bridgeSdpCodecs(asNumberedBy(bridged.codecs, side === 'a' ? this.callerOffer.codecs : bridged.remote.codecs));
  }

  /** mediasoup's Producers keep their codec: a re-offer must still carry the bridge's (a change of codec is a 488 here). */
  private keepsBridgeCodec(description: AudioDescription): void {
    const audio = this.requireBridged().codecs.audio;
    if (!description.codecs.some((c) => sameCodec(c, audio))) {
      throw new SdpError(`the call's codec ${audio.name}/${audio.clockRate} is not in the new description; changing codecs mid-call is not supported`);
    }
  }

  private legOf(side: CallSide): MediaLeg {
    return side === 'a' ? this.caller : this.requireBridged().leg;
  }

  private requireBridged(): Bridged {
    if (this.bridged === null) throw new SdpError('no media bridge yet');
    return this.bridged;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the call media is closed');
  }
}

/** A browser's leg: a WebRtcTransport on the WebRtcServer of the router's worker (webrtc-leg.ts). */
async function openWebRtcLeg(engine: MediaEngine, router: ms.Router, appData: ms.AppData): Promise<WebRtcLeg> {
  return WebRtcLeg.open({
    router,
    webRtcServer: await engine.webRtcServerOf(router),
    appData,
    latch: { reports: engine.unknownSsrcs, workerPid: engine.workerPidOf(router) ?? 0 },
  });
}
