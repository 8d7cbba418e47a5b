/**
 * What Herald needs to know of a leg's session description (offer or
 * answer) to anchor its audio in mediasoup: the first audio stream's
 * transport (address, port, RTCP), its codecs in the peer's order of
 * preference, its direction, and the other m= lines only as far as an
 * answer must mirror them (RFC 3264 §6: one m= line in the answer for each
 * one in the offer, rejected with port 0).
 *
 * Parsing and writing are sdp-transform's; this module decides what the
 * parsed fields mean (RFC 4566 defaults, RFC 3551 static payload types,
 * RFC 3605 a=rtcp, RFC 5761 rtcp-mux, RFC 3264 §8.4 c=0.0.0.0 hold).
 *
 * A WebRTC (browser) leg comes in with the same fields plus what ICE-lite
 * and DTLS need (`webrtc`), which webrtc-leg.ts reads.
 */
import { isIP } from 'node:net';
import { parse, type MediaAttributes, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { SdpError } from './sdp-error.js';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Plain RTP (RTP/AVP, RTP/AVPF) or a browser's DTLS-SRTP with ICE (UDP/TLS/RTP/SAVPF). */
export type MediaProfile = 'rtp' | 'webrtc';

export interface SdpCodec {
  payloadType: number;
  /** The encoding name as written (`PCMU`, `opus`, `telephone-event`). */
  name: string;
  clockRate: number;
  /** Audio channels (1 unless the rtpmap says otherwise). */
  channels: number;
  /** The a=fmtp value as written, '' when none (kept verbatim: `0-15` for telephone-event is not key=value). */
  fmtp: string;
}

/** An m= line as an answer has to repeat it. */
export interface MediaLine {
  type: string;
  port: number;
  protocol: string;
  formats: string;
  /** Its a=mid, which a rejected line keeps (JSEP: a browser matches the answer's m= lines by mid). */
  mid?: string;
}

export interface WebRtcParameters {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string } | null;
  setup: string | null;
  candidates: Array<{ ip: string; port: number; protocol: string; type: string; priority: number }>;
  /** a=mid of the audio stream (an answer repeats the offer's, RFC 8843). */
  mid: string | null;
  /** The first a=ssrc of the audio stream: the SSRC the browser sends with (null when it names none). */
  ssrc: number | null;
}

export interface AudioDescription {
  profile: MediaProfile;
  /** The m= line's protocol as written. */
  protocol: string;
  /** Where the peer receives RTP: the audio stream's c= address (or the session's). */
  address: string;
  addressFamily: 4 | 6;
  port: number;
  rtcpMux: boolean;
  /** Where the peer receives RTCP when it is not muxed: a=rtcp, else port + 1 (RFC 3550 §11). */
  rtcpPort: number;
  codecs: SdpCodec[];
  direction: MediaDirection;
  ptime: number | null;
  /** Index of the audio stream among `lines`. */
  audioIndex: number;
  lines: MediaLine[];
  /** o= of the SDP (an answer to a re-offer may keep it; logs). */
  origin: { sessionId: string; version: string };
  webrtc: WebRtcParameters | null;
}

/**
 * RFC 3551 §6 static payload types that peers often list without a=rtpmap
 * (linphone's `18`, sipp's `0`).
 */
const STATIC_PAYLOAD_TYPES: Readonly<Record<number, { name: string; clockRate: number; channels?: number }>> = {
  0: { name: 'PCMU', clockRate: 8000 },
  3: { name: 'GSM', clockRate: 8000 },
  4: { name: 'G723', clockRate: 8000 },
  5: { name: 'DVI4', clockRate: 8000 },
  6: { name: 'DVI4', clockRate: 16000 },
  7: { name: 'LPC', clockRate: 8000 },
  8: { name: 'PCMA', clockRate: 8000 },
  9: { name: 'G722', clockRate: 8000 },
  10: { name: 'L16', clockRate: 44100, channels: 2 },
  11: { name: 'L16', clockRate: 44100 },
  12: { name: 'QCELP', clockRate: 8000 },
  13: { name: 'CN', clockRate: 8000 },
  14: { name: 'MPA', clockRate: 90000 },
  15: { name: 'G728', clockRate: 8000 },
  16: { name: 'DVI4', clockRate: 11025 },
  17: { name: 'DVI4', clockRate: 22050 },
  18: { name: 'G729', clockRate: 8000 },
};

