/**
 * The codecs every call router offers. Opus for browsers (WebRTC requires it),
 * G.711 µ-law and A-law for SIP phones and trunks (the one codec pair every
 * SIP device speaks).
 *
 * No telephone-event (RFC 4733): mediasoup 3.27's Consumers forward only the
 * payload types of "media" codecs (RtpCodecMimeType::IsMediaCodec), and
 * telephone-event is a "complementary" one, so its packets would be dropped
 * at every Consumer. Herald does not offer what it cannot carry: peers that
 * find no telephone-event in the SDP send DTMF in the audio or by SIP INFO,
 * and both reach the other leg.
 */
import type { types as ms } from 'mediasoup';

export const CALL_MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 },
  { kind: 'audio', mimeType: 'audio/PCMA', clockRate: 8000, preferredPayloadType: 8 },
];
