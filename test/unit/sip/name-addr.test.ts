/** name-addr vs addr-spec with header parameters (RFC 3261 §20.10, §25.1), and quoted strings. */
import { expect } from 'chai';
import { quote, scanQuoted, splitList } from '../../../src/sip/grammar.js';
import { formatNameAddr, parseNameAddr, type NameAddr } from '../../../src/sip/name-addr.js';
import { formatUri } from '../../../src/sip/uri.js';

function ok(text: string): NameAddr {
  const r = parseNameAddr(text);
  if (!r.ok) throw new Error(`${text} does not parse: ${r.reason}`);
  return r.value;
}

describe('name-addr and addr-spec', () => {
  it('name-addr with a quoted display name and header parameters', () => {
    const na = ok('"Alice Liddell" <sip:alice@example.com;transport=tcp>;tag=abc;expires=60');
    expect(na.displayName).to.equal('Alice Liddell');
    expect(na.angle).to.equal(true);
    expect(formatUri(na.uri)).to.equal('sip:alice@example.com;transport=tcp');
    expect([...na.params]).to.deep.equal([
      ['tag', 'abc'],
      ['expires', '60'],
    ]);
  });

  it('in an addr-spec the parameters after the URI belong to the header (§20.10)', () => {
    const na = ok('sip:alice@example.com;tag=abc;transport=tcp');
    expect(na.angle).to.equal(false);
    expect(na.displayName).to.equal(null);
    expect(formatUri(na.uri)).to.equal('sip:alice@example.com');
    expect([...na.params]).to.deep.equal([
      ['tag', 'abc'],
      ['transport', 'tcp'],
    ]);
  });

  it('inside <> the parameters belong to the URI', () => {
    const na = ok('<sip:alice@example.com;tag=abc>');
    expect(na.params.size).to.equal(0);
    expect(na.uri.kind === 'sip' && na.uri.params.get('tag')).to.equal('abc');
  });

  it('an unquoted display name of tokens, with or without LWS before <', () => {
    expect(ok('Alice   Liddell <sip:a@b>').displayName).to.equal('Alice Liddell');
    expect(ok('caller<sip:a@b>').displayName).to.equal('caller');
    expect(ok("token1~` token2'+_ <sip:a@b>").displayName).to.equal("token1~` token2'+_");
    expect(ok('<sip:a@b>').displayName).to.equal(null);
    expect(ok('"" <sip:a@b>').displayName).to.equal('');
  });

  it('quoted display names unescape quoted-pairs', () => {
    expect(ok('"J Rosenberg \\\\\\"" <sip:a@b>').displayName).to.equal('J Rosenberg \\"');
    expect(ok('"a\\"b" <sip:a@b>').displayName).to.equal('a"b');
    expect(ok('"Doe, John <boss>" <sip:a@b>').displayName).to.equal('Doe, John <boss>');
    expect(ok('"работающий" <sip:a@b>').displayName).to.equal('работающий');
  });

  it('LWS around ";" and "=" in header parameters', () => {
    const na = ok('sip:a@b ;   tag    = 1918181833n');
    expect(na.params.get('tag')).to.equal('1918181833n');
    const c = ok('"Q" <sip:a@b> ; newparam = newvalue ; secondparam ; q = 0.33');
    expect([...c.params]).to.deep.equal([
      ['newparam', 'newvalue'],
      ['secondparam', null],
      ['q', '0.33'],
    ]);
  });

  it('quoted parameter values keep their quotes, even with "<" inside', () => {
    const sipjs = ok(
      '<sip:q8ad2b1k@host.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:3f2b1f8e-6b1a-4d8e-9a43-1f0c2b7d9e55>";expires=600',
    );
    expect(sipjs.params.get('+sip.instance')).to.equal(
      '"<urn:uuid:3f2b1f8e-6b1a-4d8e-9a43-1f0c2b7d9e55>"',
    );
    expect(sipjs.params.get('+sip.ice')).to.equal(null);
    expect(sipjs.params.get('reg-id')).to.equal('1');
    // The same parameters on an addr-spec: the "<" in the quoted value does not start a name-addr.
    const spec = ok('sip:a@b;+sip.instance="<urn:uuid:1>";expires=600');
    expect(spec.angle).to.equal(false);
    expect(formatUri(spec.uri)).to.equal('sip:a@b');
    expect(spec.params.get('+sip.instance')).to.equal('"<urn:uuid:1>"');
  });

  it('absolute URIs in a name-addr or an addr-spec', () => {
    expect(ok('<http://www.example.com>;tag=1').uri).to.deep.equal({
      kind: 'absolute',
      scheme: 'http',
      opaque: '//www.example.com',
    });
    expect(ok('isbn:2983792873').uri).to.deep.equal({
      kind: 'absolute',
      scheme: 'isbn',
      opaque: '2983792873',
    });
    expect(ok('<tel:+14155550123>;tag=x').uri.kind).to.equal('tel');
  });

  it('formatNameAddr always writes <> and quotes the display name', () => {
    const cases: [string, string][] = [
      ['sip:a@b;tag=1', '<sip:a@b>;tag=1'],
      ['Alice <sip:a@b;lr>;tag=1', '"Alice" <sip:a@b;lr>;tag=1'],
      ['"a\\"b\\\\c" <sip:a@b>', '"a\\"b\\\\c" <sip:a@b>'],
      ['<sip:a@b?x=y>', '<sip:a@b?x=y>'],
    ];
    for (const [input, output] of cases) {
      expect(formatNameAddr(ok(input))).to.equal(output);
      expect(formatNameAddr(ok(output))).to.equal(output);
    }
  });

  describe('malformed values are refused with a reason', () => {
    const BAD: [string, RegExp][] = [
      ['"Mr. J. User <sip:j.user@example.com>', /unterminated quoted string/],
      [
        'Bell, Alexander <sip:a.g.bell@example.com>',
        /display name has characters that must be quoted/,
      ],
      ['"Watson, Thomas" < sip:t.watson@example.org >', /whitespace/],
      ['"Joe" <sip:joe@example.org>;;;;', /empty parameter name/],
      ['"x" sip:a@b', /display name not followed by <URI>/],
      ['<sip:a@b', /unterminated <URI>/],
      ['<sip:a@b> junk', /unexpected/],
      ['sip:user@example.com?Route=%3Csip:sip.example.com%3E', /must be enclosed in <>/],
      ['sip:a@b,c', /must be enclosed in <>/],
      ['<sip:a@b>;tag=1;tag=2', /duplicate parameter/],
      ['<sip:a@b>;tag=', /empty value/],
      ['', /no scheme/],
    ];
    for (const [text, reason] of BAD) {
      it(JSON.stringify(text), () => {
        const r = parseNameAddr(text);
        expect(r.ok).to.equal(false);
        if (!r.ok) expect(r.reason).to.match(reason);
      });
    }
  });
});

