/** Typed header views (CSeq, Max-Forwards, Call-ID, From/To, top Via) and request/response validation. */
import { expect } from 'chai';
import {
  callIdOf,
  cseqOf,
  fromOf,
  MAX_CSEQ,
  maxForwardsOf,
  parseCSeq,
  tagOf,
  toOf,
  topViaOf,
} from '../../../src/sip/fields.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { validateRequest, validateResponse } from '../../../src/sip/validate.js';

const BASE: Record<string, string> = {
  Via: 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc',
  'Max-Forwards': '70',
  From: '"Alice" <sip:alice@example.com>;tag=f1',
  To: '<sip:bob@example.com>',
  'Call-ID': 'c1@192.0.2.1',
  CSeq: '1 OPTIONS',
};

/** A request built from BASE with some headers replaced (value) or removed (null), plus extra lines. */
function req(
  changes: Record<string, string | null> = {},
  extra: string[] = [],
  startLine = 'OPTIONS sip:bob@example.com SIP/2.0',
): SipRequest {
  const lines = [startLine];
  for (const [name, value] of Object.entries({ ...BASE, ...changes }))
    if (value !== null) lines.push(`${name}: ${value}`);
  const text = [...lines, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.message.type !== 'request')
    throw new Error(`does not parse as a request: ${r.ok ? 'response' : r.reason}`);
  return r.message;
}

function res(text: string): SipResponse {
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.message.type !== 'response') throw new Error('not a response');
  return r.message;
}

describe('header field views', () => {
  describe('CSeq', () => {
    it('parses sequence number and method', () => {
      expect(parseCSeq('1 INVITE')).to.deep.equal({ seq: 1, method: 'INVITE' });
      expect(parseCSeq('  0009 \t INVITE ')).to.deep.equal({ seq: 9, method: 'INVITE' });
      expect(parseCSeq('0 ACK')).to.deep.equal({ seq: 0, method: 'ACK' });
      expect(parseCSeq("139122385 !interesting-Method0123456789_*+`.%indeed'~")?.method).to.equal(
        "!interesting-Method0123456789_*+`.%indeed'~",
      );
    });

    it('limits: less than 2**31 (RFC 3261 §8.1.1.5), leading zeros allowed', () => {
      expect(MAX_CSEQ).to.equal(2147483647);
      expect(parseCSeq('2147483647 INVITE')).to.deep.equal({ seq: 2147483647, method: 'INVITE' });
      expect(parseCSeq('2147483648 INVITE')).to.equal(null);
      expect(parseCSeq('4294967295 INVITE')).to.equal(null);
      expect(parseCSeq('36893488147419103232 REGISTER')).to.equal(null);
      expect(parseCSeq('00000000000000000001 REGISTER')).to.deep.equal({
        seq: 1,
        method: 'REGISTER',
      });
    });

    it('refuses malformed values', () => {
      for (const v of [
        '',
        'INVITE',
        '1',
        '1INVITE',
        '-1 INVITE',
        '1.5 INVITE',
        '1 INVITE extra',
        '1 IN"VITE',
        '0x10 INVITE',
      ]) {
        expect(parseCSeq(v), v).to.equal(null);
      }
    });

    it('cseqOf needs exactly one CSeq', () => {
      expect(cseqOf(req())).to.deep.equal({ seq: 1, method: 'OPTIONS' });
      expect(cseqOf(req({}, ['CSeq: 2 OPTIONS']))).to.equal(null);
      expect(cseqOf(req({ CSeq: null }))).to.equal(null);
    });
  });

  describe('Max-Forwards', () => {
    it('0 to 255, leading zeros allowed; undefined when absent; null when malformed', () => {
      const mf = (v: string | null, extra: string[] = []): number | null | undefined =>
        maxForwardsOf(req({ 'Max-Forwards': v }, extra));
      expect(mf('70')).to.equal(70);
      expect(mf('0')).to.equal(0);
      expect(mf('255')).to.equal(255);
      expect(mf('0068')).to.equal(68);
      expect(mf('000000000000255')).to.equal(255);
      expect(mf(null)).to.equal(undefined);
      for (const bad of ['256', '300', '1000', '-1', '7O', '', '1 2', '0x10'])
        expect(mf(bad), bad).to.equal(null);
      expect(mf('70', ['Max-Forwards: 70'])).to.equal(null);
    });
  });

  it('Call-ID: exactly one, not empty', () => {
    expect(callIdOf(req())).to.equal('c1@192.0.2.1');
    expect(callIdOf(req({ 'Call-ID': null }, ['i: compact@x']))).to.equal('compact@x');
    expect(callIdOf(req({ 'Call-ID': '' }))).to.equal(null);
    expect(callIdOf(req({}, ['i: other']))).to.equal(null);
  });

  it('From / To and their tags', () => {
    const m = req({ To: 'sip:bob@example.com;tag=t9' });
    expect(fromOf(m)?.displayName).to.equal('Alice');
    expect(tagOf(fromOf(m))).to.equal('f1');
    expect(tagOf(toOf(m))).to.equal('t9');
    expect(tagOf(toOf(req()))).to.equal(null);
    expect(tagOf(null)).to.equal(null);
    expect(toOf(req({}, ['t: <sip:x@y>']))).to.equal(null);
  });

  it('top Via: the first element of the first Via line', () => {
    const m = req({ Via: 'SIP/2.0/TCP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com' }, [
      'Via: SIP/2.0/UDP c.example.com',
    ]);
    expect(topViaOf(m)?.host).to.equal('a.example.com');
    expect(topViaOf(req({ Via: null }))).to.equal(null);
    expect(topViaOf(req({ Via: 'garbage' }))).to.equal(null);
  });

  it('views are memoized and recomputed after a change', () => {
    const m: SipMessage = req();
    const first = cseqOf(m);
    expect(cseqOf(m)).to.equal(first);
    m.headers.set('CSeq', '7 OPTIONS');
    expect(cseqOf(m)).to.deep.equal({ seq: 7, method: 'OPTIONS' });
  });
});

