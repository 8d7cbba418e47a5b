/**
 * Interoperability with Twilio's own helper library (CONTRACT §3): tokens minted by
 * `twilio.jwt.AccessToken` verify unchanged, and ours have the same shape as theirs.
 */
import { expect } from 'chai';
import twilio from 'twilio';
import { mintAccessToken } from '../../../src/auth/access-token.js';
import {
  verifyAccessToken,
  type TokenVerdict,
  type VerifiedToken,
} from '../../../src/auth/verify-token.js';

const { AccessToken } = twilio.jwt;
const { VoiceGrant } = AccessToken;

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const KEY = 'SK0123456789abcdef0123456789abcdef';
const SECRET = 'a-long-secret-for-the-interop-test';
const APP = 'AP0123456789abcdef0123456789abcdef';

/** The config account, as the loader produces it (only the fields verification reads matter). */
const ACCOUNTS = [
  {
    sid: 'ACffffffffffffffffffffffffffffffff',
    apiKeys: [{ sid: 'SKffffffffffffffffffffffffffffffff', secret: 'another-account-secret-0000' }],
  },
  { sid: ACCOUNT, apiKeys: [{ sid: KEY, secret: SECRET }] },
];

interface Decoded {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

function decode(token: string): Decoded {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >,
    payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >,
  };
}

function twilioToken(
  options: {
    secret?: string;
    algorithm?: 'HS256' | 'HS384' | 'HS512';
    region?: string;
    nbf?: number;
  } = {},
): string {
  const token = new AccessToken(ACCOUNT, KEY, options.secret ?? SECRET, {
    identity: 'alice',
    ttl: 600,
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.nbf !== undefined ? { nbf: options.nbf } : {}),
  });
  token.addGrant(
    new VoiceGrant({
      incomingAllow: true,
      outgoingApplicationSid: APP,
      outgoingApplicationParams: { foo: 'bar' },
    }),
  );
  return token.toJwt(options.algorithm);
}

function accepted(verdict: TokenVerdict): VerifiedToken {
  if (!verdict.ok) throw new Error(`token refused: ${verdict.reason}`);
  return verdict.token;
}

describe('Twilio AccessToken interoperability', () => {
  it('a token minted by twilio.jwt.AccessToken with a VoiceGrant verifies unchanged', () => {
    const before = Math.floor(Date.now() / 1000);
    const token = twilioToken();
    const t = accepted(verifyAccessToken(token, ACCOUNTS));
    expect(t.accountSid).to.equal(ACCOUNT);
    expect(t.apiKeySid).to.equal(KEY);
    expect(t.identity).to.equal('alice');
    expect(t.incoming).to.equal(true);
    expect(t.outgoingApplicationSid).to.equal(APP);
    expect(t.outgoingParams).to.deep.equal({ foo: 'bar' });
    expect(t.expiresAt).to.be.within(before + 600, before + 602);
    expect(t.jti).to.match(new RegExp(`^${KEY}-\\d+$`));
  });

  it('twilio tokens signed with HS384 and HS512, or carrying a region (twr) header, verify too', () => {
    expect(
      accepted(verifyAccessToken(twilioToken({ algorithm: 'HS384' }), ACCOUNTS)).identity,
    ).to.equal('alice');
    expect(
      accepted(verifyAccessToken(twilioToken({ algorithm: 'HS512' }), ACCOUNTS)).identity,
    ).to.equal('alice');
    const withRegion = twilioToken({ region: 'ie1' });
    expect(decode(withRegion).header['twr']).to.equal('ie1');
    expect(accepted(verifyAccessToken(withRegion, ACCOUNTS)).incoming).to.equal(true);
  });

  it('a twilio token is refused when signed with a secret the config does not have, expired, or not yet valid', () => {
    const wrong = verifyAccessToken(twilioToken({ secret: 'not-the-configured-secret' }), ACCOUNTS);
    expect(wrong.ok).to.equal(false);
    if (!wrong.ok) expect(wrong.reason).to.match(/signature does not verify/);

    const later = Math.floor(Date.now() / 1000) + 600 + 31;
    const expired = verifyAccessToken(twilioToken(), ACCOUNTS, { now: later });
    expect(expired.ok).to.equal(false);
    if (!expired.ok) expect(expired.reason).to.match(/token expired/);

    const early = verifyAccessToken(
      twilioToken({ nbf: Math.floor(Date.now() / 1000) + 300 }),
      ACCOUNTS,
    );
    expect(early.ok).to.equal(false);
    if (!early.ok) expect(early.reason).to.match(/not yet valid/);
  });

  it("our tokens have the same header and claim shape as twilio's", () => {
    const theirs = decode(twilioToken());
    const now = theirs.payload['iat'] as number;
    const ours = decode(
      mintAccessToken({
        accountSid: ACCOUNT,
        apiKeySid: KEY,
        apiKeySecret: SECRET,
        identity: 'alice',
        incoming: true,
        outgoingApplicationSid: APP,
        outgoingParams: { foo: 'bar' },
        ttl: 600,
        now,
      }),
    );
    expect(ours.header).to.deep.equal({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
    expect(ours.header).to.deep.equal(theirs.header);
    expect(Object.keys(ours.payload).sort()).to.deep.equal(Object.keys(theirs.payload).sort());
    expect(Object.keys(ours.payload).sort()).to.deep.equal([
      'exp',
      'grants',
      'iat',
      'iss',
      'jti',
      'sub',
    ]);
    // Same values too, claim by claim: both were made at the same second.
    expect(ours.payload).to.deep.equal(theirs.payload);
    expect(ours.payload['grants']).to.deep.equal({
      identity: 'alice',
      voice: {
        incoming: { allow: true },
        outgoing: { application_sid: APP, params: { foo: 'bar' } },
      },
    });
    expect(ours.payload['exp']).to.equal(now + 600);
  });

  it('incoming-only grants have the same structure in both', () => {
    const t = new AccessToken(ACCOUNT, KEY, SECRET, { identity: 'bob', ttl: 600 });
    t.addGrant(new VoiceGrant({ incomingAllow: true }));
    const theirs = decode(t.toJwt());
    const ours = decode(
      mintAccessToken({
        accountSid: ACCOUNT,
        apiKeySid: KEY,
        apiKeySecret: SECRET,
        identity: 'bob',
        incoming: true,
        ttl: 600,
        now: theirs.payload['iat'] as number,
      }),
    );
    expect(ours.payload['grants']).to.deep.equal(theirs.payload['grants']);
    expect(ours.payload['grants']).to.deep.equal({
      identity: 'bob',
      voice: { incoming: { allow: true } },
    });
  });

  it('a token we mint verifies with the same fields as the equivalent twilio token', () => {
    const fromTwilio = accepted(verifyAccessToken(twilioToken(), ACCOUNTS));
    const ours = accepted(
      verifyAccessToken(
        mintAccessToken({
          accountSid: ACCOUNT,
          apiKeySid: KEY,
          apiKeySecret: SECRET,
          identity: 'alice',
          incoming: true,
          outgoingApplicationSid: APP,
          outgoingParams: { foo: 'bar' },
          ttl: 600,
        }),
        ACCOUNTS,
      ),
    );
    // Everything but the time-dependent expiresAt and jti.
    const fields = (t: VerifiedToken) => ({ ...t, expiresAt: 0, jti: '' });
    expect(fields(ours)).to.deep.equal(fields(fromTwilio));
    expect(ours.jti).to.match(new RegExp(`^${KEY}-\\d+$`));
  });
});