describe('quoted strings (§25.1 quoted-string, quoted-pair)', () => {
  it('scanQuoted returns the unescaped content and where it ends', () => {
    expect(scanQuoted('"abc" rest', 0)).to.deep.equal({ ok: true, value: 'abc', next: 5 });
    expect(scanQuoted('x"a\\"b"', 1)).to.deep.equal({ ok: true, value: 'a"b', next: 7 });
    expect(scanQuoted('"a\\\\"', 0)).to.deep.equal({ ok: true, value: 'a\\', next: 5 });
    expect(scanQuoted('"\\a\\\u0000"', 0)).to.deep.equal({ ok: true, value: 'a\u0000', next: 6 });
    expect(scanQuoted('""', 0)).to.deep.equal({ ok: true, value: '', next: 2 });
  });

  it('scanQuoted refuses unterminated strings and escaped CR/LF', () => {
    expect(scanQuoted('"abc', 0).ok).to.equal(false);
    expect(scanQuoted('"abc\\"', 0).ok).to.equal(false);
    expect(scanQuoted('"a\\', 0).ok).to.equal(false);
    expect(scanQuoted('"a\\\nb"', 0)).to.deep.equal({
      ok: false,
      reason: 'bad escape in quoted string',
    });
    expect(scanQuoted('abc"', 0).ok).to.equal(false);
  });

  it('quote escapes " and \\ so that scanQuoted gives the text back', () => {
    for (const text of [
      'plain',
      'with "quotes"',
      'back\\slash',
      '\\"',
      '',
      'ünïcödé 大停電',
      'a, b; c <d>',
    ]) {
      const q = quote(text);
      expect(scanQuoted(q, 0)).to.deep.equal({ ok: true, value: text, next: q.length });
    }
    expect(quote('a"b\\c')).to.equal('"a\\"b\\\\c"');
  });

  it('splitList keeps quoted commas, escaped quotes and <> together', () => {
    expect(splitList('a, "b, \\"c" <d,e>, f')).to.deep.equal(['a', '"b, \\"c" <d,e>', 'f']);
    expect(splitList('"open')).to.equal(null);
    expect(splitList('<open')).to.equal(null);
    expect(splitList('')).to.deep.equal(['']);
  });
});
