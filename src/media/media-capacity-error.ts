/**
 * No media port is free in HERALD_RTP_PORTS for a new transport. Not a fault
 * of the caller's request: the call is refused with `503 Service Unavailable`
 * (RFC 3261 §21.5.4), as for the calls limit, and nothing of its media stays.
 */
export class MediaCapacityError extends Error {
  readonly sipStatus = 503;
}

/** mediasoup's worker says so with "no more available ports" (PortManager). */
export function isPortExhaustion(err: unknown): boolean {
  return err instanceof Error && /no more available ports/.test(err.message);
}
