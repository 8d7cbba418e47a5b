/**
 * The o= line of the SDP Herald sends on one leg: one session id for the
 * leg's whole dialog, and a version that goes up by one each time the
 * description changes and stays when it does not (RFC 3264 §8: a re-offer
 * that changes nothing keeps the version, so the peer knows nothing changed).
 */
import { randomInt } from 'node:crypto';

export class SdpOrigin {
  /** Decimal digits (NTP-style numbers, RFC 4566 §5.2), below 2^53 so it round-trips through JSON and sdp-transform. */
  readonly sessionId = String(randomInt(1, 2 ** 47));
  private version = randomInt(1, 2 ** 31);
  private last: string | null = null;

  /** The version for a description whose text (written with version 0) is `content`. */
  versionFor(content: string): number {
    if (this.last !== null && this.last !== content) this.version += 1;
    this.last = content;
    return this.version;
  }
}
