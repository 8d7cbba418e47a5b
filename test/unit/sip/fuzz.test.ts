/**
 * Property-based tests (fast-check):
 *  (a) random bytes and strings never make the parser, the stream framer or
 *      the validators throw;
 *  (b) neither do mutated torture messages and real-world messages, and
 *      whatever parses serializes back to a message that parses the same;
 *  (c) arbitrary well-formed messages survive serialize → parse unchanged,
 *      and canonical URIs survive parse → format.
 * FUZZ_RUNS scales the number of runs (default 1 = the numbers below).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import {
  callIdOf,
  cseqOf,
  fromOf,
  maxForwardsOf,
  toOf,
  topViaOf,
} from '../../../src/sip/fields.js';
import { headerKey } from '../../../src/sip/header-names.js';
import { Headers } from '../../../src/sip/headers.js';
import {
  EMPTY_BODY,
  SipRequest,
  SipResponse,
  setBody,
  type SipMessage,
} from '../../../src/sip/message.js';
import { parseNameAddr } from '../../../src/sip/name-addr.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { createResponse } from '../../../src/sip/response.js';
import { serialize } from '../../../src/sip/serializer.js';
import { StreamFramer } from '../../../src/sip/stream-framer.js';
import { formatUri, parseUri, type Uri } from '../../../src/sip/uri.js';
import { validateRequest, validateResponse } from '../../../src/sip/validate.js';
import { parseVia } from '../../../src/sip/via.js';

const SCALE = Number(process.env.FUZZ_RUNS ?? 1) || 1;
const runs = (n: number): { numRuns: number } => ({ numRuns: Math.max(1, Math.round(n * SCALE)) });

// --- Seeds -------------------------------------------------------------------

const TORTURE_DIR = new URL('../../fixtures/rfc4475/', import.meta.url);
const SEEDS: Buffer[] = [
  ...readdirSync(TORTURE_DIR)
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((f) => readFileSync(new URL(f, TORTURE_DIR))),
  readFileSync(new URL('../../../bench/fixtures/sipjs-register.sip', import.meta.url)),
  readFileSync(new URL('../../../bench/fixtures/trunk-invite.sip', import.meta.url)),
];

// --- What "never throws" exercises --------------------------------------------

/** Everything the server does with a message: parse, validate, read the common headers, answer, re-serialize. */
function exercise(buf: Buffer, stream: boolean): SipMessage | null {
  const r = parseMessage(buf, { stream });
  if (!r.ok) {
    expect(r.reason).to.be.a('string').and.not.equal('');
    if (r.partial?.type === 'request') createResponse(r.partial, 400, r.reason);
    return null;
  }
  const m = r.message;
  if (m.type === 'request') {
    const v = validateRequest(m);
    if (!v.ok) expect(v.status).to.be.oneOf([400, 416, 505]);
    parseUri(m.uri);
    createResponse(m, 200);
  } else {
    validateResponse(m);
  }
  topViaOf(m);
  cseqOf(m);
  callIdOf(m);
  fromOf(m);
  toOf(m);
  maxForwardsOf(m);
  for (const v of m.headers.list('via') ?? []) parseVia(v);
  for (const name of ['contact', 'route', 'record-route'])
    for (const v of m.headers.list(name) ?? []) parseNameAddr(v);
  return m;
}

/** Frames `buf` cut at `cuts`, then parses every frame. */
function exerciseStream(buf: Buffer, cuts: number[], max: number): void {
  const framer = new StreamFramer(max);
  let at = 0;
  for (const c of [...cuts.map((x) => x % (buf.length + 1)).sort((a, b) => a - b), buf.length]) {
    for (const e of framer.push(buf.subarray(at, Math.max(at, c)))) {
      if (e.kind === 'message') {
        expect(e.bytes.length).to.be.at.most(max);
        exercise(e.bytes, true);
      } else if (e.kind === 'error') {
        expect(e.status).to.be.oneOf([400, 513]);
      }
    }
    at = Math.max(at, c);
  }
  expect(framer.pending).to.be.at.most(buf.length);
}

/** A message that parsed must serialize to bytes that parse to the same message. */
function expectStable(m: SipMessage, stream: boolean): void {
  const again = parseMessage(serialize(m), { stream });
  if (!again.ok)
    throw new Error(
      `re-serialized message does not parse: ${again.reason}\n${serialize(m).toString('latin1')}`,
    );
  expectSameMessage(again.message, m);
}

