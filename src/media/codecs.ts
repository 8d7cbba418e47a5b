/**
 * The codecs every call router offers. Opus for browsers (WebRTC requires it),
 * G.711 µ-law and A-law for SIP phones and trunks (the one codec pair every
 * SIP device speaks), and telephone-event (RFC 4733 DTMF) at the clock rates
 * of those: 8 kHz with G.711, 48 kHz with Opus.
 *
 * telephone-event is carried because Herald's worker build patches
 * mediasoup's Consumers to forward it (scripts/mediasoup-worker/
 * herald-patches.py); an unpatched mediasoup drops it as a "complementary"
 * codec. It is negotiated only when both legs take it at the audio codec's
 * clock rate (codec-match.ts); otherwise peers send DTMF in the audio or by
 * SIP INFO, which the call relays.
 */
import type { types as ms } from 'mediasoup';

export const CALL_MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 },
  { kind: 'audio', mimeType: 'audio/PCMA', clockRate: 8000, preferredPayloadType: 8 },
  { kind: 'audio', mimeType: 'audio/telephone-event', clockRate: 8000 },
  { kind: 'audio', mimeType: 'audio/telephone-event', clockRate: 48000 },
];
