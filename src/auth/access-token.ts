/**
 * Access tokens in Twilio's AccessToken format (CONTRACT §3): an HS256 JWT
 * signed with an API key secret, `cty: twilio-fpa;v=1`, the client's identity
 * and voice grants. Minting lives here; verification comes with the registrar.
 */
import jwt from 'jsonwebtoken';

export interface VoiceGrant {
  incoming?: { allow: boolean };
  outgoing?: { application_sid: string; params?: Record<string, string> };
}

export interface AccessTokenClaims {
  jti: string;
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  nbf?: number;
  grants: { identity: string; voice?: VoiceGrant };
}

export interface MintOptions {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  identity: string;
  incoming?: boolean;
  outgoingApplicationSid?: string;
  outgoingParams?: Record<string, string>;
  /** seconds; default 3600, at most 24 h as Twilio allows. */
  ttl?: number;
  now?: number;
}

export const MAX_TOKEN_TTL = 86_400;

export function mintAccessToken(o: MintOptions): string {
  const ttl = o.ttl ?? 3600;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TOKEN_TTL) {
    throw new RangeError(`ttl must be a whole number of seconds between 1 and ${MAX_TOKEN_TTL}`);
  }
  if (!/^[A-Za-z0-9._~@+-]{1,121}$/.test(o.identity)) {
    throw new RangeError('identity must be 1-121 characters of letters, digits and ._~@+-');
  }
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const voice: VoiceGrant = {};
  if (o.incoming) voice.incoming = { allow: true };
  if (o.outgoingApplicationSid !== undefined) {
    voice.outgoing = { application_sid: o.outgoingApplicationSid };
    if (o.outgoingParams !== undefined) voice.outgoing.params = o.outgoingParams;
  }
  const claims: AccessTokenClaims = {
    jti: `${o.apiKeySid}-${now}`,
    iss: o.apiKeySid,
    sub: o.accountSid,
    iat: now,
    exp: now + ttl,
    grants: { identity: o.identity, ...(Object.keys(voice).length > 0 ? { voice } : {}) },
  };
  return jwt.sign(claims, o.apiKeySecret, { algorithm: 'HS256', header: { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' } });
}
