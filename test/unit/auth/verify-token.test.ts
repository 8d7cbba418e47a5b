/** Access-token verification (CONTRACT §3, §4): algorithm allow-list, issuer key of the account in `sub`, time claims, grants. */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { mintAccessToken } from '../../../src/auth/access-token.js';
import {
  verifyAccessToken,
  type TokenVerdict,
  type VerifiedToken,
} from '../../../src/auth/verify-token.js';

const NOW = 1_800_000_000;

const ACCOUNT_A = 'AC0123456789abcdef0123456789abcdef';
const KEY_A1 = 'SK0123456789abcdef0123456789abcdef';
const SECRET_A1 = 'secret-of-key-a1-0123456789';
const KEY_A2 = 'SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const SECRET_A2 = 'secret-of-key-a2-abcdefghij';
const ACCOUNT_B = 'ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const KEY_B1 = 'SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const SECRET_B1 = 'secret-of-key-b1-klmnopqrst';
const APP = 'AP0123456789abcdef0123456789abcdef';
const SECRETS = [SECRET_A1, SECRET_A2, SECRET_B1];

const ACCOUNTS = [
  {
    sid: ACCOUNT_A,
    apiKeys: [
      { sid: KEY_A1, secret: SECRET_A1 },
      { sid: KEY_A2, secret: SECRET_A2 },
    ],
  },
  { sid: ACCOUNT_B, apiKeys: [{ sid: KEY_B1, secret: SECRET_B1 }] },
];

const TWILIO_HEADER = { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' };

function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString(
    'base64url',
  );
}

/** A token built by hand: any header, any payload, HMAC-signed with `secret` (or unsigned). */
function build(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: string | null,
  hash = 'sha256',
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (secret === null) return `${input}.`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    jti: `${KEY_A1}-${NOW}`,
    iss: KEY_A1,
    sub: ACCOUNT_A,
    iat: NOW,
    exp: NOW + 600,
    grants: { identity: 'alice', voice: { incoming: { allow: true } } },
    ...over,
  };
}

function mint(over: Partial<Parameters<typeof mintAccessToken>[0]> = {}): string {
  return mintAccessToken({
    accountSid: ACCOUNT_A,
    apiKeySid: KEY_A1,
    apiKeySecret: SECRET_A1,
    identity: 'alice',
    incoming: true,
    now: NOW,
    ...over,
  });
}

function verify(
  token: string,
  options: { now?: number; clockToleranceSeconds?: number } = {},
): TokenVerdict {
  return verifyAccessToken(token, ACCOUNTS, { now: NOW, ...options });
}

function accepted(verdict: TokenVerdict): VerifiedToken {
  if (!verdict.ok) throw new Error(`token refused: ${verdict.reason}`);
  return verdict.token;
}

function refused(verdict: TokenVerdict, reason: RegExp): void {
  expect(verdict.ok, 'verdict').to.equal(false);
  if (verdict.ok) return;
  expect(verdict.reason).to.match(reason);
  for (const s of SECRETS) expect(verdict.reason).to.not.include(s);
}

