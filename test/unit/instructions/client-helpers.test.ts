/** The helpers the call engine uses around InstructionsClient: URL resolution and Warning-safe reasons. */
import { expect } from 'chai';
import fc from 'fast-check';
import { resolveUrl, safeReason } from '../../../src/instructions/instructions-client.js';

describe('resolveUrl', () => {
  const doc = 'https://app.example.com/ivr/start/voice?step=1';

  it('resolves relative references against the document URL (RFC 3986)', () => {
    expect(resolveUrl('next', doc)).to.equal('https://app.example.com/ivr/start/next');
    expect(resolveUrl('../menu?x=1', doc)).to.equal('https://app.example.com/ivr/menu?x=1');
    expect(resolveUrl('/root', doc)).to.equal('https://app.example.com/root');
    expect(resolveUrl('?step=2', doc)).to.equal('https://app.example.com/ivr/start/voice?step=2');
    expect(resolveUrl('//other.example.com/x', doc)).to.equal('https://other.example.com/x');
  });

  it('keeps absolute http(s) URLs and refuses every other scheme or a relative URL without base', () => {
    expect(resolveUrl('http://a.example/x', doc)).to.equal('http://a.example/x');
    expect(resolveUrl('ftp://a.example/x', doc)).to.equal(null);
    expect(resolveUrl('javascript:alert(1)', doc)).to.equal(null);
    expect(resolveUrl('next')).to.equal(null);
  });
});

describe('safeReason', () => {
  it('replaces quotes, backslashes and control characters, collapses space', () => {
    expect(safeReason('returned "bad"\r\n\tthing \\ here')).to.equal('returned bad thing here');
  });

  it('bounds the length', () => {
    const long = safeReason('x'.repeat(1000));
    expect(long.length).to.equal(300);
    expect(long.endsWith('...')).to.equal(true);
  });

  it('always gives a valid SIP quoted-string body', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => {
        const r = safeReason(s);
        expect(r.length).to.be.at.most(300);
        // eslint-disable-next-line no-control-regex
        expect(r).not.to.match(/["\\\u0000-\u001f\u007f]/);
      }),
    );
  });
});
