/**
 * RFC 8898 Bearer for SIP: the access token in `Authorization: Bearer …`
 * (REGISTER, PUBLISH, SUBSCRIBE, INVITE) and the challenge without one.
 */
import type { Credentials } from './digest-header.js';

export const BEARER_REALM = 'herald';

/** `WWW-Authenticate` for a request without usable credentials (CONTRACT §4). */
export const BEARER_CHALLENGE = `Bearer realm="${BEARER_REALM}"`;

/** The token of the first Bearer credentials among a request's parsed Authorization headers. */
export function findBearer(credentials: ReadonlyArray<Credentials | null>): string | null {
  for (const c of credentials) if (c !== null && c.scheme.toLowerCase() === 'bearer' && c.token68 !== null) return c.token68;
  return null;
}
