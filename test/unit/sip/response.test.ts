/** createResponse (RFC 3261 §8.2.6): copied headers and the To tag. */
import { expect } from 'chai';
import { parseNameAddr } from '../../../src/sip/name-addr.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { createResponse, reasonPhrase } from '../../../src/sip/response.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { serialize } from '../../../src/sip/serializer.js';

function request(to: string, extra = ''): SipRequest {
  const text =
    'INVITE sip:bob@example.com SIP/2.0\r\n' +
    'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2\r\n' +
    'v: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n' +
    'Max-Forwards: 70\r\n' +
    'f: "Alice" <sip:alice@example.com>;tag=from1\r\n' +
    `To: ${to}\r\n` +
    'Call-ID: call-1@example.com\r\n' +
    'CSeq: 314159 INVITE\r\n' +
    'Contact: <sip:alice@192.0.2.1>\r\n' +
    'Record-Route: <sip:proxy.example.com;lr>\r\n' +
    extra +
    'Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n';
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.message.type !== 'request') throw new Error('fixture does not parse');
  return r.message;
}

function toTag(value: string | undefined): string | null {
  const r = parseNameAddr(value ?? '');
  if (!r.ok) throw new Error(`To does not parse: ${value}`);
  return r.value.params.get('tag') ?? null;
}

describe('createResponse', () => {
  it('copies Via (all, in order), From, To, Call-ID and CSeq, and nothing else', () => {
    const res = createResponse(request('<sip:bob@example.com>'), 486);
    expect(res).to.deep.include({
      type: 'response',
      status: 486,
      reason: 'Busy Here',
      version: 'SIP/2.0',
    });
    expect(res.headers.getAll('via')).to.deep.equal([
      'SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2',
      'SIP/2.0/UDP c.example.com;branch=z9hG4bK3',
    ]);
    expect(res.headers.get('from')).to.equal('"Alice" <sip:alice@example.com>;tag=from1');
    expect(res.headers.get('call-id')).to.equal('call-1@example.com');
    expect(res.headers.get('cseq')).to.equal('314159 INVITE');
    expect(res.headers.all().map((f) => f.key)).to.deep.equal([
      'via',
      'via',
      'from',
      'to',
      'call-id',
      'cseq',
      'content-length',
    ]);
    expect(res.headers.get('content-length')).to.equal('0');
    expect(res.body.length).to.equal(0);
    for (const absent of ['contact', 'record-route', 'max-forwards', 'content-type'])
      expect(res.headers.has(absent), absent).to.equal(false);
  });

  it('adds a To tag to a non-100 response when the request has none', () => {
    const req = request('"Bob" <sip:bob@example.com>');
    const res = createResponse(req, 180);
    const tag = toTag(res.headers.get('to'));
    expect(tag).to.match(/^[A-Za-z0-9]{10}$/);
    expect(res.headers.get('to')).to.equal(`"Bob" <sip:bob@example.com>;tag=${tag}`);
    expect(toTag(createResponse(req, 200, 'OK', 'chosen').headers.get('to'))).to.equal('chosen');
    expect(toTag(createResponse(req, 200).headers.get('to'))).not.to.equal(tag);
  });

  it('keeps an existing To tag and adds none to a 100', () => {
    expect(
      createResponse(request('<sip:bob@example.com>;tag=abc'), 200, 'OK', 'new').headers.get('to'),
    ).to.equal('<sip:bob@example.com>;tag=abc');
    expect(
      createResponse(request('sip:bob@example.com ; TAG = abc'), 200).headers.get('to'),
    ).to.equal('sip:bob@example.com ; TAG = abc');
    expect(createResponse(request('<sip:bob@example.com>'), 100).headers.get('to')).to.equal(
      '<sip:bob@example.com>',
    );
  });

  it('a "tag" URI parameter inside <> or ";tag=" in a display name is not a To tag', () => {
    const inUri = createResponse(request('<sip:bob@example.com;tag=uri-param>'), 200, 'OK', 't1');
    expect(inUri.headers.get('to')).to.equal('<sip:bob@example.com;tag=uri-param>;tag=t1');
    const inName = createResponse(request('"a;tag=b" <sip:bob@example.com>'), 200, 'OK', 't2');
    expect(toTag(inName.headers.get('to'))).to.equal('t2');
  });

  it('an addr-spec To gets the tag as a header parameter', () => {
    const res = createResponse(request('sip:bob@example.com'), 404, undefined, 'x');
    expect(res.headers.get('to')).to.equal('sip:bob@example.com;tag=x');
    expect(res.reason).to.equal('Not Found');
  });

  it('works from the partial headers of a request that failed to parse, to answer 400', () => {
    const r = parseMessage(
      Buffer.from(
        'INVITE  sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK9\r\nTo: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\n\r\n',
      ),
    );
    if (r.ok || r.partial === null) throw new Error('expected a partial parse');
    const res = createResponse(r.partial, 400, r.reason, 'p');
    expect(serialize(res).toString()).to.equal(
      'SIP/2.0 400 more than one space between Request-Line elements\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK9\r\nTo: <sip:a@b>;tag=p\r\n' +
        'From: <sip:c@d>;tag=1\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('reason phrases', () => {
    expect(reasonPhrase(200)).to.equal('OK');
    expect(reasonPhrase(405)).to.equal('Method Not Allowed');
    expect(reasonPhrase(420)).to.equal('Bad Extension');
    expect(reasonPhrase(505)).to.equal('Version Not Supported');
    expect(reasonPhrase(199)).to.equal('Provisional');
    expect(reasonPhrase(299)).to.equal('OK');
    expect(reasonPhrase(499)).to.equal('Error');
  });
});
