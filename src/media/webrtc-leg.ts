/**
 * One leg's media on a mediasoup WebRtcTransport (a browser: ICE-lite,
 * DTLS-SRTP, rtcp-mux, its one audio m= line bundled alone), on its
 * worker's WebRtcServer (webrtc-servers.ts: one UDP port of
 * HERALD_RTP_PORTS, announced as HERALD_PUBLIC_HOST).
 *
 * Unlike a plain RTP leg it needs no latching: a browser names its SSRC
 * (a=ssrc) in its SDP, so its Producer is made at once. What Herald sends it
 * is unsignaled (the Consumer's SSRC is only known once the other side
 * produces): a browser plays the one unsignaled audio SSRC of an m= line.
 *
 * DTLS roles: Herald is the DTLS server. Its first offer says `actpass` (a
 * browser answers `active`), its answer to a browser's `actpass` says
 * `passive`; the browser connects. A peer that answers `passive` makes
 * Herald the client. Later offers and answers state the role kept.
 */
import type { types as ms } from 'mediasoup';
import { LegConsumer } from './leg-consumer.js';
import { LegProducer } from './leg-producer.js';
import type { MediaLeg } from './media-leg.js';
import type { AudioDescription, MediaDirection, MediaLine, SdpCodec } from './sdp/audio-description.js';
import { producerRtpParameters, type BridgeCodecs } from './sdp/codec-match.js';
import { SdpError } from './sdp/sdp-error.js';
import { SdpOrigin } from './sdp/sdp-origin.js';
import { webRtcAttributes } from './sdp/webrtc-attributes.js';
import { writeAudioDescription } from './sdp/write-audio-description.js';
import { latchProducer, type UnknownSsrcReports } from './ssrc-latch.js';

export interface WebRtcLegOptions {
  router: ms.Router;
  /** Where the transport listens: the WebRtcServer of the router's worker. */
  webRtcServer: ms.WebRtcServer;
  /** Names the leg in mediasoup's appData (which call, which side). */
  appData: ms.AppData;
  /** For a browser that names no SSRC in its SDP: learn it from its packets (ssrc-latch.ts). */
  latch: { reports: UnknownSsrcReports; workerPid: number };
}

const FINGERPRINT_ALGORITHMS: readonly ms.FingerprintAlgorithm[] = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'];

/** The mid Herald gives its offer's audio stream (an answer repeats the offer's). */
const OFFER_MID = '0';

export class WebRtcLeg implements MediaLeg {
  readonly profile = 'webrtc' as const;
  private readonly origin = new SdpOrigin();
  private readonly sends: LegConsumer;
  /** The peer's latest description (its mid, its SSRC). */
  private remote: AudioDescription | null = null;
  /** Herald's DTLS role once connected ('server' unless the peer answered `passive`). */
  private dtlsRole: 'server' | 'client' | null = null;
  /** What the peer sends: its Producer, and who consumes it (called again with each new Producer). */
  private sending: LegProducer | null = null;

  private constructor(
    readonly transport: ms.WebRtcTransport,
    private readonly latch: WebRtcLegOptions['latch'],
  ) {
    this.sends = new LegConsumer(transport);
  }

  static async open(o: WebRtcLegOptions): Promise<WebRtcLeg> {
    const transport = await o.router.createWebRtcTransport({ webRtcServer: o.webRtcServer, enableUdp: true, enableTcp: false, appData: o.appData });
    return new WebRtcLeg(transport, o.latch);
  }

  get closed(): boolean {
    return this.transport.closed;
  }

  describe(codecs: readonly SdpCodec[], direction: MediaDirection, ptime: number | null, mirror?: { lines: readonly MediaLine[]; audioIndex: number }): Buffer {
    const candidates = this.transport.iceCandidates;
    const first = candidates.find((c) => c.protocol === 'udp') ?? candidates[0];
    if (first === undefined) throw new Error('the WebRTC transport has no ICE candidate');
    const fingerprints = this.transport.dtlsParameters.fingerprints;
    const fingerprint = fingerprints.find((f) => f.algorithm === 'sha-256') ?? fingerprints[0]!;
    // JSEP (RFC 8829 §5.2.1, §5.2.2, §5.3.1): actpass in the first offer; once negotiated, every offer and answer states the role kept.
    const setup = this.dtlsRole === null ? (mirror === undefined ? 'actpass' : 'passive') : this.dtlsRole === 'server' ? 'passive' : 'active';
    return writeAudioDescription(this.origin, {
      // JSEP puts the default candidate's address in c= and m= (RFC 8829 §5.2.1).
      address: first.address,
      port: first.port,
      rtcpPort: null,
      codecs,
      direction,
      ptime,
      ...(mirror !== undefined ? { mirror } : {}),
      webrtc: webRtcAttributes({ ice: this.transport.iceParameters, candidates, fingerprint, setup, mid: this.remote?.webrtc?.mid ?? OFFER_MID }),
    });
  }

