/**
 * Codecs between two legs and mediasoup. mediasoup forwards RTP, it does
 * not transcode: the caller's audio reaches the callee in the codec the
 * caller sends, so a bridge needs one audio codec both legs take.
 *
 * Payload types: a router's codecs are made from the caller's offer with the
 * caller's payload type numbers (`routerCodecsFor`), because a Consumer sends
 * with the router's numbers — so what reaches the caller is numbered as the
 * caller asked, and the offer Herald writes to each fork uses the same
 * numbers (a callee answers with them, RFC 3264 §6.1 "SHOULD").
 *
 * Only the codecs of codecs.ts are carried. telephone-event (RFC 4733) rides
 * along with the audio codec: it is bridged when both legs take it at the
 * audio codec's clock rate, and never counts as the audio codec itself.
 */
import type { types as ms } from 'mediasoup';
import { CALL_MEDIA_CODECS } from '../codecs.js';
import type { SdpCodec } from './audio-description.js';
import { SdpError } from './sdp-error.js';

/** The codecs of a bridge: the one audio codec both legs take, and telephone-event when both take it at that clock rate. */
export interface BridgeCodecs {
  audio: SdpCodec;
  dtmf?: SdpCodec;
}

/** RFC 4733 events (DTMF): carried beside an audio codec, never the audio itself. */
export function isTelephoneEvent(c: Pick<SdpCodec, 'name'>): boolean {
  return c.name.toLowerCase() === 'telephone-event';
}

/** A bridge's codecs as SDP lists them: the audio codec, then telephone-event if bridged. */
export function bridgeSdpCodecs(codecs: BridgeCodecs): SdpCodec[] {
  return codecs.dtmf === undefined ? [codecs.audio] : [codecs.audio, codecs.dtmf];
}

/** Same codec: encoding name (case-insensitive, RFC 4855 §3), clock rate and channels. */
export function sameCodec(a: Pick<SdpCodec, 'name' | 'clockRate' | 'channels'>, b: Pick<SdpCodec, 'name' | 'clockRate' | 'channels'>): boolean {
  return a.name.toLowerCase() === b.name.toLowerCase() && a.clockRate === b.clockRate && a.channels === b.channels;
}

function asSdpCodec(r: ms.RouterRtpCodecCapability | ms.RtpCodecCapability): Pick<SdpCodec, 'name' | 'clockRate' | 'channels'> {
  return { name: r.mimeType.slice(r.mimeType.indexOf('/') + 1), clockRate: r.clockRate, channels: r.channels ?? 1 };
}

/** A codec Herald's routers carry (codecs.ts). */
function routerCarries(c: SdpCodec): boolean {
  return CALL_MEDIA_CODECS.some((r) => sameCodec(c, asSdpCodec(r)));
}

/**
 * The offered codecs a router can carry, in the offer's order (its preference).
 * Throws SdpError when there is none.
 */
export function carriedCodecs(offered: readonly SdpCodec[]): SdpCodec[] {
  const audio = offered.filter((c) => routerCarries(c) && !isTelephoneEvent(c));
  // telephone-event only at a clock rate some carried audio codec has (it could never be bridged otherwise).
  const carried = offered.filter((c) => audio.includes(c) || (isTelephoneEvent(c) && routerCarries(c) && audio.some((a) => a.clockRate === c.clockRate)));
  if (audio.length === 0) throw new SdpError(`no offered audio codec can be carried (offered ${describe(offered)}; Herald carries PCMU, PCMA, opus)`);
  return carried;
}

/** A call router's codecs: the carried codecs of the caller's offer, with the caller's payload types. */
export function routerCodecsFor(carried: readonly SdpCodec[]): ms.RouterRtpCodecCapability[] {
  const seen = new Set<number>();
  const codecs: ms.RouterRtpCodecCapability[] = [];
  for (const c of carried) {
    if (seen.has(c.payloadType)) continue;
    seen.add(c.payloadType);
    codecs.push({ kind: 'audio', mimeType: `audio/${c.name}`, clockRate: c.clockRate, ...(c.channels > 1 ? { channels: c.channels } : {}), preferredPayloadType: c.payloadType });
  }
  return codecs;
}

/**
 * What a bridge carries, from an offer and its answer: the first codec of the
 * answer that the offer has (the answerer's preference, RFC 3264 §6.1), with
 * the offer's payload type (Herald's numbering). Throws SdpError when they
 * share none.
 */
export function bridgeCodecs(offered: readonly SdpCodec[], answered: readonly SdpCodec[]): BridgeCodecs {
  for (const a of answered) {
    if (isTelephoneEvent(a)) continue;
    const audio = offered.find((o) => routerCarries(o) && sameCodec(o, a));
    if (audio === undefined) continue;
    const dtmf = offered.find((o) => isTelephoneEvent(o) && o.clockRate === audio.clockRate && routerCarries(o) && answered.some((x) => sameCodec(x, o)));
    return dtmf === undefined ? { audio } : { audio, dtmf };
  }
  throw new SdpError(`no audio codec in common (offered ${describe(offered)}, answered ${describe(answered)})`);
}

/** The same bridge codecs as `side` numbers them (its own SDP's payload types). */
export function asNumberedBy(codecs: BridgeCodecs, side: readonly SdpCodec[]): BridgeCodecs {
  const audio = side.find((s) => sameCodec(s, codecs.audio)) ?? codecs.audio;
  if (codecs.dtmf === undefined) return { audio };
  const dtmf = codecs.dtmf;
  return { audio, dtmf: side.find((s) => sameCodec(s, dtmf)) ?? dtmf };
}

/**
 * The bridge as it stands with a leg whose codecs are `side`: the same audio,
 * and telephone-event only if that leg takes it too (a callee after early
 * media or prompts fixed the caller's codecs).
 */
export function keptBy(codecs: BridgeCodecs, side: readonly SdpCodec[]): BridgeCodecs {
  const dtmf = codecs.dtmf;
  return dtmf !== undefined && side.some((s) => sameCodec(s, dtmf)) ? codecs : { audio: codecs.audio };
}

/**
 * A Producer's RTP parameters for what a leg sends, in the bridge's codec;
 * its one encoding's SSRC is filled in by ssrc-latch.ts once the peer's
 * packets show it.
 */
export function producerRtpParameters(codecs: BridgeCodecs, cname: string): ms.RtpParameters {
  return {
    codecs: bridgeSdpCodecs(codecs).map((c) => ({ mimeType: `audio/${c.name}`, payloadType: c.payloadType, clockRate: c.clockRate, ...(c.channels > 1 ? { channels: c.channels } : {}), parameters: fmtpParameters(c.fmtp) })),
    encodings: [{}],
    rtcp: { cname, reducedSize: false },
  };
}

/** What a leg can receive, as mediasoup's consume() asks for it: the router's codec of the bridge. */
export function consumerRtpCapabilities(router: ms.RtpCapabilities, codecs: BridgeCodecs): ms.RtpCapabilities {
  const wanted = bridgeSdpCodecs(codecs);
  return { codecs: (router.codecs ?? []).filter((r) => wanted.some((w) => sameCodec(w, asSdpCodec(r)))), headerExtensions: [] };
}

/** `key=value;key=value` fmtp into mediasoup codec parameters; other forms carry no parameter. */
export function fmtpParameters(fmtp: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const part of fmtp.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    out[key] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

function describe(codecs: readonly SdpCodec[]): string {
  return codecs.length === 0 ? 'nothing' : codecs.map((c) => `${c.name}/${c.clockRate}`).join(' ');
}