function expectSameMessage(actual: SipMessage, expected: SipMessage): void {
  expect(actual.type).to.equal(expected.type);
  expect(actual.version).to.equal(expected.version);
  if (actual.type === 'request' && expected.type === 'request') {
    expect(actual.method).to.equal(expected.method);
    expect(actual.uri).to.equal(expected.uri);
  } else if (actual.type === 'response' && expected.type === 'response') {
    expect(actual.status).to.equal(expected.status);
    expect(actual.reason).to.equal(expected.reason);
  }
  expect(actual.headers.all()).to.deep.equal(expected.headers.all());
  expect(actual.body.equals(expected.body), 'body').to.equal(true);
}

// --- (b) Mutations -------------------------------------------------------------

const SPECIAL = [
  0x0d, 0x0a, 0x00, 0x22, 0x3c, 0x3e, 0x20, 0x09, 0x3a, 0x3b, 0x2c, 0x5c, 0x25, 0xff,
];

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; len: number; to: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; len: number }
  | { op: 'crlf'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('flip' as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 200 }),
    to: fc.nat(),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.constantFrom(...SPECIAL), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    op: fc.constant('delete' as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({ op: fc.constant('crlf' as const), at: fc.nat() }),
);

function mutate(seed: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of mutations) {
    const at = m.at % (b.length + 1);
    switch (m.op) {
      case 'flip':
        if (at < b.length) b[at] = (b[at] as number) ^ (1 << m.bit);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'duplicate': {
        const piece = b.subarray(at, at + m.len);
        const to = m.to % (b.length + 1);
        b = Buffer.concat([b.subarray(0, to), piece, b.subarray(to)]);
        break;
      }
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'crlf': {
        // Insert a line break where it hurts most: right at a line start, or as a fold.
        const nl = b.indexOf(0x0a, at);
        const pos = nl < 0 ? b.length : nl + 1;
        b = Buffer.concat([
          b.subarray(0, pos),
          Buffer.from(at % 2 === 0 ? '\r\n' : ' '),
          b.subarray(pos),
        ]);
        break;
      }
    }
  }
  return b;
}

// --- (c) Generators of well-formed messages and URIs ---------------------------

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const TOKEN_CHARS = ALNUM + "-.!%*_+`'~";
const chars = (set: string, minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...set), minLength, maxLength });
const tokenArb = (min = 1, max = 16): fc.Arbitrary<string> => chars(TOKEN_CHARS, min, max);
const hexByte = fc
  .integer({ min: 0, max: 255 })
  .map((n) => '%' + n.toString(16).toUpperCase().padStart(2, '0'));
/** 1*(chars / escaped) */
const escapedArb = (set: string, min: number, max: number): fc.Arbitrary<string> =>
  fc
    .array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...set) },
        { weight: 1, arbitrary: hexByte },
      ),
      { minLength: min, maxLength: max },
    )
    .map((a) => a.join(''));

const UNRESERVED = ALNUM + "-_.!~*'()";
const USER_CHARS = UNRESERVED + '&=+$,;?/';
const PASSWORD_CHARS = UNRESERVED + '&=+$,';
const PARAM_CHARS = UNRESERVED + '[]/:&+$';
const HNV_CHARS = UNRESERVED + '[]/?:+$';

const label = fc
  .tuple(
    fc.constantFrom(...ALNUM.slice(0, 36)),
    chars(ALNUM.slice(0, 36) + '-', 0, 8),
    fc.constantFrom(...ALNUM.slice(0, 36)),
  )
  .map(([a, mid, z]) => (mid.length === 0 ? a : a + mid + z));
const hostArb = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.')),
  fc
    .array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })
    .map((a) => a.join('.')),
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 })
    .map((g) => `[${g.map((x) => x.toString(16)).join(':')}${g.length < 8 ? '::1' : ''}]`),
);
const paramsArb = (
  nameChars: string,
  valueChars: string,
): fc.Arbitrary<Map<string, string | null>> =>
  fc
    .uniqueArray(
      fc.tuple(
        escapedArb(nameChars, 1, 10).map((s) => s.toLowerCase()),
        fc.option(escapedArb(valueChars, 1, 12), { nil: null }),
      ),
      {
        maxLength: 4,
        selector: ([k]) => k,
      },
    )
    .map((entries) => new Map(entries));

const sipUriArb: fc.Arbitrary<Uri> = fc
  .record({
    kind: fc.constant('sip' as const),
    scheme: fc.constantFrom('sip' as const, 'sips' as const),
    user: fc.option(escapedArb(USER_CHARS, 1, 16), { nil: null }),
    password: fc.constant(null as string | null),
    host: hostArb,
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }),
    params: paramsArb(PARAM_CHARS.replace(/[[\]:]/g, ''), PARAM_CHARS),
    headers: fc.option(
      fc
        .array(fc.tuple(escapedArb(HNV_CHARS, 1, 8), escapedArb(HNV_CHARS, 0, 8)), {
          minLength: 1,
          maxLength: 3,
        })
        .map((hs) => hs.map(([k, v]) => `${k}=${v}`).join('&')),
      { nil: null },
    ),
  })
  .chain((u) =>
    // A password only comes with a user.
    u.user === null
      ? fc.constant(u)
      : fc
          .option(escapedArb(PASSWORD_CHARS, 0, 8), { nil: null })
          .map((password) => ({ ...u, password })),
  );
