/** SIP Digest, server side: header parsing, challenges, response checks, nonce lifetime and replay, throttle. */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import {
  AuthThrottle,
  DigestAuthenticator,
  digestResponse,
  parseAuthorization,
  sameResource,
  type DigestResult,
} from '../../../src/auth/digest.js';
import { NonceCodec } from '../../../src/auth/digest-nonce.js';

const REALM = 'acme.sip.localhost';
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const USERS: Record<string, string> = { bob: 'bob-secret', ålice: 'pässword' };

/** Test clock: starts at a fixed time, moved by hand. */
class Clock {
  t = 1_700_000_000_000;
  now = (): number => this.t;
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

function md5(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}
function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

interface Challenge {
  nonce: string;
  opaque: string;
}

function authenticator(clock = new Clock(), extra: { maxTrackedNonces?: number } = {}) {
  return new DigestAuthenticator({ realm: REALM, secret: SECRET, now: clock.now, ...extra });
}

/** Reads nonce and opaque from the first challenge, checking it parses. */
function challengeOf(a: DigestAuthenticator): Challenge {
  const first = a.challenges()[0];
  if (first === undefined) throw new Error('no challenge');
  const c = parseAuthorization(first);
  if (c === null) throw new Error('challenge does not parse');
  const nonce = c.params.get('nonce');
  const opaque = c.params.get('opaque');
  if (nonce === undefined || opaque === undefined) throw new Error('challenge lacks nonce/opaque');
  return { nonce, opaque };
}

interface ClientOpts {
  algorithm?: 'MD5' | 'SHA-256';
  username?: string;
  password?: string;
  realm?: string;
  method?: string;
  uri?: string;
  nc?: string;
  cnonce?: string;
  noQop?: boolean;
}

/**
 * What a UA sends: the response computed here, independently of the module
 * (RFC 7616 §3.4.1), as the params map parseAuthorization would give.
 */
function clientParams(ch: Challenge, o: ClientOpts = {}): Map<string, string> {
  const algorithm = o.algorithm ?? 'MD5';
  const H = algorithm === 'MD5' ? md5 : sha256;
  const username = o.username ?? 'bob';
  const realm = o.realm ?? REALM;
  const password = o.password ?? USERS[username] ?? 'x';
  const uri = o.uri ?? `sip:${REALM}`;
  const nc = o.nc ?? '00000001';
  const cnonce = o.cnonce ?? '6b8b4567';
  const ha1 = H(`${username}:${realm}:${password}`);
  const ha2 = H(`${o.method ?? 'REGISTER'}:${uri}`);
  const p = new Map<string, string>([
    ['username', username],
    ['realm', realm],
    ['nonce', ch.nonce],
    ['uri', uri],
    ['algorithm', algorithm],
    ['opaque', ch.opaque],
  ]);
  if (o.noQop === true) {
    p.set('response', H(`${ha1}:${ch.nonce}:${ha2}`));
  } else {
    p.set('response', H(`${ha1}:${ch.nonce}:${nc}:${cnonce}:auth:${ha2}`));
    p.set('qop', 'auth');
    p.set('nc', nc);
    p.set('cnonce', cnonce);
  }
  return p;
}

function verify(
  a: DigestAuthenticator,
  params: Map<string, string>,
  method = 'REGISTER',
): DigestResult {
  return a.verify({ method, authorization: params, password: (u) => USERS[u] ?? null });
}

function expectFailure(r: DigestResult, kind: string, reason?: RegExp): void {
  expect(r.ok, JSON.stringify(r)).to.equal(false);
  if (r.ok) return;
  expect(r.kind, r.reason).to.equal(kind);
  if (reason !== undefined) expect(r.reason).to.match(reason);
}

describe('SIP Digest authentication', () => {
  describe('digestResponse: worked examples', () => {
    it('RFC 2617 §3.5 (MD5, qop=auth)', () => {
      const r = digestResponse({
        algorithm: 'MD5',
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      });
      expect(r).to.equal('6629fae49393a05397450978507c4ef1');
    });

    const rfc7616 = {
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      password: 'Circle of Life',
      method: 'GET',
      uri: '/dir/index.html',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      qop: 'auth' as const,
      nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    };

    it('RFC 7616 §3.9.1 with MD5', () => {
      expect(digestResponse({ ...rfc7616, algorithm: 'MD5' })).to.equal(
        '8ca523f5e9506fed4657c9700eebdbec',
      );
    });

    it('RFC 7616 §3.9.1 with SHA-256', () => {
      expect(digestResponse({ ...rfc7616, algorithm: 'SHA-256' })).to.equal(
        '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
      );
    });

    it('RFC 2069 form without qop: H(HA1:nonce:HA2)', () => {
      const ha1 = md5('bob:r:pw');
      const ha2 = md5('REGISTER:sip:r');
      const r = digestResponse({
        algorithm: 'MD5',
        username: 'bob',
        realm: 'r',
        password: 'pw',
        method: 'REGISTER',
        uri: 'sip:r',
        nonce: 'n',
      });
      expect(r).to.equal(md5(`${ha1}:n:${ha2}`));
    });
  });

  describe('challenges()', () => {
    it('gives MD5 then SHA-256, with realm, nonce, opaque and qop="auth"', () => {
      const values = authenticator().challenges();
      expect(values).to.have.length(2);
      const [md5c, shac] = values.map((v) => parseAuthorization(v));
      expect(md5c?.scheme).to.equal('Digest');
      expect(shac?.scheme).to.equal('Digest');
      expect(md5c?.params.get('algorithm')).to.equal('MD5');
      expect(shac?.params.get('algorithm')).to.equal('SHA-256');
      for (const c of [md5c, shac]) {
        expect(c?.params.get('realm')).to.equal(REALM);
        expect(c?.params.get('qop')).to.equal('auth');
        expect(c?.params.get('nonce')).to.match(/^[A-Za-z0-9_-]{20,}$/);
        expect(c?.params.get('opaque')).to.match(/^[A-Za-z0-9_-]+$/);
        expect(c?.params.has('stale')).to.equal(false);
      }
      expect(shac?.params.get('nonce')).to.equal(md5c?.params.get('nonce'));
      expect(values[0]).to.match(
        /^Digest realm="acme\.sip\.localhost", nonce="[^"]+", opaque="[^"]+", algorithm=MD5, qop="auth"$/,
      );
      expect(values[1]).to.match(/, algorithm=SHA-256, qop="auth"$/);
    });

    it('adds stale=true when asked', () => {
      const values = authenticator().challenges({ stale: true });
      expect(values).to.have.length(2);
      for (const v of values) {
        expect(v).to.match(/, stale=true$/);
        expect(parseAuthorization(v)?.params.get('stale')).to.equal('true');
      }
    });

    it('issues a different nonce each time', () => {
      const a = authenticator();
      expect(challengeOf(a).nonce).to.not.equal(challengeOf(a).nonce);
    });

    it('quotes a realm with a quote or backslash', () => {
      const a = new DigestAuthenticator({ realm: 'a"b\\c', secret: SECRET });
      const v = a.challenges()[0] as string;
      expect(v).to.include('realm="a\\"b\\\\c"');
      expect(parseAuthorization(v)?.params.get('realm')).to.equal('a"b\\c');
    });
  });

  describe('verify()', () => {
    it('accepts a correct MD5 response', () => {
      const a = authenticator();
      expect(verify(a, clientParams(challengeOf(a)))).to.deep.equal({ ok: true, username: 'bob' });
    });

    it('accepts a correct SHA-256 response (RFC 8760)', () => {
      const a = authenticator();
      const r = verify(a, clientParams(challengeOf(a), { algorithm: 'SHA-256' }));
      expect(r).to.deep.equal({ ok: true, username: 'bob' });
    });

    it('takes MD5 when algorithm is absent, and algorithm names case-insensitively', () => {
      const a = authenticator();
      const p = clientParams(challengeOf(a));
      p.delete('algorithm');
      expect(verify(a, p).ok).to.equal(true);
      const q = clientParams(challengeOf(a), { algorithm: 'SHA-256' });
      q.set('algorithm', 'sha-256');
      expect(verify(a, q).ok).to.equal(true);
    });

    it('accepts a UTF-8 username and password, and any method and uri', () => {
      const a = authenticator();
      const p = clientParams(challengeOf(a), {
        username: 'ålice',
        method: 'INVITE',
        uri: 'sip:carol@acme;transport=tcp',
      });
      expect(verify(a, p, 'INVITE')).to.deep.equal({ ok: true, username: 'ålice' });
    });

    it('accepts an upper-case hex response', () => {
      const a = authenticator();
      const p = clientParams(challengeOf(a));
      p.set('response', (p.get('response') as string).toUpperCase());
      expect(verify(a, p).ok).to.equal(true);
    });

    it('refuses a response made for another method', () => {
      const a = authenticator();
      expectFailure(verify(a, clientParams(challengeOf(a)), 'INVITE'), 'invalid');
    });

    it('wrong password → invalid', () => {
      const a = authenticator();
      const r = verify(a, clientParams(challengeOf(a), { password: 'guess' }));
      expectFailure(r, 'invalid', /credentials do not match/);
    });

    it('unknown user → invalid with the identical reason, password() still asked', () => {
      const a = authenticator();
      const wrongPw = verify(a, clientParams(challengeOf(a), { password: 'guess' }));
      const asked: string[] = [];
      const unknown = a.verify({
        method: 'REGISTER',
        authorization: clientParams(challengeOf(a), { username: 'mallory', password: 'guess' }),
        password: (u) => {
          asked.push(u);
          return null;
        },
      });
      expectFailure(unknown, 'invalid');
      expect(unknown).to.deep.equal(wrongPw);
      expect(asked).to.deep.equal(['mallory']);
    });

    // Defence in depth: even a response that happened to match the stand-in
    // password used for unknown users (here the empty one) must not pass.
    it('unknown user is refused whatever response is sent', () => {
      const a = authenticator();
      const r = a.verify({
        method: 'REGISTER',
        authorization: clientParams(challengeOf(a), { username: 'nobody', password: '' }),
        password: () => null,
      });
      expectFailure(r, 'invalid', /credentials do not match/);
    });

    it('tampered nonce → invalid, even with a response computed over it', () => {
      const a = authenticator();
      const ch = challengeOf(a);
      const i = 5;
      const swapped = ch.nonce[i] === 'A' ? 'B' : 'A';
      const nonce = ch.nonce.slice(0, i) + swapped + ch.nonce.slice(i + 1);
      const r = verify(a, clientParams({ ...ch, nonce }));
      expectFailure(r, 'invalid', /nonce/);
    });

    it('nonces of another secret or another realm → invalid', () => {
      const a = authenticator();
      const other = new DigestAuthenticator({ realm: REALM, secret: Buffer.alloc(32, 7) });
      expectFailure(verify(a, clientParams(challengeOf(other))), 'invalid', /nonce/);
      const otherRealm = new DigestAuthenticator({ realm: 'other.example', secret: SECRET });
      expectFailure(verify(a, clientParams(challengeOf(otherRealm))), 'invalid', /nonce/);
    });

    it('a nonce that is not ours at all → invalid', () => {
      const a = authenticator();
      const ch = challengeOf(a);
      for (const nonce of [
        'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        ch.nonce + 'A',
        ch.nonce.slice(1),
        '',
      ]) {
        const p = clientParams({ ...ch, nonce });
        const r = verify(a, p);
        expectFailure(r, nonce === '' ? 'malformed' : 'invalid');
      }
    });

    it('expired nonce with a correct response → stale', () => {
      const clock = new Clock();
      const a = authenticator(clock);
      const ch = challengeOf(a);
      clock.advance(299);
      expect(verify(a, clientParams(ch)).ok).to.equal(true);
      clock.advance(2);
      expectFailure(verify(a, clientParams(ch, { nc: '00000002' })), 'stale', /expired/);
    });

    it('expired nonce with a wrong response → invalid, not stale', () => {
      const clock = new Clock();
      const a = authenticator(clock);
      const ch = challengeOf(a);
      clock.advance(301);
      expectFailure(verify(a, clientParams(ch, { password: 'guess' })), 'invalid');
    });

    it('honours nonceTtlSeconds', () => {
      const clock = new Clock();
      const a = new DigestAuthenticator({
        realm: REALM,
        secret: SECRET,
        now: clock.now,
        nonceTtlSeconds: 10,
      });
      const ch = challengeOf(a);
      clock.advance(11);
      expectFailure(verify(a, clientParams(ch)), 'stale');
    });

    it('a nonce from the future (clock went back past its lifetime) → stale', () => {
      const clock = new Clock();
      const a = authenticator(clock);
      const ch = challengeOf(a);
      clock.advance(-301);
      expectFailure(verify(a, clientParams(ch)), 'stale');
    });

    it('nonce-count replay → replay; a higher nc is accepted', () => {
      const a = authenticator();
      const ch = challengeOf(a);
      expect(verify(a, clientParams(ch, { nc: '00000001' })).ok).to.equal(true);
      expectFailure(verify(a, clientParams(ch, { nc: '00000001' })), 'replay', /00000001/);
      expect(verify(a, clientParams(ch, { nc: '00000002', cnonce: 'x' })).ok).to.equal(true);
      expectFailure(verify(a, clientParams(ch, { nc: '00000001', cnonce: 'y' })), 'replay');
      expect(verify(a, clientParams(ch, { nc: '0000000A' })).ok).to.equal(true);
      expectFailure(verify(a, clientParams(ch, { nc: '00000009' })), 'replay');
    });

    it('the digest uri must name the Request-URI (RFC 2617 §3.2.2.5); URI parameters do not matter', () => {
      const a = authenticator();
      const check = (params: Map<string, string>, requestUri: string) =>
        a.verify({ method: 'REGISTER', authorization: params, password: (u) => USERS[u] ?? null, uriMatches: (uri) => sameResource(uri, requestUri) });
      expect(check(clientParams(challengeOf(a)), `sip:${REALM}`).ok).to.equal(true);
      expect(check(clientParams(challengeOf(a)), `sip:${REALM.toUpperCase()};transport=tcp`).ok).to.equal(true);
      expect(check(clientParams(challengeOf(a)), `sip:${REALM}:5060`).ok).to.equal(true);
      expectFailure(check(clientParams(challengeOf(a)), 'sip:other.example'), 'invalid', /Request-URI/);
      expectFailure(check(clientParams(challengeOf(a)), `sip:alice@${REALM}`), 'invalid', /Request-URI/);
      expectFailure(check(clientParams(challengeOf(a)), `sips:${REALM}`), 'invalid', /Request-URI/);
      expectFailure(check(clientParams(challengeOf(a)), `sip:${REALM}:5080`), 'invalid', /Request-URI/);
    });

    it('a nonce issued before this authenticator existed is stale, not trusted (restart with a lasting secret)', () => {
      const clock = new Clock();
      const before = authenticator(clock);
      const old = challengeOf(before);
      clock.advance(1);
      const restarted = new DigestAuthenticator({ realm: REALM, secret: SECRET, now: clock.now });
      expectFailure(verify(restarted, clientParams(old)), 'stale', /no longer tracked/);
      expect(verify(restarted, clientParams(challengeOf(restarted))).ok).to.equal(true);
    });

    it('verifyShared: the nonce-count lives in the shared counter, not in the process', async () => {
      const seen = new Map<string, number>();
      const counter = {
        advance: async (realm: string, nonce: string, _issuedAt: number, nc: number) => {
          const k = `${realm}|${nonce}`;
          if ((seen.get(k) ?? 0) >= nc) return 'replay' as const;
          seen.set(k, nc);
          return 'ok' as const;
        },
      };
      const nodeA = authenticator();
      const nodeB = authenticator();
      const ch = challengeOf(nodeA);
      const input = (params: Map<string, string>) => ({ method: 'REGISTER', authorization: params, password: (u: string) => USERS[u] ?? null });
      expect((await nodeA.verifyShared(input(clientParams(ch)), counter)).ok).to.equal(true);
      expectFailure(await nodeB.verifyShared(input(clientParams(ch)), counter), 'replay');
      expect((await nodeB.verifyShared(input(clientParams(ch, { nc: '00000002' })), counter)).ok).to.equal(true);
      expect(seen.size).to.equal(1);
    });

    it('a failed attempt does not advance the nonce-count', () => {
      const a = authenticator();
      const ch = challengeOf(a);
      expectFailure(verify(a, clientParams(ch, { nc: 'ffffffff', password: 'guess' })), 'invalid');
      expect(verify(a, clientParams(ch, { nc: '00000001' })).ok).to.equal(true);
    });

    it('wrong realm → invalid', () => {
      const a = authenticator();
      const r = verify(a, clientParams(challengeOf(a), { realm: 'evil.example' }));
      expectFailure(r, 'invalid', /realm/);
    });

    it('opaque must match when sent; may be left out', () => {
      const a = authenticator();
      const p = clientParams(challengeOf(a));
      p.set('opaque', 'something-else');
      expectFailure(verify(a, p), 'invalid', /opaque/);
      const q = clientParams(challengeOf(a));
      q.delete('opaque');
      expect(verify(a, q).ok).to.equal(true);
    });

    for (const field of ['username', 'realm', 'nonce', 'uri', 'response']) {
      it(`missing ${field} → malformed`, () => {
        const a = authenticator();
        const p = clientParams(challengeOf(a));
        p.delete(field);
        expectFailure(verify(a, p), 'malformed', new RegExp(field));
      });
    }

    for (const field of ['nc', 'cnonce']) {
      it(`qop=auth without ${field} → malformed`, () => {
        const a = authenticator();
        const p = clientParams(challengeOf(a));
        p.delete(field);
        expectFailure(verify(a, p), 'malformed', new RegExp(field));
      });
    }

    for (const nc of ['1', '000000001', '0000000g', '00000000']) {
      it(`nc=${nc} → malformed`, () => {
        const a = authenticator();
        expectFailure(verify(a, clientParams(challengeOf(a), { nc })), 'malformed', /nc/);
      });
    }

    for (const algorithm of ['MD5-sess', 'SHA-256-sess', 'md5-SESS']) {
      it(`algorithm=${algorithm} → malformed`, () => {
        const a = authenticator();
        const p = clientParams(challengeOf(a));
        p.set('algorithm', algorithm);
        expectFailure(verify(a, p), 'malformed', /session/);
      });
    }

    it('unknown algorithm, qop=auth-int, userhash=true → malformed', () => {
      const a = authenticator();
      const ch = challengeOf(a);
      const alg = clientParams(ch);
      alg.set('algorithm', 'SHA-512-256');
      expectFailure(verify(a, alg), 'malformed', /algorithm/);
      const qop = clientParams(ch);
      qop.set('qop', 'auth-int');
      expectFailure(verify(a, qop), 'malformed', /qop/);
      const uh = clientParams(ch);
      uh.set('userhash', 'true');
      expectFailure(verify(a, uh), 'malformed', /userhash/);
    });

    it('a response of the wrong length for the algorithm → malformed', () => {
      const a = authenticator();
      const p = clientParams(challengeOf(a), { algorithm: 'SHA-256' });
      p.set('algorithm', 'MD5');
      expectFailure(verify(a, p), 'malformed', /32 hex/);
      const q = clientParams(challengeOf(a));
      q.set('response', 'z'.repeat(32));
      expectFailure(verify(a, q), 'malformed', /hex/);
    });

    it('RFC 2069 (no qop) with MD5: accepted once, then stale', () => {
      const a = authenticator();
      const ch = challengeOf(a);
      expect(verify(a, clientParams(ch, { noQop: true }))).to.deep.equal({
        ok: true,
        username: 'bob',
      });
      expectFailure(verify(a, clientParams(ch, { noQop: true })), 'stale', /one request/);
      expect(verify(a, clientParams(challengeOf(a), { noQop: true })).ok).to.equal(true);
    });

    it('RFC 2069 (no qop) with a wrong password → invalid', () => {
      const a = authenticator();
      expectFailure(
        verify(a, clientParams(challengeOf(a), { noQop: true, password: 'x' })),
        'invalid',
      );
    });

    it('no qop with SHA-256 → malformed', () => {
      const a = authenticator();
      const r = verify(a, clientParams(challengeOf(a), { noQop: true, algorithm: 'SHA-256' }));
      expectFailure(r, 'malformed', /qop/);
    });

    it('a full header round trip: challenge → sipp-style Authorization → ok', () => {
      const a = authenticator();
      const ch = challengeOf(a);
      const p = clientParams(ch);
      const header =
        `Digest username="bob",realm="${REALM}",cnonce="6b8b4567",nc=00000001,qop=auth,` +
        `uri="sip:${REALM}",nonce="${ch.nonce}",response="${p.get('response')}",algorithm=MD5,opaque="${ch.opaque}"`;
      const parsed = parseAuthorization(header);
      expect(parsed?.scheme).to.equal('Digest');
      expect(verify(a, parsed?.params ?? new Map())).to.deep.equal({ ok: true, username: 'bob' });
    });

    it('tracks the latest nonces issued (a ring of maxTrackedNonces) and answers an older one as stale', () => {
      const clock = new Clock();
      const a = authenticator(clock, { maxTrackedNonces: 2 });
      const chs: Challenge[] = [];
      for (let i = 0; i < 3; i++) {
        chs.push(challengeOf(a));
        clock.advance(1);
      }
      // The third challenge took the first one's slot: its nonce-count is not known, so not trusted blindly.
      expectFailure(verify(a, clientParams(chs[0] as Challenge)), 'stale', /tracked/);
      // The later two are tracked.
      for (const ch of chs.slice(1)) expect(verify(a, clientParams(ch)).ok).to.equal(true);
      expectFailure(verify(a, clientParams(chs[2] as Challenge)), 'replay');
      expect(verify(a, clientParams(chs[2] as Challenge, { nc: '00000002' })).ok).to.equal(true);
      // Used, then pushed out by later challenges: stale, with a higher nc too.
      challengeOf(a);
      challengeOf(a);
      expectFailure(verify(a, clientParams(chs[2] as Challenge, { nc: '00000003' })), 'stale', /tracked/);
      // A nonce issued after that works.
      expect(verify(a, clientParams(challengeOf(a))).ok).to.equal(true);
    });

    it('refuses a short secret and a bad ttl', () => {
      expect(() => new DigestAuthenticator({ realm: REALM, secret: Buffer.alloc(4) })).to.throw(
        RangeError,
      );
      expect(
        () => new DigestAuthenticator({ realm: REALM, secret: SECRET, nonceTtlSeconds: 0 }),
      ).to.throw(RangeError);
    });
  });

  describe('NonceCodec', () => {
    const codec = (slots = 8) => new NonceCodec(SECRET, REALM, slots);

    it('counts per nonce from its issue: first use, replay, higher count', () => {
      const c = codec();
      const n = c.issue(1000);
      const opened = c.open(n);
      expect(opened?.issuedAt).to.equal(1000);
      expect(c.advance(opened!, 1)).to.equal('ok');
      expect(c.advance(c.open(n)!, 1)).to.equal('replay');
      expect(c.advance(c.open(n)!, 3)).to.equal('ok');
      expect(c.advance(c.open(n)!, 2)).to.equal('replay');
    });

    it('keeps the counts of different nonces apart, in their slots, until the ring comes round', () => {
      const c = codec(4);
      const nonces = Array.from({ length: 4 }, (_, i) => c.issue(2000 + i));
      for (const n of nonces) expect(c.advance(c.open(n)!, 1)).to.equal('ok');
      for (const n of nonces) expect(c.advance(c.open(n)!, 1)).to.equal('replay');
      const fifth = c.issue(3000);
      expect(c.advance(c.open(nonces[0]!)!, 2), 'its slot was taken').to.equal('forgotten');
      expect(c.advance(c.open(nonces[1]!)!, 2)).to.equal('ok');
      expect(c.advance(c.open(fifth)!, 1)).to.equal('ok');
    });

    it('opens a nonce of another process with the same secret by its MAC, untracked; refuses forged and re-spelled ones', () => {
      const mine = codec();
      const other = codec();
      const theirs = other.issue(5000);
      const opened = mine.open(theirs);
      expect(opened).to.deep.equal({ issuedAt: 5000, slot: -1 });
      expect(mine.advance(opened!, 1)).to.equal('forgotten');
      // One changed character of the MAC, the payload or another realm's key: not ours.
      const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
      expect(mine.open(flip(theirs, 40))).to.equal(null);
      expect(mine.open(flip(theirs, 12))).to.equal(null);
      expect(new NonceCodec(SECRET, 'other.realm').open(theirs)).to.equal(null);
      // A slot held by a nonce this process issued is matched on issue time and random part too.
      const own = mine.issue(6000);
      expect(mine.open(flip(own, 17))).to.equal(null);
      expect(mine.open(own + '=')).to.equal(null);
      expect(mine.open('x'.repeat(43))).to.equal(null);
    });
  });

  describe('parseAuthorization()', () => {
    it("sipp's style (no spaces, unquoted nc/qop/algorithm)", () => {
      const c = parseAuthorization(
        'Digest username="sipp",realm="asterisk",cnonce="6b8b4567",nc=00000001,qop=auth,' +
          'uri="sip:127.0.0.1:5060",nonce="47ebe028cda119c35d4877b383027d28da013815",' +
          'response="4a5bc26e4d2b21fbe3a7cbd5e5f7c5d6",algorithm=MD5,opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      );
      expect(c?.scheme).to.equal('Digest');
      expect(c?.token68).to.equal(null);
      expect(Object.fromEntries(c?.params ?? [])).to.deep.equal({
        username: 'sipp',
        realm: 'asterisk',
        cnonce: '6b8b4567',
        nc: '00000001',
        qop: 'auth',
        uri: 'sip:127.0.0.1:5060',
        nonce: '47ebe028cda119c35d4877b383027d28da013815',
        response: '4a5bc26e4d2b21fbe3a7cbd5e5f7c5d6',
        algorithm: 'MD5',
        opaque: '5ccc069c403ebaf9f0171e9517f40e41',
      });
    });

    it("baresip's style (comma-space)", () => {
      const c = parseAuthorization(
        'Digest username="alice", realm="example.com", nonce="b6f1c2a9", uri="sip:example.com", ' +
          'response="d0a7c0e2b3e8d2b9a9b0c0d0e0f00112", algorithm=MD5, cnonce="c2a1e8f4b0f8e2d1", qop=auth, nc=00000001',
      );
      expect(c?.params.get('username')).to.equal('alice');
      expect(c?.params.get('uri')).to.equal('sip:example.com');
      expect(c?.params.get('nc')).to.equal('00000001');
      expect(c?.params.get('cnonce')).to.equal('c2a1e8f4b0f8e2d1');
      expect(c?.params.size).to.equal(9);
    });

    it("linphone's style (realm first, double space, base64 opaque)", () => {
      const c = parseAuthorization(
        'Digest realm="sip.linphone.org", nonce="GRHqTQAAAAA+LHq3AADuY1DmC8IAAAAA", algorithm=SHA-256, ' +
          'opaque="+GNywA==", username="alice",  uri="sip:sip.linphone.org", ' +
          'response="8b9a6c5f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39", cnonce="Uh2mC4mLrH8t3Qbp", ' +
          'nc=00000001, qop=auth',
      );
      expect(c?.params.get('opaque')).to.equal('+GNywA==');
      expect(c?.params.get('algorithm')).to.equal('SHA-256');
      expect(c?.params.get('nonce')).to.equal('GRHqTQAAAAA+LHq3AADuY1DmC8IAAAAA');
      expect(c?.params.get('qop')).to.equal('auth');
      expect(c?.params.size).to.equal(10);
    });

    it('odd spacing: tabs and LWS around "=" and ",", CRLF left in, scheme case kept, names lower-cased', () => {
      const c = parseAuthorization(
        '  digest\tUserName = "bob" ,Realm=\t"r"\r\n ,   NONCE =abc , qop = "auth" ,,uri="sip:r"  ',
      );
      expect(c?.scheme).to.equal('digest');
      expect(Object.fromEntries(c?.params ?? [])).to.deep.equal({
        username: 'bob',
        realm: 'r',
        nonce: 'abc',
        qop: 'auth',
        uri: 'sip:r',
      });
    });

    it('quoted-pair escapes and commas inside quotes', () => {
      const c = parseAuthorization('Digest username="a\\"b\\\\c", realm="x, y", uri="sip:a@b"');
      expect(c?.params.get('username')).to.equal('a"b\\c');
      expect(c?.params.get('realm')).to.equal('x, y');
    });

    it('an unquoted uri (lenient) and UTF-8 in a quoted username', () => {
      const c = parseAuthorization(
        'Digest username="ålice", uri=sip:bob@example.com;transport=udp, nc=00000001',
      );
      expect(c?.params.get('uri')).to.equal('sip:bob@example.com;transport=udp');
      expect(c?.params.get('username')).to.equal('ålice');
    });

    it('Bearer with a JWT token68', () => {
      const jwt =
        'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0.' +
        'eyJqdGkiOiJTSy0xIiwiaXNzIjoiU0sifQ.Zm9vYmFyLWJhei1zaWduYXR1cmVfLQ';
      const c = parseAuthorization(`Bearer ${jwt}`);
      expect(c).to.deep.equal({ scheme: 'Bearer', params: new Map(), token68: jwt });
    });

    it('token68 with padding, trailing spaces', () => {
      const c = parseAuthorization('bearer  abc/+de==  ');
      expect(c?.scheme).to.equal('bearer');
      expect(c?.token68).to.equal('abc/+de==');
      expect(c?.params.size).to.equal(0);
    });

    it('a bare scheme gives empty params and no token', () => {
      expect(parseAuthorization('Digest')).to.deep.equal({
        scheme: 'Digest',
        params: new Map(),
        token68: null,
      });
    });

    for (const bad of [
      '',
      '   ',
      '"Digest" username="x"',
      'Digest username="x" realm="y"',
      'Digest username="x", realm="y',
      'Digest username=, realm="y"',
      'Digest username, realm="y"',
      'Digest username="a", username="b"',
      'Digest =x',
      'Digest ,',
      'Digest, username="x"',
      'Digest username="x"junk',
    ]) {
      it(`refuses ${JSON.stringify(bad)}`, () => {
        expect(parseAuthorization(bad)).to.equal(null);
      });
    }
  });

  describe('AuthThrottle', () => {
    it('blocks a key after N failures in the window, per key', () => {
      const clock = new Clock();
      const t = new AuthThrottle({ maxFailures: 20, windowSeconds: 60, now: clock.now });
      for (let i = 0; i < 19; i++) t.fail('ip:192.0.2.1');
      expect(t.isBlocked('ip:192.0.2.1')).to.equal(false);
      t.fail('ip:192.0.2.1');
      expect(t.isBlocked('ip:192.0.2.1')).to.equal(true);
      expect(t.isBlocked('ip:192.0.2.2')).to.equal(false);
      expect(t.isBlocked('user:bob')).to.equal(false);
    });

    it('counts usernames separately from addresses', () => {
      const t = new AuthThrottle({ maxFailures: 3, now: new Clock().now });
      for (const ip of ['a', 'b', 'c']) {
        t.fail(`ip:${ip}`);
        t.fail('user:bob');
      }
      expect(t.isBlocked('user:bob')).to.equal(true);
      expect(t.isBlocked('ip:a')).to.equal(false);
    });

    it('unblocks once failures leave the sliding window', () => {
      const clock = new Clock();
      const t = new AuthThrottle({ maxFailures: 3, windowSeconds: 60, now: clock.now });
      t.fail('k');
      clock.advance(30);
      t.fail('k');
      t.fail('k');
      expect(t.isBlocked('k')).to.equal(true);
      clock.advance(29);
      expect(t.isBlocked('k')).to.equal(true);
      clock.advance(1); // the first failure is now 60 s old
      expect(t.isBlocked('k')).to.equal(false);
      expect(t.count('k')).to.equal(2);
      clock.advance(30);
      expect(t.count('k')).to.equal(0);
      expect(t.size).to.equal(0);
    });

    it('a success resets the key', () => {
      const t = new AuthThrottle({ maxFailures: 2, now: new Clock().now });
      t.fail('k');
      t.fail('k');
      expect(t.isBlocked('k')).to.equal(true);
      t.succeed('k');
      expect(t.isBlocked('k')).to.equal(false);
      t.fail('k');
      expect(t.isBlocked('k')).to.equal(false);
    });

    it('keeps memory bounded: at most maxKeys keys, at most maxFailures times each', () => {
      const clock = new Clock();
      const t = new AuthThrottle({ maxFailures: 5, maxKeys: 100, now: clock.now });
      for (let i = 0; i < 1000; i++) t.fail(`ip:${i}`);
      expect(t.size).to.equal(100);
      expect(t.count('ip:999')).to.equal(1);
      expect(t.count('ip:0')).to.equal(0);
      for (let i = 0; i < 50; i++) t.fail('ip:999');
      expect(t.count('ip:999')).to.equal(5);
      expect(t.isBlocked('ip:999')).to.equal(true);
      clock.advance(61);
      t.fail('fresh');
      expect(t.size).to.equal(1);
    });

    it('defaults: 20 failures / 60 s', () => {
      const clock = new Clock();
      const t = new AuthThrottle({ now: clock.now });
      for (let i = 0; i < 20; i++) t.fail('k');
      expect(t.isBlocked('k')).to.equal(true);
      clock.advance(60);
      expect(t.isBlocked('k')).to.equal(false);
    });
  });
});
