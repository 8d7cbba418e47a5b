/**
 * The SDP Herald gives a leg: Herald's own media address (HERALD_PUBLIC_HOST
 * and the port of the leg's mediasoup transport), the codecs chosen for that
 * leg, the direction, and — for an answer — the offer's other m= lines
 * repeated with port 0 (RFC 3264 §6: rejected, in the offer's order).
 * A browser leg adds its ICE and DTLS attributes (`webrtc`).
 * Written with sdp-transform, CRLF line ends (RFC 4566 §5).
 */
import { isIP } from 'node:net';
import { write, type MediaAttributes, type MediaDescription, type SessionDescription } from 'sdp-transform';
import type { MediaDirection, MediaLine, SdpCodec } from './audio-description.js';
import type { SdpOrigin } from './sdp-origin.js';

export interface LocalAudio {
  /** Herald's media address as announced (HERALD_PUBLIC_HOST). */
  address: string;
  port: number;
  /** Herald's RTCP port when RTCP is not muxed; null with rtcp-mux. */
  rtcpPort: number | null;
  codecs: readonly SdpCodec[];
  direction: MediaDirection;
  ptime: number | null;
  /** For an answer: the offer's m= lines (the audio one at `audioIndex` is replaced by ours, the others rejected). */
  mirror?: { lines: readonly MediaLine[]; audioIndex: number };
  /** A browser leg's m= protocol and ICE/DTLS attributes (webrtc-attributes.ts); absent for plain RTP. */
  webrtc?: { media: Partial<MediaAttributes> & { protocol: string }; session: Partial<SessionDescription> };
}

export function writeAudioDescription(origin: SdpOrigin, local: LocalAudio): Buffer {
  const version = isIP(local.address) === 6 ? 6 : 4;
  const audio: MediaDescription & MediaAttributes = {
    type: 'audio',
    port: local.port,
    protocol: 'RTP/AVP',
    payloads: local.codecs.map((c) => c.payloadType).join(' '),
    rtp: local.codecs.map((c) => ({ payload: c.payloadType, codec: c.name, rate: c.clockRate, ...(c.channels > 1 ? { encoding: c.channels } : {}) })),
    fmtp: local.codecs.filter((c) => c.fmtp !== '').map((c) => ({ payload: c.payloadType, config: c.fmtp })),
    ...(local.rtcpPort === null ? { rtcpMux: 'rtcp-mux' as const } : { rtcp: { port: local.rtcpPort } }),
    ...(local.ptime !== null ? { ptime: local.ptime } : {}),
    direction: local.direction,
    ...local.webrtc?.media,
  };
  const media: MediaDescription[] =
    local.mirror === undefined
      ? [audio]
      : local.mirror.lines.map((line, i) =>
          i === local.mirror!.audioIndex ? audio : { type: line.type, port: 0, protocol: line.protocol, payloads: line.formats, rtp: [], fmtp: [], ...(line.mid !== undefined ? { mid: line.mid } : {}) },
        );
  const session: SessionDescription = {
    version: 0,
    origin: { username: 'herald', sessionId: origin.sessionId, sessionVersion: 0, netType: 'IN', ipVer: version, address: local.address },
    name: 'herald',
    connection: { version, ip: local.address },
    timing: { start: 0, stop: 0 },
    media,
    ...local.webrtc?.session,
  };
  // The version goes up only when the rest changed (RFC 3264 §8): written once with a placeholder to compare.
  session.origin.sessionVersion = origin.versionFor(write(session));
  return Buffer.from(write(session).replace(/\r?\n/g, '\r\n'));
}