const telUriArb: fc.Arbitrary<Uri> = fc.record({
  kind: fc.constant('tel' as const),
  scheme: fc.constant('tel' as const),
  number: fc
    .tuple(fc.constantFrom('', '+'), chars('0123456789-.()*#', 1, 15))
    .map(([p, n]) => p + n),
  params: paramsArb(ALNUM + '-', PARAM_CHARS),
});
const absoluteUriArb: fc.Arbitrary<Uri> = fc.record({
  kind: fc.constant('absolute' as const),
  scheme: fc
    .tuple(
      fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'),
      chars('abcdefghijklmnopqrstuvwxyz0123456789+.-', 0, 8),
    )
    .map(([a, b]) => a + b)
    .filter((s) => !['sip', 'sips', 'tel'].includes(s)),
  opaque: chars(UNRESERVED + '/?:@&=+$,;#%[]', 1, 30),
});
const uriArb = fc.oneof(
  { weight: 4, arbitrary: sipUriArb },
  { weight: 1, arbitrary: telUriArb },
  { weight: 1, arbitrary: absoluteUriArb },
);

/** Header values: printable ASCII, LWS inside, some UTF-8 (including U+FEFF, U+00A0); no LWS at either end. */
const VALUE_UNITS = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)),
  '\t',
  'é',
  '大',
  '\u00a0',
  '\ufeff',
  '\u2028',
  '😀',
];
const valueArb = fc
  .string({ unit: fc.constantFrom(...VALUE_UNITS), maxLength: 60 })
  .map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));
/** Header names: any token, with the compact forms and names that are Object.prototype properties mixed in. */
const TRICKY_NAMES = [
  ...'abcdefijkmorstuvxy',
  'Via',
  'CSeq',
  'Call-ID',
  'constructor',
  'Constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
];
const headerArb = fc.tuple(
  fc
    .oneof(
      { weight: 4, arbitrary: tokenArb(1, 24) },
      { weight: 1, arbitrary: fc.constantFrom(...TRICKY_NAMES) },
    )
    .filter((n) => headerKey(n) !== 'content-length'),
  valueArb,
);
const versionArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant('SIP/2.0') },
  { weight: 1, arbitrary: fc.tuple(fc.nat(9), fc.nat(99)).map(([a, b]) => `SIP/${a}.${b}`) },
);

