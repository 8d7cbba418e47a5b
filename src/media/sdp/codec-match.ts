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
 * Only the codecs of codecs.ts are carried: telephone-event is left out of
 * every SDP Herald writes (mediasoup drops it, see codecs.ts).
 */
import type { types as ms } from 'mediasoup';
import { CALL_MEDIA_CODECS } from '../codecs.js';
import type { SdpCodec } from './audio-description.js';
import { SdpError } from './sdp-error.js';

/** The codec of a bridge: the one audio codec both legs take. */
export interface BridgeCodecs {
  audio: SdpCodec;
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
  const carried = offered.filter(routerCarries);
  if (carried.length === 0) throw new SdpError(`no offered audio codec can be carried (offered ${describe(offered)}; Herald carries PCMU, PCMA, opus)`);
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
    const audio = offered.find((o) => routerCarries(o) && sameCodec(o, a));
    if (audio !== undefined) return { audio };
  }
  throw new SdpError(`no audio codec in common (offered ${describe(offered)}, answered ${describe(answered)})`);
}

/** The same bridge codecs as `side` numbers them (its own SDP's payload types). */
export function asNumberedBy(codecs: BridgeCodecs, side: readonly SdpCodec[]): BridgeCodecs {
  return { audio: side.find((s) => sameCodec(s, codecs.audio)) ?? codecs.audio };
}

/**
 * A Producer's RTP parameters for what a leg sends, in the bridge's codec;
 * its one encoding's SSRC is filled in by ssrc-latch.ts once the peer's
 * packets show it.
 */
export function producerRtpParameters(codecs: BridgeCodecs, cname: string): ms.RtpParameters {
  const c = codecs.audio;
  return {
    codecs: [{ mimeType: `audio/${c.name}`, payloadType: c.payloadType, clockRate: c.clockRate, ...(c.channels > 1 ? { channels: c.channels } : {}), parameters: fmtpParameters(c.fmtp) }],
    encodings: [{}],
    rtcp: { cname, reducedSize: false },
  };
}

/** What a leg can receive, as mediasoup's consume() asks for it: the router's codec of the bridge. */
export function consumerRtpCapabilities(router: ms.RtpCapabilities, codecs: BridgeCodecs): ms.RtpCapabilities {
  return { codecs: (router.codecs ?? []).filter((r) => sameCodec(codecs.audio, asSdpCodec(r))), headerExtensions: [] };
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