/** Parses an SDP body and describes its first audio stream. Throws SdpError when there is none Herald can use. */
export function parseAudioDescription(body: Buffer | string): AudioDescription {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (!/^v=0\s*$/m.test(text.split(/\r?\n/, 1)[0] ?? '')) throw new SdpError('the body is not an SDP session description (no v=0 line first)');
  let session: SessionDescription;
  try {
    session = parse(text);
  } catch (err) {
    throw new SdpError(`the SDP cannot be parsed (${(err as Error).message})`);
  }
  const media = session.media ?? [];
  // sdp-transform gives a one-format m= line's format as a number.
  const lines: MediaLine[] = media.map((m) => ({ type: m.type, port: m.port, protocol: m.protocol, formats: String(m.payloads ?? ''), ...(m.mid !== undefined ? { mid: String(m.mid) } : {}) }));
  const audioIndex = media.findIndex((m) => m.type === 'audio' && m.port !== 0);
  const audio = media[audioIndex];
  if (audio === undefined) throw new SdpError('the SDP has no audio stream (no m=audio line with a port)');
  const profile = profileOf(audio.protocol);
  const connection = audio.connection ?? session.connection;
  if (connection === undefined) throw new SdpError('the audio stream has no connection address (c=)');
  const address = connection.ip.split('/')[0] ?? connection.ip;
  const codecs = codecsOf(audio);
  if (codecs.length === 0) throw new SdpError('the audio stream lists no payload type');
  const rtcpMux = audio.rtcpMux === 'rtcp-mux';
  return {
    profile,
    protocol: audio.protocol,
    address,
    addressFamily: connection.version === 6 || isIP(address) === 6 ? 6 : 4,
    port: audio.port,
    rtcpMux,
    rtcpPort: rtcpMux ? audio.port : (audio.rtcp?.port ?? audio.port + 1),
    codecs,
    direction: directionOf(audio, session, profile === 'rtp' ? address : null),
    ptime: audio.ptime ?? null,
    audioIndex,
    lines,
    origin: { sessionId: String(session.origin?.sessionId ?? '0'), version: String(session.origin?.sessionVersion ?? '0') },
    webrtc: profile === 'webrtc' ? webRtcOf(audio, session) : null,
  };
}

function profileOf(protocol: string): MediaProfile {
  const p = protocol.toUpperCase();
  if (p === 'RTP/AVP' || p === 'RTP/AVPF') return 'rtp';
  if (p === 'UDP/TLS/RTP/SAVPF' || p === 'UDP/TLS/RTP/SAVP') return 'webrtc';
  // RTP/SAVP (SDES-SRTP) and anything else: Herald would have to decrypt with keys from the SDP, which it does not do.
  throw new SdpError(`the audio stream's protocol ${protocol} is not supported (RTP/AVP, RTP/AVPF or UDP/TLS/RTP/SAVPF)`);
}

function codecsOf(audio: MediaDescription & MediaAttributes): SdpCodec[] {
  const formats = String(audio.payloads ?? '').trim().split(/\s+/).filter((f) => f !== '');
  const codecs: SdpCodec[] = [];
  for (const f of formats) {
    const pt = Number(f);
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) throw new SdpError(`the audio stream lists a payload type that is not one: ${f}`);
    const map = audio.rtp.find((r) => r.payload === pt);
    const known = STATIC_PAYLOAD_TYPES[pt];
    // A dynamic payload type with no a=rtpmap has no meaning (RFC 4566 §6): leave it out rather than guess.
    if (map === undefined && known === undefined) continue;
    codecs.push({
      payloadType: pt,
      name: map?.codec ?? (known as { name: string }).name,
      clockRate: map?.rate ?? (known as { clockRate: number }).clockRate,
      channels: map?.encoding ?? known?.channels ?? 1,
      fmtp: audio.fmtp.find((x) => x.payload === pt)?.config ?? '',
    });
  }
  return codecs;
}

/** The stream's direction; `address` is the plain RTP connection address (null for ICE, where c=0.0.0.0 is the norm, RFC 8839 §4.2.1). */
function directionOf(audio: MediaAttributes, session: SessionDescription, address: string | null): MediaDirection {
  const direction = audio.direction ?? session.direction ?? 'sendrecv';
  // RFC 3264 §8.4: c=0.0.0.0 is the old (RFC 2543) way of putting the other side on hold: it receives nothing.
  if ((address === '0.0.0.0' || address === '::') && direction === 'sendrecv') return 'sendonly';
  if ((address === '0.0.0.0' || address === '::') && direction === 'recvonly') return 'inactive';
  return direction;
}

function webRtcOf(audio: MediaAttributes, session: SessionDescription): WebRtcParameters {
  const fingerprint = audio.fingerprint ?? session.fingerprint;
  return {
    iceUfrag: audio.iceUfrag ?? session.iceUfrag ?? '',
    icePwd: audio.icePwd ?? session.icePwd ?? '',
    fingerprint: fingerprint === undefined ? null : { algorithm: fingerprint.type, value: fingerprint.hash },
    setup: audio.setup ?? session.setup ?? null,
    candidates: (audio.candidates ?? []).filter((c) => c.component === 1).map((c) => ({ ip: c.ip, port: c.port, protocol: c.transport.toLowerCase(), type: c.type, priority: c.priority })),
    mid: audio.mid === undefined ? null : String(audio.mid),
    ssrc: audio.ssrcs?.[0] === undefined ? null : Number(audio.ssrcs[0].id),
  };
}