const messageArb: fc.Arbitrary<SipMessage> = fc
  .record({
    request: fc.boolean(),
    method: fc.oneof(
      fc.constantFrom('INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'MESSAGE'),
      tokenArb(1, 20),
    ),
    uri: uriArb.map(formatUri),
    status: fc.integer({ min: 100, max: 699 }),
    reason: fc.string({ unit: fc.constantFrom(...VALUE_UNITS), maxLength: 40 }),
    version: versionArb,
    headers: fc.array(headerArb, { maxLength: 20 }),
    body: fc.uint8Array({ maxLength: 300 }),
  })
  .map((g) => {
    const m: SipMessage = g.request
      ? new SipRequest(g.method, g.uri, new Headers(), EMPTY_BODY, g.version)
      : new SipResponse(g.status, g.reason, new Headers(), EMPTY_BODY, g.version);
    for (const [name, value] of g.headers) m.headers.append(name, value);
    setBody(m, Buffer.from(g.body));
    return m;
  });

/** SIP-looking text: a start line and header lines made of SIP's punctuation, to get past the start line often. */
const SIPISH = ' \t:;,=<>"@/.\\%?&*+-_~!\'`()[]{}\r\n' + 'SIPsipviaVIAtagbranchz9hG4bK0123456789';
const sipishArb = fc
  .tuple(
    fc.constantFrom(
      'INVITE sip:a@b SIP/2.0',
      'OPTIONS sip:bob@example.com SIP/2.0',
      'SIP/2.0 200 OK',
      'REGISTER sips:[::1]:5061 SIP/2.0',
      'X tel:+1 SIP/2.0',
    ),
    fc.array(
      fc.tuple(
        fc.constantFrom(
          'Via',
          'v',
          'From',
          'f',
          'To',
          't',
          'Call-ID',
          'i',
          'CSeq',
          'Contact',
          'm',
          'Max-Forwards',
          'Content-Length',
          'l',
          'Route',
          'Record-Route',
          'Require',
          'Date',
          'Expires',
          ' ',
          'X',
          'constructor',
          '__proto__',
        ),
        chars(SIPISH, 0, 40),
      ),
      { maxLength: 12 },
    ),
    fc.constantFrom('\r\n\r\n', '\r\n', '\n\n', ''),
    chars(SIPISH, 0, 60),
  )
  .map(([start, lines, end, body]) =>
    Buffer.from(
      start + '\r\n' + lines.map(([n, v]) => `${n}: ${v}`).join('\r\n') + end + body,
      'utf8',
    ),
  );

// --- The properties ---------------------------------------------------------------

describe('fuzzing the SIP parser', function () {
  this.timeout(120_000);

  describe('(a) random input never throws', () => {
    it('random bytes: parseMessage (datagram and stream), validation, StreamFramer', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 1500 }),
          fc.array(fc.nat(), { maxLength: 4 }),
          fc.integer({ min: 16, max: 4096 }),
          (bytes, cuts, max) => {
            const buf = Buffer.from(bytes);
            exercise(buf, false);
            exercise(buf, true);
            exerciseStream(buf, cuts, max);
          },
        ),
        runs(3000),
      );
    });

    it('random strings (any UTF-16, encoded as UTF-8)', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc.array(fc.nat(), { maxLength: 3 }),
          (s, cuts) => {
            const buf = Buffer.from(s, 'utf8');
            exercise(buf, false);
            exerciseStream(buf, cuts, 65535);
          },
        ),
        runs(3000),
      );
    });

    it('SIP-looking text reaches validation and the header parsers', () => {
      let validated = 0;
      fc.assert(
        fc.property(sipishArb, fc.array(fc.nat(), { maxLength: 3 }), (buf, cuts) => {
          const m = exercise(buf, false);
          if (m !== null) validated++;
          exercise(buf, true);
          exerciseStream(buf, cuts, 65535);
        }),
        runs(3000),
      );
      // The generator must actually get messages through parsing, or the property proves little.
      expect(validated).to.be.greaterThan(runs(3000).numRuns / 10);
    });
  });

  describe('(b) mutated real messages never throw, and what parses is stable', () => {
    it(`mutations of the ${SEEDS.length} seed messages (49 torture, SIP.js REGISTER, trunk INVITE)`, () => {
      let parsed = 0;
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: SEEDS.length - 1 }),
          fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
          fc.array(fc.nat(), { maxLength: 3 }),
          (seed, mutations, cuts) => {
            const buf = mutate(SEEDS[seed] as Buffer, mutations);
            for (const stream of [false, true]) {
              const m = exercise(buf, stream);
              if (m !== null) {
                parsed++;
                expectStable(m, stream);
              }
            }
            exerciseStream(buf, cuts, 65535);
          },
        ),
        runs(5000),
      );
      expect(parsed).to.be.greaterThan(runs(5000).numRuns / 4);
    });

    it('every seed message itself serializes back to the same message', () => {
      for (const seed of SEEDS) {
        for (const stream of [false, true]) {
          const m = exercise(seed, stream);
          if (m !== null) expectStable(m, stream);
        }
      }
    });
  });

  describe('(c) round trips', () => {
    it('parseMessage(serialize(m)) equals m for arbitrary well-formed messages', () => {
      fc.assert(
        fc.property(messageArb, fc.boolean(), (m, stream) => {
          const bytes = serialize(m);
          const r = parseMessage(bytes, { stream });
          if (!r.ok) throw new Error(`does not parse: ${r.reason}\n${bytes.toString('utf8')}`);
          expectSameMessage(r.message, m);
          expect(r.message.headers.get('content-length')).to.equal(String(m.body.length));
          // And the same bytes through the stream framer, in two segments.
          const cut = bytes.length >> 1;
          const framer = new StreamFramer(65535);
          const frames = [
            ...framer.push(bytes.subarray(0, cut)),
            ...framer.push(bytes.subarray(cut)),
          ];
          expect(frames).to.have.length(1);
          expect(frames[0]?.kind === 'message' && frames[0].bytes.equals(bytes)).to.equal(true);
        }),
        runs(3000),
      );
    });

    it('formatUri(parseUri(x)) === x and the parts come back for canonical URIs', () => {
      fc.assert(
        fc.property(uriArb, (u) => {
          const text = formatUri(u);
          const r = parseUri(text);
          if (!r.ok) throw new Error(`${text} does not parse: ${r.reason}`);
          expect(formatUri(r.uri)).to.equal(text);
          expect(r.uri).to.deep.equal(u);
        }),
        runs(3000),
      );
    });
  });
});
