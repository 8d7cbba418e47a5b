/**
 * The codecs every call router offers. Opus for browsers (WebRTC requires it),
 * G.711 µ-law and A-law for SIP phones and trunks (the one codec pair every
 * SIP device speaks), and RFC 4733 telephone-event for DTMF at both clock
 * rates, so DTMF can follow either side's audio codec.
 */
import type { types as ms } from 'mediasoup';

export const CALL_MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 },
  { kind: 'audio', mimeType: 'audio/PCMA', clockRate: 8000, preferredPayloadType: 8 },
  { kind: 'audio', mimeType: 'audio/telephone-event', clockRate: 48000 },
  { kind: 'audio', mimeType: 'audio/telephone-event', clockRate: 8000 },
];
