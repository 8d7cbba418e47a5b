/**
 * A session description Herald cannot use, or two legs whose media cannot
 * meet (no codec in common: mediasoup forwards, it does not transcode).
 * Either way the SIP answer is `488 Not Acceptable Here` (RFC 3261 §21.4.26)
 * with the message as its Warning.
 */
export class SdpError extends Error {
  readonly sipStatus = 488;
}
