/**
 * One leg's media on a mediasoup PlainTransport (a softphone or a trunk:
 * plain RTP/AVP): the transport on a port of HERALD_RTP_PORTS, where it
 * sends (the peer's SDP address, or learnt from the first packet: comedia.ts),
 * the Producer of what the peer sends and the Consumer of what it receives.
 *
 * One of the two kinds of MediaLeg that CallMedia bridges; the other is a
 * browser's (webrtc-leg.ts).
 */
import type { types as ms } from 'mediasoup';
import type { AudioDescription, MediaDirection, MediaLine, SdpCodec } from './sdp/audio-description.js';
import { LegConsumer } from './leg-consumer.js';
import { LegProducer } from './leg-producer.js';
import type { MediaLeg } from './media-leg.js';
import { producerRtpParameters, type BridgeCodecs } from './sdp/codec-match.js';
import { SdpOrigin } from './sdp/sdp-origin.js';
import { writeAudioDescription } from './sdp/write-audio-description.js';
import { SdpError } from './sdp/sdp-error.js';
import { latchProducer, type UnknownSsrcReports } from './ssrc-latch.js';
import { isPortExhaustion, MediaCapacityError } from './media-capacity-error.js';

export interface PlainRtpLegOptions {
  router: ms.Router;
  listenInfo: ms.TransportListenInfo;
  /** RTP and RTCP on one port (the peer offered a=rtcp-mux); else a second port for RTCP. */
  rtcpMux: boolean;
  /** Learn the peer's address from its first packet instead of its SDP (comedia.ts). */
  comedia: boolean;
  /** Names the leg in mediasoup's appData (which call, which side). */
  appData: ms.AppData;
  /** Where the peer's SSRC is learnt from (ssrc-latch.ts): the engine's reports and the router's worker. */
  latch: { reports: UnknownSsrcReports; workerPid: number };
}

export class PlainRtpLeg implements MediaLeg {
  readonly profile = 'rtp' as const;
  private readonly origin = new SdpOrigin();
  private connectedTo: { address: string; port: number } | null = null;
  /** What the peer sends: its Producer once latched, and who consumes it (called again with each new Producer). */
  private sending: LegProducer | null = null;
  /** A relatch window is open (relatch()). */
  private relatching = false;
  private readonly sends: LegConsumer;

  private constructor(
    readonly transport: ms.PlainTransport,
    readonly comedia: boolean,
    private readonly latch: PlainRtpLegOptions['latch'],
  ) {
    this.sends = new LegConsumer(transport);
  }

  /** Throws MediaCapacityError when HERALD_RTP_PORTS has no free port left. */
  static async open(o: PlainRtpLegOptions): Promise<PlainRtpLeg> {
    let transport: ms.PlainTransport;
    try {
      transport = await o.router.createPlainTransport({
        listenInfo: o.listenInfo,
        ...(o.rtcpMux ? { rtcpMux: true } : { rtcpMux: false, rtcpListenInfo: o.listenInfo }),
        comedia: o.comedia,
        appData: o.appData,
      });
    } catch (err) {
      if (isPortExhaustion(err)) throw new MediaCapacityError(`no free media port in HERALD_RTP_PORTS ${o.listenInfo.portRange?.min}-${o.listenInfo.portRange?.max}`);
      throw err;
    }
    return new PlainRtpLeg(transport, o.comedia, o.latch);
  }

  /** The SDP for this leg's peer: Herald's address and ports, the codecs, the direction. */
  describe(codecs: readonly SdpCodec[], direction: MediaDirection, ptime: number | null, mirror?: { lines: readonly MediaLine[]; audioIndex: number }): Buffer {
    const tuple = this.transport.tuple;
    return writeAudioDescription(this.origin, {
      address: tuple.localAddress ?? tuple.localIp,
      port: tuple.localPort,
      rtcpPort: this.transport.rtcpTuple?.localPort ?? null,
      codecs,
      direction,
      ptime,
      ...(mirror !== undefined ? { mirror } : {}),
    });
  }

  /**
   * Where to send: the peer's SDP address (once; a PlainTransport connects
   * once). With comedia the first packet decides and this does nothing.
   */
  async connect(remote: AudioDescription): Promise<void> {
    if (remote.profile !== 'rtp') throw new SdpError(`a plain RTP leg cannot take ${remote.protocol}`);
    if (this.comedia) return;
    if (this.connectedTo !== null) {
      if (this.connectedTo.address !== remote.address || this.connectedTo.port !== remote.port) {
        throw new SdpError(`moving the media to ${remote.address}:${remote.port} mid-call is not supported (it stays at ${this.connectedTo.address}:${this.connectedTo.port})`);
      }
      return;
    }
    await this.transport.connect({ ip: remote.address, port: remote.port, ...(this.transport.rtcpTuple !== undefined ? { rtcpPort: remote.rtcpPort } : {}) });
    this.connectedTo = { address: remote.address, port: remote.port };
  }

  /**
   * The peer's audio into the router, in the bridge's codecs as the peer
   * numbers them. `onProducer` gets the Producer once the peer's first
   * packets named its SSRC (at once if that happened already), and a new one
   * whenever relatch() finds the peer sending under another SSRC. The first
   * caller's codecs stand for every later one (the caller sends one codec).
   */
  produce(codecs: BridgeCodecs, cname: string, signal: AbortSignal, onProducer: (p: ms.Producer) => Promise<void>): void {
    if (this.sending === null) {
      this.sending = new LegProducer(codecs, cname, signal, this.transport);
      this.latchNext(signal);
    }
    this.sending.listen(onProducer);
  }

  /**
   * After a re-offer that has the peer sending (resume from hold): for
   * `windowMs`, a stream under a new SSRC replaces the Producer — some phones
   * restart their RTP stream after a hold. Nothing changes if none comes.
   */
  relatch(windowMs: number): void {
    const s = this.sending;
    if (s === null || s.current === null || this.relatching || s.signal.aborted) return;
    this.relatching = true;
    const window = new AbortController();
    const stop = () => window.abort(new Error('no new SSRC'));
    const timer = setTimeout(stop, windowMs);
    timer.unref();
    s.signal.addEventListener('abort', stop, { once: true });
    this.latchNext(window.signal, () => {
      clearTimeout(timer);
      s.signal.removeEventListener('abort', stop);
      this.relatching = false;
    });
  }

  private latchNext(signal: AbortSignal, done?: () => void): void {
    const s = this.sending!;
    s.adopt(
      latchProducer({
        transport: this.transport,
        reports: this.latch.reports,
        workerPid: this.latch.workerPid,
        payloadType: s.codecs.audio.payloadType,
        rtpParameters: producerRtpParameters(s.codecs, s.cname),
        signal,
      }),
      done,
    );
  }

  consume(producer: ms.Producer, codecs: BridgeCodecs, routerCapabilities: ms.RtpCapabilities): Promise<ms.Consumer> {
    return this.sends.consume(producer, codecs, routerCapabilities);
  }

  setReceiving(direction: MediaDirection): Promise<void> {
    return this.sends.setReceiving(direction);
  }

  get closed(): boolean {
    return this.transport.closed;
  }

  close(): void {
    if (!this.transport.closed) this.transport.close();
  }
}
