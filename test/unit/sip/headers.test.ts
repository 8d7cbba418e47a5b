/** Header fields: compact forms, repeated headers and comma lists, line folding, the Headers API. */
import { expect } from 'chai';
import { canonicalName, headerKey } from '../../../src/sip/header-names.js';
import { Headers } from '../../../src/sip/headers.js';
import type { SipMessage } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { serialize } from '../../../src/sip/serializer.js';

const START = 'OPTIONS sip:bob@example.com SIP/2.0\r\n';

function parse(text: string): SipMessage {
  const r = parseMessage(Buffer.from(text, 'utf8'));
  if (!r.ok) throw new Error(`does not parse: ${r.reason}`);
  return r.message;
}

function headersOf(lines: string[]): Headers {
  return parse(START + lines.map((l) => l + '\r\n').join('') + '\r\n').headers;
}

describe('header fields', () => {
  describe('compact forms (RFC 3261 §7.3.3 and extensions)', () => {
    const COMPACT: Record<string, [string, string]> = {
      i: ['call-id', 'Call-ID'],
      m: ['contact', 'Contact'],
      e: ['content-encoding', 'Content-Encoding'],
      l: ['content-length', 'Content-Length'],
      c: ['content-type', 'Content-Type'],
      f: ['from', 'From'],
      s: ['subject', 'Subject'],
      k: ['supported', 'Supported'],
      t: ['to', 'To'],
      v: ['via', 'Via'],
      o: ['event', 'Event'],
      r: ['refer-to', 'Refer-To'],
      b: ['referred-by', 'Referred-By'],
      u: ['allow-events', 'Allow-Events'],
      x: ['session-expires', 'Session-Expires'],
    };
    for (const [letter, [key, spelled]] of Object.entries(COMPACT)) {
      it(`"${letter}" and "${letter.toUpperCase()}" are ${spelled}`, () => {
        expect(headerKey(letter)).to.equal(key);
        expect(headerKey(letter.toUpperCase())).to.equal(key);
        const value = letter === 'l' ? '0' : `value-of-${letter}`;
        const h = headersOf([`${letter.toUpperCase()}: ${value}`]);
        expect(h.get(key)).to.equal(value);
        expect(h.get(spelled)).to.equal(value);
        expect(h.get(letter)).to.equal(value);
        // A compact form is written in its long form.
        expect(h.all()[0]).to.deep.equal({ key, name: spelled, value });
      });
    }

    it('the long name is looked up case-insensitively and written as received', () => {
      const h = headersOf(['cALL-iD: abc', 'VIA: SIP/2.0/UDP h;branch=z9hG4bK1']);
      expect(h.get('Call-ID')).to.equal('abc');
      expect(h.get('i')).to.equal('abc');
      expect(h.all().map((f) => f.name)).to.deep.equal(['cALL-iD', 'VIA']);
    });

    it('a compact and a long form of the same header are one header, in order', () => {
      const h = headersOf([
        'Via: SIP/2.0/UDP a;branch=z9hG4bK1',
        'v: SIP/2.0/UDP b;branch=z9hG4bK2',
        'VIA: SIP/2.0/UDP c',
      ]);
      expect(h.count('via')).to.equal(3);
      expect(h.getAll('v')).to.deep.equal([
        'SIP/2.0/UDP a;branch=z9hG4bK1',
        'SIP/2.0/UDP b;branch=z9hG4bK2',
        'SIP/2.0/UDP c',
      ]);
    });

    it('single-letter names that are not compact forms stay their own header', () => {
      expect(headerKey('q')).to.equal('q');
      expect(headerKey('Z')).to.equal('z');
      const h = headersOf(['q: 1', 'Z: 2']);
      expect(h.get('q')).to.equal('1');
      expect(h.get('z')).to.equal('2');
    });

    it('header names that are Object.prototype properties are ordinary headers', () => {
      for (const name of [
        'Constructor',
        'constructor',
        '__proto__',
        'toString',
        'hasOwnProperty',
        'valueOf',
      ]) {
        const r = parseMessage(Buffer.from(`${START}${name}: x\r\n\r\n`));
        if (!r.ok) throw new Error(`${name}: ${r.reason}`);
        expect(r.message.headers.all(), name).to.deep.equal([
          { key: name.toLowerCase(), name, value: 'x' },
        ]);
        expect(r.message.headers.get(name)).to.equal('x');
        expect(serialize(r.message).toString()).to.equal(`${START}${name}: x\r\n\r\n`);
      }
      expect(headerKey('constructor')).to.equal('constructor');
      expect(canonicalName('constructor')).to.equal('Constructor');
      expect(canonicalName('__proto__')).to.equal('__proto__');
    });

    it('canonical spellings', () => {
      expect(canonicalName('call-id')).to.equal('Call-ID');
      expect(canonicalName('cseq')).to.equal('CSeq');
      expect(canonicalName('www-authenticate')).to.equal('WWW-Authenticate');
      expect(canonicalName('p-asserted-identity')).to.equal('P-Asserted-Identity');
      expect(canonicalName('max-forwards')).to.equal('Max-Forwards');
    });
  });

  describe('repeated headers and comma-separated lists (§7.3.1)', () => {
    it('list() splits list headers across all their lines', () => {
      const h = headersOf([
        'Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2',
        'Supported: path, gruu',
        'Via: SIP/2.0/WS c;branch=z9hG4bK3',
        'k: outbound',
      ]);
      expect(h.list('via')).to.deep.equal([
        'SIP/2.0/UDP a;branch=z9hG4bK1',
        'SIP/2.0/TCP b;branch=z9hG4bK2',
        'SIP/2.0/WS c;branch=z9hG4bK3',
      ]);
      expect(h.list('supported')).to.deep.equal(['path', 'gruu', 'outbound']);
      expect(h.getAll('via')).to.have.length(2);
    });

    it('commas inside quotes and <> do not split', () => {
      const h = headersOf([
        'Contact: "Doe, John" <sip:j@a;x=1,2>;q=0.5, <sip:k@b>',
        'Route: <sip:p1;lr>,<sip:p2;lr>',
      ]);
      expect(h.list('contact')).to.deep.equal(['"Doe, John" <sip:j@a;x=1,2>;q=0.5', '<sip:k@b>']);
      expect(h.list('route')).to.deep.equal(['<sip:p1;lr>', '<sip:p2;lr>']);
    });

    it('an escaped quote inside a quoted string does not end it', () => {
      const h = headersOf(['Contact: "a \\", b" <sip:a@b>, <sip:c@d>']);
      expect(h.list('contact')).to.deep.equal(['"a \\", b" <sip:a@b>', '<sip:c@d>']);
    });

    it('empty elements are skipped', () => {
      expect(headersOf(['Allow: INVITE,, ACK ,', 'Allow: ']).list('allow')).to.deep.equal([
        'INVITE',
        'ACK',
      ]);
    });

    it('non-list headers are not split (Authorization, Date, Subject…)', () => {
      const h = headersOf([
        'Authorization: Digest username="a", realm="b", nonce="c"',
        'Date: Sat, 13 Nov 2010 23:29:00 GMT',
      ]);
      expect(h.list('authorization')).to.deep.equal(['Digest username="a", realm="b", nonce="c"']);
      expect(h.list('date')).to.deep.equal(['Sat, 13 Nov 2010 23:29:00 GMT']);
    });

    it('an unbalanced quote or <> makes a list header unsplittable', () => {
      expect(headersOf(['Contact: "open <sip:a@b>']).list('contact')).to.equal(null);
      expect(headersOf(['Route: <sip:a@b']).list('route')).to.equal(null);
    });

    it('a header absent gives an empty list, undefined value and zero count', () => {
      const h = headersOf(['Max-Forwards: 70']);
      expect(h.list('via')).to.deep.equal([]);
      expect(h.get('via')).to.equal(undefined);
      expect(h.getAll('via')).to.deep.equal([]);
      expect(h.count('via')).to.equal(0);
      expect(h.has('via')).to.equal(false);
    });
  });

  describe('line folding (§7.3.1)', () => {
    it('continuation lines join the value with one space', () => {
      const h = headersOf(['Subject: first', ' second', '\t\tthird  ', 'X-Next: after']);
      expect(h.get('subject')).to.equal('first second third');
      expect(h.get('x-next')).to.equal('after');
      expect(h.size).to.equal(2);
    });

    it('many continuation lines, empty ones included, join like one at a time', () => {
      const parts = Array.from({ length: 5000 }, (_, i) => (i % 7 === 3 ? '   ' : `p${i}`));
      const h = headersOf(['X-Long: start', ...parts.map((p) => ' ' + p), 'X-After: 1', ' tail']);
      expect(h.get('x-long')).to.equal(
        ['start', ...parts.filter((p) => p.trim() !== '')].join(' '),
      );
      expect(h.get('x-after')).to.equal('1 tail');
    });

    it('a value that starts on the next line', () => {
      const h = headersOf(['Contact:', '   <sip:a@b>', 'To :', ' <sip:c@d>']);
      expect(h.get('contact')).to.equal('<sip:a@b>');
      expect(h.get('to')).to.equal('<sip:c@d>');
    });

    it('folding inside a structured value parses as if unfolded', () => {
      const h = headersOf([
        'Via: SIP/2.0/UDP',
        '  host.example.com;',
        '  branch=z9hG4bKabc, SIP/2.0/TCP',
        ' other.example.com',
      ]);
      expect(h.list('via')).to.deep.equal([
        'SIP/2.0/UDP host.example.com; branch=z9hG4bKabc',
        'SIP/2.0/TCP other.example.com',
      ]);
    });

    it('works with bare LF line ends too', () => {
      const m = parse('OPTIONS sip:a@b SIP/2.0\nSubject: one\n two\nCall-ID: x\n\n');
      expect(m.headers.get('subject')).to.equal('one two');
      expect(m.headers.get('call-id')).to.equal('x');
    });

    it('a continuation line before any header is an error', () => {
      const r = parseMessage(Buffer.from(START + ' folded\r\nCall-ID: x\r\n\r\n'));
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.reason).to.match(/continuation line/);
    });

    it('whitespace around the colon and the value is LWS, and only SP/HT are stripped', () => {
      const h = headersOf(['Subject  \t:  \t hello world \t', 'X-Bom: \uFEFFvalue\u00A0']);
      expect(h.get('subject')).to.equal('hello world');
      expect(h.get('x-bom')).to.equal('\uFEFFvalue\u00A0');
    });
  });

  describe('malformed header lines', () => {
    for (const [line, reason] of [
      ['No colon here', /no colon/],
      [': value', /no colon/],
      ['Bad Name: value', /malformed header name/],
      ['Bad"Name: value', /malformed header name/],
    ] as const) {
      it(`"${line}" is rejected (${reason.source})`, () => {
        const r = parseMessage(Buffer.from(START + 'Call-ID: x\r\n' + line + '\r\n\r\n'));
        expect(r.ok).to.equal(false);
        if (r.ok) return;
        expect(r.reason).to.match(reason);
        // The headers read so far are still there for a 400.
        expect(r.partial?.headers.get('call-id')).to.equal('x');
      });
    }
  });

  describe('the Headers API', () => {
    it('append, prepend, set, remove, removeFirst', () => {
      const h = new Headers();
      h.append('Via', 'SIP/2.0/UDP b').append('v', 'SIP/2.0/UDP c').append('Call-ID', 'x');
      h.prepend('Via', 'SIP/2.0/UDP a');
      expect(h.getAll('via')).to.deep.equal(['SIP/2.0/UDP a', 'SIP/2.0/UDP b', 'SIP/2.0/UDP c']);
      h.prepend('Record-Route', '<sip:p;lr>');
      expect(h.all()[0]?.name).to.equal('Record-Route');
      h.set('via', 'SIP/2.0/TCP z');
      expect(h.getAll('via')).to.deep.equal(['SIP/2.0/TCP z']);
      expect(h.all().map((f) => f.key)).to.deep.equal(['record-route', 'via', 'call-id']);
      h.set('Max-Forwards', '70');
      expect(h.all().at(-1)).to.deep.equal({
        key: 'max-forwards',
        name: 'Max-Forwards',
        value: '70',
      });
      h.remove('record-route');
      expect(h.has('record-route')).to.equal(false);
      h.set('Via', 'SIP/2.0/UDP a, SIP/2.0/UDP b');
      h.removeFirst('via');
      expect(h.getAll('via')).to.deep.equal(['SIP/2.0/UDP b']);
      h.removeFirst('via');
      expect(h.has('via')).to.equal(false);
      h.removeFirst('via');
      expect(h.size).to.equal(2);
    });

    it('clone is independent of the original', () => {
      const h = new Headers().append('Call-ID', 'x');
      const c = h.clone();
      c.append('CSeq', '1 OPTIONS');
      expect(h.size).to.equal(1);
      expect(c.size).to.equal(2);
    });

    it('memo caches until the headers change', () => {
      const h = new Headers().append('Call-ID', 'x');
      let computed = 0;
      const get = (): string | undefined => h.memo('cseq', () => (computed++, h.get('call-id')));
      expect(get()).to.equal('x');
      expect(get()).to.equal('x');
      expect(computed).to.equal(1);
      h.set('Call-ID', 'y');
      expect(get()).to.equal('y');
      expect(computed).to.equal(2);
    });

    it('memo keeps each slot apart and remembers a null view', () => {
      const h = new Headers().append('Call-ID', 'x');
      let computed = 0;
      const none = (): null => h.memo('via', () => (computed++, null));
      expect(none()).to.equal(null);
      expect(none()).to.equal(null);
      expect(computed, 'null is a memoized value, not a miss').to.equal(1);
      expect(h.memo('to', () => 'to-view')).to.equal('to-view');
      expect(h.memo('from', () => 'from-view')).to.equal('from-view');
      expect(h.memo('to', () => 'recomputed')).to.equal('to-view');
      expect(none()).to.equal(null);
      expect(computed).to.equal(1);
    });

    it('headers are serialized in order with their names as stored', () => {
      const m = parse(START + 'v: SIP/2.0/UDP a\r\nX-Custom: 1\r\nl: 0\r\n\r\n');
      expect(serialize(m).toString()).to.equal(
        START + 'Via: SIP/2.0/UDP a\r\nX-Custom: 1\r\nContent-Length: 0\r\n\r\n',
      );
    });
  });
});