describe('verifyAccessToken', () => {
  describe('accepts', () => {
    it('a token minted by mintAccessToken, with every field', () => {
      const token = mint({
        outgoingApplicationSid: APP,
        outgoingParams: { foo: 'bar', team: 'blue' },
        ttl: 900,
      });
      const t = accepted(verify(token));
      expect(t).to.deep.equal({
        accountSid: ACCOUNT_A,
        apiKeySid: KEY_A1,
        identity: 'alice',
        incoming: true,
        outgoingApplicationSid: APP,
        outgoingParams: { foo: 'bar', team: 'blue' },
        expiresAt: NOW + 900,
        jti: `${KEY_A1}-${NOW}`,
      });
    });

    it('incoming false, no application and {} params when the voice grant is absent', () => {
      const t = accepted(verify(mint({ incoming: false })));
      expect(t.incoming).to.equal(false);
      expect(t.outgoingApplicationSid).to.equal(null);
      expect(t.outgoingParams).to.deep.equal({});
    });

    it('incoming false when incoming.allow is not exactly true', () => {
      const t = accepted(
        verify(
          build(
            TWILIO_HEADER,
            claims({ grants: { identity: 'alice', voice: { incoming: { allow: 'yes' } } } }),
            SECRET_A1,
          ),
        ),
      );
      expect(t.incoming).to.equal(false);
    });

    it('an outgoing grant with params, keeping only string values', () => {
      const grants = {
        identity: 'bob',
        voice: {
          outgoing: {
            application_sid: APP,
            params: { foo: 'bar', n: 3, flag: true, nested: { a: 'b' }, empty: '' },
          },
        },
      };
      const t = accepted(verify(build(TWILIO_HEADER, claims({ grants }), SECRET_A1)));
      expect(t.identity).to.equal('bob');
      expect(t.incoming).to.equal(false);
      expect(t.outgoingApplicationSid).to.equal(APP);
      expect(t.outgoingParams).to.deep.equal({ foo: 'bar', empty: '' });
    });

    it('a "__proto__" param as a plain key, without touching prototypes', () => {
      const payloadJson = JSON.stringify(
        claims({
          grants: { identity: 'bob', voice: { outgoing: { application_sid: APP, params: {} } } },
        }),
      ).replace('"params":{}', '"params":{"__proto__":"x","ok":"y"}');
      const input = `${b64(TWILIO_HEADER)}.${b64(payloadJson)}`;
      const token = `${input}.${createHmac('sha256', SECRET_A1).update(input).digest('base64url')}`;
      const t = accepted(verify(token));
      expect(Object.getPrototypeOf(t.outgoingParams)).to.equal(Object.prototype);
      expect(Object.keys(t.outgoingParams).sort()).to.deep.equal(['__proto__', 'ok']);
      expect(t.outgoingParams['ok']).to.equal('y');
    });

    it("a token signed with the account's second API key", () => {
      const t = accepted(verify(mint({ apiKeySid: KEY_A2, apiKeySecret: SECRET_A2 })));
      expect(t.apiKeySid).to.equal(KEY_A2);
      expect(t.accountSid).to.equal(ACCOUNT_A);
    });

    it('a token of the second account', () => {
      const t = accepted(
        verify(
          mint({
            accountSid: ACCOUNT_B,
            apiKeySid: KEY_B1,
            apiKeySecret: SECRET_B1,
            identity: 'carol',
          }),
        ),
      );
      expect(t.accountSid).to.equal(ACCOUNT_B);
      expect(t.identity).to.equal('carol');
    });

    for (const [alg, hash] of [
      ['HS384', 'sha384'],
      ['HS512', 'sha512'],
    ] as const) {
      it(`${alg}, which Twilio's helpers may also use`, () => {
        const t = accepted(verify(build({ ...TWILIO_HEADER, alg }, claims(), SECRET_A1, hash)));
        expect(t.identity).to.equal('alice');
      });
    }

    it('a token without cty (cty is only checked when present)', () => {
      expect(
        accepted(verify(build({ alg: 'HS256', typ: 'JWT' }, claims(), SECRET_A1))).identity,
      ).to.equal('alice');
    });

    it('a token without jti, giving jti null', () => {
      const c = claims();
      delete c['jti'];
      expect(accepted(verify(build(TWILIO_HEADER, c, SECRET_A1))).jti).to.equal(null);
    });

    it('an identity of exactly 121 characters', () => {
      const identity = 'a'.repeat(121);
      expect(
        accepted(verify(build(TWILIO_HEADER, claims({ grants: { identity } }), SECRET_A1)))
          .identity,
      ).to.equal(identity);
    });

    it('a just-expired token within the clock tolerance (default 30 s)', () => {
      const token = mint({ now: NOW - 610, ttl: 600 }); // exp = NOW - 10
      expect(accepted(verify(token)).expiresAt).to.equal(NOW - 10);
      expect(accepted(verify(mint({ now: NOW - 629, ttl: 600 }))).expiresAt).to.equal(NOW - 29);
    });

    it('an nbf a few seconds ahead, within the clock tolerance', () => {
      expect(
        accepted(verify(build(TWILIO_HEADER, claims({ nbf: NOW + 10 }), SECRET_A1))).identity,
      ).to.equal('alice');
    });

    it('without options, against the current clock', () => {
      const t = verifyAccessToken(
        mintAccessToken({
          accountSid: ACCOUNT_A,
          apiKeySid: KEY_A1,
          apiKeySecret: SECRET_A1,
          identity: 'alice',
        }),
        ACCOUNTS,
      );
      expect(accepted(t).identity).to.equal('alice');
    });
  });

  describe('refuses', () => {
    it('no token', () => {
      refused(verify(''), /no token/);
      refused(verifyAccessToken(undefined as unknown as string, ACCOUNTS), /no token/);
      refused(verifyAccessToken(null as unknown as string, ACCOUNTS), /no token/);
      refused(verifyAccessToken(42 as unknown as string, ACCOUNTS), /no token/);
    });

    it('garbage', () => {
      refused(verify('garbage'), /malformed token/);
      refused(verify('not.a.jwt'), /malformed token/);
      refused(verify('..'), /malformed token/);
      refused(verify('a'.repeat(10_000)), /malformed token/);
    });

    it('a token of 2 or 4 parts', () => {
      const [h, p, s] = mint().split('.');
      refused(verify(`${h}.${p}`), /malformed token.*2 parts/);
      refused(verify(`${h}.${p}.${s}.${s}`), /malformed token.*4 parts/);
    });

    it('a header or payload that is not JSON, or not an object', () => {
      const good = mint().split('.');
      refused(verify(`${b64('{nope')}.${good[1]}.${good[2]}`), /malformed token.*header/);
      refused(verify(`${b64([1, 2])}.${good[1]}.${good[2]}`), /malformed token.*header/);
      refused(verify(`${good[0]}.${b64('"alice"')}.${good[2]}`), /malformed token.*payload/);
      refused(verify(`${good[0]}.${good[1]}!.${good[2]}`), /malformed token.*payload/);
      refused(verify(`${good[0]}.${good[1]}.${good[2]}*`), /malformed token.*signature/);
    });

    it('a bad signature (signed with another secret)', () => {
      refused(
        verify(mint({ apiKeySecret: 'some-other-secret-0000000' })),
        /signature does not verify/,
      );
    });

    it('a token whose issuer is one key of the account but signed with the secret of its other key', () => {
      refused(
        verify(mint({ apiKeySid: KEY_A1, apiKeySecret: SECRET_A2 })),
        /signature does not verify/,
      );
      refused(
        verify(mint({ apiKeySid: KEY_A2, apiKeySecret: SECRET_A1 })),
        /signature does not verify/,
      );
    });

    it('a payload changed after signing', () => {
      const [h, , s] = mint({ identity: 'alice' }).split('.');
      refused(
        verify(
          `${h}.${b64(claims({ grants: { identity: 'mallory', voice: { incoming: { allow: true } } } }))}.${s}`,
        ),
        /signature does not verify/,
      );
    });

    it('an unknown API key', () => {
      const unknown = 'SKffffffffffffffffffffffffffffffff';
      refused(verify(mint({ apiKeySid: unknown })), new RegExp(`unknown API key ${unknown}`));
    });

    it('a key of another account (sub mismatch), with the same reason as an unknown key', () => {
      // Key B1 is valid and signs correctly, but it belongs to account B, not to A named in sub.
      refused(
        verify(mint({ accountSid: ACCOUNT_A, apiKeySid: KEY_B1, apiKeySecret: SECRET_B1 })),
        new RegExp(`unknown API key ${KEY_B1} for account ${ACCOUNT_A}`),
      );
      refused(
        verify(mint({ accountSid: ACCOUNT_B, apiKeySid: KEY_A1, apiKeySecret: SECRET_A1 })),
        new RegExp(`unknown API key ${KEY_A1} for account ${ACCOUNT_B}`),
      );
    });

    it('an unknown account', () => {
      const unknown = 'ACffffffffffffffffffffffffffffffff';
      refused(verify(mint({ accountSid: unknown })), new RegExp(`unknown account ${unknown}`));
      refused(verifyAccessToken(mint(), [], { now: NOW }), /unknown account/);
    });

    it('sub or iss that are not SIDs', () => {
      refused(
        verify(build(TWILIO_HEADER, claims({ sub: 'alice' }), SECRET_A1)),
        /sub must be an account SID/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ sub: undefined }), SECRET_A1)),
        /sub must be an account SID/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ iss: ACCOUNT_A }), SECRET_A1)),
        /iss must be an API key SID/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ iss: KEY_A1.toUpperCase() }), SECRET_A1)),
        /iss must be an API key SID/,
      );
    });

    it('an expired token, beyond the clock tolerance', () => {
      refused(verify(mint({ now: NOW - 1000, ttl: 600 })), /token expired/); // exp = NOW - 400
      refused(verify(mint({ now: NOW - 630, ttl: 600 })), /token expired/); // exp = NOW - 30: the tolerance is exclusive
      refused(
        verify(mint({ now: NOW - 610, ttl: 600 }), { clockToleranceSeconds: 0 }),
        /token expired/,
      );
      refused(
        verify(mint({ now: NOW - 600, ttl: 600 }), { clockToleranceSeconds: 0 }),
        /token expired/,
      ); // exp = NOW
    });

    it('a token whose nbf is in the future', () => {
      refused(verify(build(TWILIO_HEADER, claims({ nbf: NOW + 120 }), SECRET_A1)), /not yet valid/);
      refused(
        verify(build(TWILIO_HEADER, claims({ nbf: NOW + 10 }), SECRET_A1), {
          clockToleranceSeconds: 0,
        }),
        /not yet valid/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ nbf: 'soon' }), SECRET_A1)),
        /nbf is not a number/,
      );
    });

    it('a token without exp, or with an exp that is not a number', () => {
      const c = claims();
      delete c['exp'];
      refused(verify(build(TWILIO_HEADER, c, SECRET_A1)), /missing exp/);
      refused(
        verify(
          jwt.sign({ iss: KEY_A1, sub: ACCOUNT_A, grants: { identity: 'alice' } }, SECRET_A1, {
            header: TWILIO_HEADER,
            noTimestamp: true,
          }),
        ),
        /missing exp/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ exp: String(NOW + 600) }), SECRET_A1)),
        /exp is not a number/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ exp: null }), SECRET_A1)),
        /exp is not a number/,
      );
    });

    it('alg none (an unsigned token header.payload.)', () => {
      refused(
        verify(build({ alg: 'none', typ: 'JWT' }, claims(), null)),
        /algorithm none is not allowed/,
      );
      refused(
        verify(build({ alg: 'None', typ: 'JWT' }, claims(), null)),
        /algorithm None is not allowed/,
      );
      refused(
        verify(build({ alg: 'NONE', typ: 'JWT', cty: 'twilio-fpa;v=1' }, claims(), null)),
        /algorithm NONE is not allowed/,
      );
      // none, even with something in the signature part
      refused(verify(build({ alg: 'none' }, claims(), SECRET_A1)), /algorithm none is not allowed/);
    });

    it('an HS256 header without a signature', () => {
      refused(verify(build(TWILIO_HEADER, claims(), null)), /not signed/);
    });

    it('RS256 and ES256 tokens, even correctly signed', () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const rs = jwt.sign(claims(), rsa.privateKey, {
        algorithm: 'RS256',
        header: { ...TWILIO_HEADER, alg: 'RS256' },
      });
      refused(verify(rs), /algorithm RS256 is not allowed/);
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const es = jwt.sign(claims(), ec.privateKey, {
        algorithm: 'ES256',
        header: { ...TWILIO_HEADER, alg: 'ES256' },
      });
      refused(verify(es), /algorithm ES256 is not allowed/);
      // The classic confusion: an RS256 header over an HMAC made with the key secret.
      refused(
        verify(build({ ...TWILIO_HEADER, alg: 'RS256' }, claims(), SECRET_A1)),
        /algorithm RS256 is not allowed/,
      );
    });

    it('a header without alg, or with an odd one, naming it safely', () => {
      refused(verify(build({ typ: 'JWT' }, claims(), SECRET_A1)), /no alg/);
      refused(verify(build({ alg: 256 }, claims(), SECRET_A1)), /no alg/);
      refused(
        verify(build({ alg: 'hs256' }, claims(), SECRET_A1)),
        /algorithm hs256 is not allowed/,
      );
      const verdict = verify(build({ alg: 'HS256\r\nX: y' }, claims(), SECRET_A1));
      refused(verdict, /^algorithm ".*" is not allowed$/);
      if (!verdict.ok) expect(verdict.reason).to.not.match(/[\r\n]/);
    });

    it('a wrong cty', () => {
      refused(
        verify(build({ ...TWILIO_HEADER, cty: 'twilio-fpa;v=2' }, claims(), SECRET_A1)),
        /cty must be twilio-fpa;v=1/,
      );
      refused(verify(build({ ...TWILIO_HEADER, cty: 'JWT' }, claims(), SECRET_A1)), /cty/);
      refused(verify(build({ ...TWILIO_HEADER, cty: null }, claims(), SECRET_A1)), /cty/);
    });

    it('a critical header extension', () => {
      refused(verify(build({ ...TWILIO_HEADER, crit: ['exp'] }, claims(), SECRET_A1)), /critical/);
    });

    it('a missing, empty, too long or non-string identity', () => {
      refused(
        verify(
          build(
            TWILIO_HEADER,
            claims({ grants: { voice: { incoming: { allow: true } } } }),
            SECRET_A1,
          ),
        ),
        /missing identity/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ grants: { identity: '' } }), SECRET_A1)),
        /missing identity/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ grants: { identity: 7 } }), SECRET_A1)),
        /missing identity/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ grants: { identity: 'a'.repeat(122) } }), SECRET_A1)),
        /identity longer than 121/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ grants: undefined }), SECRET_A1)),
        /missing grants/,
      );
      refused(verify(build(TWILIO_HEADER, claims({ grants: 'all' }), SECRET_A1)), /missing grants/);
    });

    it('an identity with control characters (it ends up in SIP headers and logs)', () => {
      refused(
        verify(
          build(TWILIO_HEADER, claims({ grants: { identity: 'alice\r\nVia: evil' } }), SECRET_A1),
        ),
        /control characters/,
      );
      refused(
        verify(build(TWILIO_HEADER, claims({ grants: { identity: 'a\u0000b' } }), SECRET_A1)),
        /control characters/,
      );
    });

    it('an API key with an empty secret, without throwing', () => {
      const accounts = [{ sid: ACCOUNT_A, apiKeys: [{ sid: KEY_A1, secret: '' }] }];
      refused(verifyAccessToken(mint(), accounts, { now: NOW }), /no usable secret/);
    });

    it('after the configured secret of a key changes (no stale cached key)', () => {
      const apiKey = { sid: KEY_A1, secret: SECRET_A1 };
      const accounts = [{ sid: ACCOUNT_A, apiKeys: [apiKey] }];
      expect(verifyAccessToken(mint(), accounts, { now: NOW }).ok).to.equal(true);
      apiKey.secret = SECRET_A2;
      refused(verifyAccessToken(mint(), accounts, { now: NOW }), /signature does not verify/);
      expect(
        verifyAccessToken(mint({ apiKeySecret: SECRET_A2 }), accounts, { now: NOW }).ok,
      ).to.equal(true);
    });
  });

  describe('properties', () => {
    it('never throws and never accepts an arbitrary string', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), (s) => {
          const v = verify(s);
          expect(v.ok).to.equal(false);
        }),
        { numRuns: 500 },
      );
    });

    it('never throws and never accepts three arbitrary base64url parts', () => {
      const part = fc.string({ maxLength: 200 }).map((s) => Buffer.from(s).toString('base64url'));
      fc.assert(
        fc.property(part, part, part, (h, p, s) => {
          expect(verify(`${h}.${p}.${s}`).ok).to.equal(false);
        }),
        { numRuns: 500 },
      );
    });

    it('refuses every one-character change of a valid token', () => {
      const token = mint({ outgoingApplicationSid: APP, outgoingParams: { foo: 'bar' } });
      expect(verify(token).ok).to.equal(true);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
      fc.assert(
        fc.property(
          fc.nat({ max: token.length - 1 }),
          fc.nat({ max: alphabet.length - 1 }),
          (i, j) => {
            const c = alphabet[j] as string;
            fc.pre(token[i] !== c);
            const changed = token.slice(0, i) + c + token.slice(i + 1);
            expect(verify(changed).ok, changed).to.equal(false);
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('verifies thousands of tokens quickly (one HMAC each)', () => {
      const token = mint();
      const n = 5000;
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) if (!verify(token).ok) throw new Error('refused');
      const perCallUs = Number(process.hrtime.bigint() - start) / 1000 / n;
      // Generous bound: typical is ~10-20 µs; a regression to per-call PEM parsing or key scans shows here.
      expect(perCallUs).to.be.below(200);
    });
  });
});