  /**
   * The browser's description: its DTLS fingerprint and role (the transport
   * connects once; ICE-lite needs nothing of the browser's ICE, it answers
   * the checks that come, but new credentials restart Herald's ICE too),
   * its mid and SSRC (kept from every description).
   */
  async connect(remote: AudioDescription): Promise<void> {
    const webrtc = remote.webrtc;
    if (remote.profile !== 'webrtc' || webrtc === null) throw new SdpError(`a WebRTC leg cannot take ${remote.protocol}`);
    const previous = this.remote?.webrtc ?? null;
    this.remote = remote;
    if (this.dtlsRole !== null) {
      // New ICE credentials in a re-offer are an ICE restart (RFC 8839 §4.4.1.1.1): Herald's answer carries new ones too.
      if (previous !== null && (previous.iceUfrag !== webrtc.iceUfrag || previous.icePwd !== webrtc.icePwd)) await this.transport.restartIce();
      return;
    }
    const fingerprint = webrtc.fingerprint;
    if (fingerprint === null) throw new SdpError('the WebRTC description has no a=fingerprint (DTLS-SRTP needs it)');
    const algorithm = FINGERPRINT_ALGORITHMS.find((a) => a === fingerprint.algorithm.toLowerCase());
    if (algorithm === undefined) throw new SdpError(`the DTLS fingerprint algorithm ${fingerprint.algorithm} is not supported`);
    // The peer's role: `passive` makes it the server; `active`, `actpass` (an offer, answered `passive`) or none make it the client.
    const remoteRole = webrtc.setup === 'passive' ? 'server' : 'client';
    this.dtlsRole = remoteRole === 'server' ? 'client' : 'server';
    await this.transport.connect({ dtlsParameters: { role: remoteRole, fingerprints: [{ algorithm, value: fingerprint.value }] } });
  }

  produce(codecs: BridgeCodecs, cname: string, signal: AbortSignal, onProducer: (p: ms.Producer) => Promise<void>): void {
    if (this.sending === null) {
      this.sending = new LegProducer(codecs, cname, signal, this.transport);
      this.produceNext();
    }
    this.sending.listen(onProducer);
  }

  /** A re-offer that names another SSRC (the browser replaced its track): a Producer for it replaces the old one. */
  relatch(): void {
    const s = this.sending;
    const ssrc = this.remote?.webrtc?.ssrc ?? null;
    if (s === null || s.current === null || ssrc === null || s.signal.aborted) return;
    if (s.current.rtpParameters.encodings?.[0]?.ssrc !== ssrc) this.produceNext();
  }

  /** A Producer for the SSRC the browser named, or — when it named none — for the one its first packets carry. */
  private produceNext(): void {
    const s = this.sending!;
    const ssrc = this.remote?.webrtc?.ssrc ?? null;
    const rtpParameters: ms.RtpParameters = { ...producerRtpParameters(s.codecs, s.cname), rtcp: { cname: s.cname, reducedSize: true } };
    const made =
      ssrc !== null
        ? this.transport.produce({ kind: 'audio', rtpParameters: { ...rtpParameters, encodings: [{ ssrc }] } })
        : latchProducer({ transport: this.transport, reports: this.latch.reports, workerPid: this.latch.workerPid, payloadType: s.codecs.audio.payloadType, rtpParameters, signal: s.signal });
    s.adopt(made);
  }

  consume(producer: ms.Producer, codecs: BridgeCodecs, routerCapabilities: ms.RtpCapabilities): Promise<ms.Consumer> {
    return this.sends.consume(producer, codecs, routerCapabilities);
  }

  setReceiving(direction: MediaDirection): Promise<void> {
    return this.sends.setReceiving(direction);
  }

  close(): void {
    if (!this.transport.closed) this.transport.close();
  }
}
