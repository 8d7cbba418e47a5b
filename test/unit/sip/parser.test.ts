/** parseMessage: start lines, Content-Length and bodies (binary too), datagram vs stream; serialize. */
import { expect } from 'chai';
import {
  EMPTY_BODY,
  SipRequest,
  SipResponse,
  setBody,
  type SipMessage,
} from '../../../src/sip/message.js';
import { parseMessage, type ParseFailure } from '../../../src/sip/parser.js';
import { serialize, serializeHead } from '../../../src/sip/serializer.js';

const HEAD = 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCall-ID: x\r\n';

function ok(bytes: Buffer | string, stream = false): SipMessage {
  const r = parseMessage(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes, {
    stream,
  });
  if (!r.ok) throw new Error(`does not parse: ${r.reason}`);
  return r.message;
}

function fail(bytes: Buffer | string, stream = false): ParseFailure {
  const r = parseMessage(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes, {
    stream,
  });
  if (r.ok) throw new Error('parses');
  return r;
}

describe('parseMessage', () => {
  describe('Request-Line (RFC 3261 §7.1)', () => {
    it('method, Request-URI and version', () => {
      const m = ok('INVITE sip:bob@example.com;transport=tcp SIP/2.0\r\n' + HEAD + '\r\n');
      expect(m).to.be.instanceOf(SipRequest);
      expect(m).to.deep.include({
        type: 'request',
        method: 'INVITE',
        uri: 'sip:bob@example.com;transport=tcp',
        version: 'SIP/2.0',
      });
    });

    it('the version is case-insensitive and stored upper case; other versions parse (505 is validation)', () => {
      expect(ok('OPTIONS sip:a@b sip/2.0\r\n\r\n')).to.deep.include({ version: 'SIP/2.0' });
      expect(ok('OPTIONS sip:a@b SIP/7.0\r\n\r\n')).to.deep.include({ version: 'SIP/7.0' });
    });

    it('extension methods are case-sensitive tokens', () => {
      expect(ok('invite sip:a@b SIP/2.0\r\n\r\n')).to.deep.include({ method: 'invite' });
      expect(ok('RE%47IST%45R sip:a@b SIP/2.0\r\n\r\n')).to.deep.include({
        method: 'RE%47IST%45R',
      });
    });

    const BAD: [string, RegExp, string | null][] = [
      ['INVITE  sip:a@b SIP/2.0', /more than one space/, 'INVITE'],
      ['INVITE sip:a@b SIP/2.0 ', /trailing whitespace/, 'INVITE'],
      ['INVITE sip:a@b; lr SIP/2.0', /whitespace inside Request-URI/, 'INVITE'],
      ['INVITE <sip:a@b> SIP/2.0', /enclosed in <>/, 'INVITE'],
      ['INVITE sip:a@b', /malformed Request-Line/, 'INVITE'],
      ['INVITE\tsip:a@b\tSIP/2.0', /malformed Request-Line/, null],
      ['INVITE sip:a@b HTTP/1.1', /SIP-Version/, 'INVITE'],
      ['INVITE sip:a@b SIP/2', /SIP-Version/, 'INVITE'],
      ['IN"VITE sip:a@b SIP/2.0', /bad method/, null],
      ['INVITE  SIP/2.0', /empty Request-URI/, 'INVITE'],
    ];
    for (const [line, reason, method] of BAD) {
      it(`refuses ${JSON.stringify(line)}`, () => {
        const f = fail(line + '\r\n' + HEAD + '\r\n');
        expect(f.reason).to.match(reason);
        expect(f.partial?.type).to.equal('request');
        expect(f.partial?.method).to.equal(method);
        expect(f.partial?.headers.get('call-id')).to.equal('x');
      });
    }
  });

  describe('Status-Line (§7.2)', () => {
    it('status and reason phrase, which may be empty, contain spaces or UTF-8', () => {
      expect(ok('SIP/2.0 180 Ringing\r\n\r\n')).to.be.instanceOf(SipResponse);
      expect(ok('SIP/2.0 180 Ringing\r\n\r\n')).to.deep.include({
        type: 'response',
        status: 180,
        reason: 'Ringing',
        version: 'SIP/2.0',
      });
      expect(ok('SIP/2.0 100 \r\n\r\n')).to.deep.include({ status: 100, reason: '' });
      expect(ok('SIP/2.0 100\r\n\r\n')).to.deep.include({ status: 100, reason: '' });
      expect(ok('SIP/2.0 603 Decline  all  \r\n\r\n')).to.deep.include({
        status: 603,
        reason: 'Decline  all  ',
      });
      expect(ok('SIP/2.0 200 Très bien 大\r\n\r\n')).to.deep.include({ reason: 'Très bien 大' });
    });

    for (const [line, reason] of [
      ['SIP/2.0 4294967301 better not break the receiver', /bad status code/],
      ['SIP/2.0 99 Low', /bad status code/],
      ['SIP/2.0 700 High', /bad status code/],
      ['SIP/2.0 099 Padded', /bad status code/],
      ['SIP/2.0  200 OK', /malformed Status-Line/],
      ['SIP/2.0 OK', /malformed Status-Line/],
      ['SIP/2 200 OK', /malformed Status-Line/],
    ] as const) {
      it(`refuses ${JSON.stringify(line)}`, () => {
        const f = fail(line + '\r\n\r\n');
        expect(f.reason).to.match(reason);
        expect(f.partial?.type).to.equal('response');
      });
    }
  });

  describe('framing: blank line, Content-Length, bodies', () => {
    it('skips CRLFs before the start line (§7.5)', () => {
      expect(ok('\r\n\r\n\nOPTIONS sip:a@b SIP/2.0\r\n\r\n')).to.deep.include({
        method: 'OPTIONS',
      });
    });

    it('an empty or blank datagram fails without throwing', () => {
      expect(fail('').reason).to.match(/empty start line/);
      expect(fail('\r\n\r\n').reason).to.match(/empty start line/);
      expect(fail('\r\n\r\n').partial?.type).to.equal('unknown');
    });

    it('a datagram may end right after the last header', () => {
      expect(ok('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n').headers.get('call-id')).to.equal('x');
      expect(ok('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x').headers.get('call-id')).to.equal('x');
    });

    it('a body with every byte value is kept byte for byte', () => {
      const body = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
      const head = Buffer.from(
        `MESSAGE sip:a@b SIP/2.0\r\n${HEAD}Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      const m = ok(Buffer.concat([head, body]));
      expect(m.body.equals(body)).to.equal(true);
      // Not valid UTF-8, NUL and CRLFCRLF in the body do not disturb the headers.
      const tricky = Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a, 0xc3]);
      const m2 = ok(
        Buffer.concat([Buffer.from(`MESSAGE sip:a@b SIP/2.0\r\n${HEAD}l: 8\r\n\r\n`), tricky]),
      );
      expect(m2.body.equals(tricky)).to.equal(true);
      expect(m2.headers.size).to.equal(3);
    });

    it('octets after Content-Length are not part of a datagram message (§18.3)', () => {
      const m = ok(`OPTIONS sip:a@b SIP/2.0\r\n${HEAD}Content-Length: 3\r\n\r\nabcdef`);
      expect(m.body.toString()).to.equal('abc');
      expect(
        ok(
          `OPTIONS sip:a@b SIP/2.0\r\n${HEAD}Content-Length: 0\r\n\r\nINVITE sip:x SIP/2.0\r\n\r\n`,
        ).body.length,
      ).to.equal(0);
    });

    it('without Content-Length: the rest of a datagram, nothing on a stream', () => {
      const text = `OPTIONS sip:a@b SIP/2.0\r\n${HEAD}\r\nhello`;
      expect(ok(text).body.toString()).to.equal('hello');
      expect(ok(text, true).body.length).to.equal(0);
      expect(ok(`OPTIONS sip:a@b SIP/2.0\r\n${HEAD}\r\n`).body).to.equal(EMPTY_BODY);
    });

    it('Content-Length with leading zeros, compact and with LWS', () => {
      expect(
        ok(`OPTIONS sip:a@b SIP/2.0\r\nContent-Length :  005 \r\n\r\nhelloXX`).body.toString(),
      ).to.equal('hello');
      expect(ok(`OPTIONS sip:a@b SIP/2.0\r\nl:5\r\n\r\nhello`).body.toString()).to.equal('hello');
    });

    for (const [value, reason] of [
      ['-999', /bad Content-Length/],
      ['five', /bad Content-Length/],
      ['1.5', /bad Content-Length/],
      ['+5', /bad Content-Length/],
      ['5 5', /bad Content-Length/],
      ['', /bad Content-Length/],
      ['12345678901', /bad Content-Length/],
      ['9999', /larger than the message/],
    ] as const) {
      it(`Content-Length ${JSON.stringify(value)} is refused`, () => {
        const f = fail(`INVITE sip:a@b SIP/2.0\r\n${HEAD}Content-Length: ${value}\r\n\r\nbody`);
        expect(f.reason).to.match(reason);
        expect(f.partial?.method).to.equal('INVITE');
      });
    }

    it('two Content-Length headers are refused (RFC 4475 §3.3.9), also in compact form', () => {
      expect(
        fail(`OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\nl: 5\r\n\r\nhello`).reason,
      ).to.match(/multiple Content-Length/);
    });

    it('bare LF line ends and a LF-LF blank line', () => {
      const m = ok('OPTIONS sip:a@b SIP/2.0\nCall-ID: x\nContent-Length: 2\n\nhi');
      expect(m.headers.get('call-id')).to.equal('x');
      expect(m.body.toString()).to.equal('hi');
    });

    it('the header section is decoded as UTF-8', () => {
      const m = ok(
        'MESSAGE sip:a@b SIP/2.0\r\nSubject: Grüße 大停電\r\nFrom: "Zoë" <sip:z@b>\r\n\r\n',
      );
      expect(m.headers.get('subject')).to.equal('Grüße 大停電');
      expect(m.headers.get('from')).to.equal('"Zoë" <sip:z@b>');
    });
  });
});

describe('serialize', () => {
  it('writes the start line, the headers in order and the body', () => {
    const m = new SipRequest('MESSAGE', 'sip:bob@example.com');
    m.headers.append('Via', 'SIP/2.0/UDP h;branch=z9hG4bK1').append('i', 'abc');
    setBody(m, Buffer.from([0, 1, 2, 0xff]), 'application/octet-stream');
    const out = serialize(m);
    const head =
      'MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: abc\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\n';
    expect(serializeHead(m)).to.equal(head);
    expect(out.equals(Buffer.concat([Buffer.from(head), Buffer.from([0, 1, 2, 0xff])]))).to.equal(
      true,
    );
    const back = ok(out);
    expect(back.body.equals(m.body)).to.equal(true);
  });

  it('responses, with a UTF-8 reason phrase', () => {
    const r = new SipResponse(486, 'Occupé');
    setBody(r, '');
    expect(serialize(r).toString('utf8')).to.equal(
      'SIP/2.0 486 Occupé\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('setBody replaces Content-Length and drops Content-Type for an empty body', () => {
    const m = new SipRequest('OPTIONS', 'sip:a@b');
    setBody(m, 'hello', 'text/plain');
    setBody(m, 'hi!');
    expect(m.headers.getAll('content-length')).to.deep.equal(['3']);
    expect(m.headers.get('content-type')).to.equal('text/plain');
    setBody(m, Buffer.alloc(0));
    expect(m.headers.has('content-type')).to.equal(false);
    expect(m.headers.get('content-length')).to.equal('0');
  });

  it('serialize(parse(x)) === x for a message written in canonical form', () => {
    const text =
      'INVITE sip:+14155550123@herald.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-1;rport\r\n' +
      'Max-Forwards: 70\r\nFrom: "A" <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n' +
      'Content-Length: 12\r\n\r\nv=0\r\ns=-\r\n\r\n';
    expect(serialize(ok(text)).toString('utf8')).to.equal(text);
  });
});
