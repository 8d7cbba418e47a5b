/**
 * A caller whose offer is WebRTC (DTLS-SRTP): its legs cannot be anchored yet
 * (the WebRtcTransport slice), so the call's SDP passes end to end instead —
 * a browser then reaches another browser directly. Not a refusal, unlike SdpError.
 */
export class WebRtcNotAnchoredError extends Error {
  constructor() {
    super('the caller offers WebRTC (DTLS-SRTP), not anchored yet');
  }
}
