/**
 * One leg of a call's media as CallMedia bridges it, whatever the peer: a
 * SIP device or trunk on plain RTP (plain-rtp-leg.ts) or a browser on
 * ICE-lite and DTLS-SRTP (webrtc-leg.ts). CallMedia only asks a leg for its
 * SDP, where to send, the Producer of what the peer sends and a Consumer of
 * what it receives; how each kind learns the peer's SSRC or address is its own.
 */
import type { types as ms } from 'mediasoup';
import type { AudioDescription, MediaDirection, MediaLine, MediaProfile, SdpCodec } from './sdp/audio-description.js';
import type { BridgeCodecs } from './sdp/codec-match.js';

export interface MediaLeg {
  /** What the leg's peer speaks: its SDP profile. */
  readonly profile: MediaProfile;
  readonly closed: boolean;
  /**
   * The SDP for this leg's peer: Herald's address, the codecs, the direction.
   * With `mirror` it is an answer to the offer whose m= lines are given.
   */
  describe(codecs: readonly SdpCodec[], direction: MediaDirection, ptime: number | null, mirror?: { lines: readonly MediaLine[]; audioIndex: number }): Buffer;
  /** The peer's description (offer or answer): where and how to send. Throws SdpError when it cannot be followed. */
  connect(remote: AudioDescription): Promise<void>;
  /**
   * The peer's audio into the router in the bridge's codecs as the peer
   * numbers them; `onProducer` gets each Producer (a new one when the peer
   * restarts its stream under another SSRC).
   */
  produce(codecs: BridgeCodecs, cname: string, signal: AbortSignal, onProducer: (p: ms.Producer) => Promise<void>): void;
  /** After a re-offer that has the peer sending: follow a stream restarted under a new SSRC. */
  relatch(windowMs: number): void;
  /** The other leg's audio out to this peer (a new producer replaces the one consumed so far). */
  consume(producer: ms.Producer, codecs: BridgeCodecs, routerCapabilities: ms.RtpCapabilities): Promise<ms.Consumer>;
  /** Whether the peer wants media now (sendrecv, recvonly): a peer on hold is sent nothing. */
  setReceiving(direction: MediaDirection): Promise<void>;
  close(): void;
}