describe('validateRequest', () => {
  it('accepts a minimal well-formed request', () => {
    expect(validateRequest(req())).to.deep.equal({ ok: true });
  });

  const BAD: [string, Record<string, string | null>, string[], number, RegExp][] = [
    ['no Via', { Via: null }, [], 400, /Missing Via/],
    ['bad Via', { Via: 'SIP/2.0/UDP' }, [], 400, /Malformed Via/],
    ['no From', { From: null }, [], 400, /Missing From/],
    ['no To', { To: null }, [], 400, /Missing To/],
    ['no Call-ID', { 'Call-ID': null }, [], 400, /Missing Call-ID/],
    ['no CSeq', { CSeq: null }, [], 400, /Missing CSeq/],
    ['two To', {}, ['To: <sip:x@y>'], 400, /Multiple To/],
    ['bad From', { From: 'Bell, Alexander <sip:a@b>' }, [], 400, /Malformed From/],
    ['bad To', { To: '<sip:a@b' }, [], 400, /Malformed To/],
    ['empty Call-ID', { 'Call-ID': '' }, [], 400, /Malformed Call-ID/],
    ['bad CSeq', { CSeq: 'x OPTIONS' }, [], 400, /Malformed CSeq/],
    ['CSeq method mismatch', { CSeq: '1 INVITE' }, [], 400, /CSeq method does not match/],
    ['CSeq method case', { CSeq: '1 options' }, [], 400, /CSeq method does not match/],
    ['bad Max-Forwards', { 'Max-Forwards': '256' }, [], 400, /Malformed Max-Forwards/],
    ['bad Expires', {}, ['Expires: soon'], 400, /Malformed Expires/],
    ['two Expires', {}, ['Expires: 1', 'Expires: 2'], 400, /Malformed Expires/],
    ['bad Date', {}, ['Date: Fri, 01 Jan 2010 16:00:00 EST'], 400, /Malformed Date/],
    ['bad Contact', {}, ['Contact: sip:a@b?x=y'], 400, /Malformed Contact/],
    ['bad Contact in a list', {}, ['Contact: <sip:a@b>, <sip:c@d'], 400, /Malformed Contact/],
  ];
  for (const [what, changes, extra, status, reason] of BAD) {
    it(`${what} → ${status}`, () => {
      const v = validateRequest(req(changes, extra));
      expect(v.ok).to.equal(false);
      if (v.ok) return;
      expect(v.status).to.equal(status);
      expect(v.reason).to.match(reason);
    });
  }

  it('Request-URI: sip, sips and tel are served; other schemes 416; headers 400', () => {
    expect(validateRequest(req({}, [], 'OPTIONS sips:bob@example.com SIP/2.0')).ok).to.equal(true);
    expect(validateRequest(req({}, [], 'OPTIONS tel:+14155550123 SIP/2.0')).ok).to.equal(true);
    expect(validateRequest(req({}, [], 'OPTIONS mailto:bob@example.com SIP/2.0'))).to.deep.equal({
      ok: false,
      status: 416,
      reason: 'Unsupported URI Scheme',
    });
    expect(
      validateRequest(req({}, [], 'OPTIONS sip:bob@example.com?Subject=x SIP/2.0')),
    ).to.deep.include({ ok: false, status: 400 });
    const bad = validateRequest(req({}, [], 'OPTIONS sip:bob@exa_mple.com SIP/2.0'));
    expect(bad.ok === false && bad.reason).to.match(/Malformed Request-URI: bad host/);
  });

  it('a SIP version other than 2.0 is 505, before anything else', () => {
    expect(
      validateRequest(req({ Via: null, From: null }, [], 'OPTIONS sip:bob@example.com SIP/3.0')),
    ).to.deep.equal({
      ok: false,
      status: 505,
      reason: 'Version Not Supported',
    });
  });

  it('Contact: * and well-formed Contact lists pass, Date in GMT passes', () => {
    expect(validateRequest(req({}, ['Contact: *', 'Expires: 0'])).ok).to.equal(true);
    expect(
      validateRequest(
        req({}, [
          'Contact: <sip:a@b>;expires=60, "C" <sip:c@d>',
          'Date: Sat, 13 Nov 2010 23:29:00 GMT',
        ]),
      ).ok,
    ).to.equal(true);
  });
});

describe('validateResponse', () => {
  const head =
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\n';
  it('null for a well-formed response, the reason otherwise', () => {
    expect(validateResponse(res(head + 'CSeq: 1 INVITE\r\n\r\n'))).to.equal(null);
    expect(validateResponse(res(head + 'CSeq: 99999999999 INVITE\r\n\r\n'))).to.equal(
      'Malformed CSeq',
    );
    expect(validateResponse(res(head + '\r\n'))).to.equal('Missing CSeq');
    expect(
      validateResponse(res(head.replace('SIP/2.0 200', 'SIP/2.1 200') + 'CSeq: 1 INVITE\r\n\r\n')),
    ).to.equal('unsupported SIP version');
  });
});
