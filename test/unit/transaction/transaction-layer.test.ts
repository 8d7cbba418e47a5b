import { expect } from 'chai';
import { Headers } from '../../../src/sip/headers.js';
import { topViaOf } from '../../../src/sip/fields.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { createResponse } from '../../../src/sip/response.js';
import { createCancel } from '../../../src/transaction/cancel.js';
import { TransactionLayer } from '../../../src/transaction/transaction-layer.js';
import type { SendTarget } from '../../../src/transport/types.js';
import {
  FAST,
  FakeTransport,
  RecordingClientUser,
  RecordingServerUser,
  delay,
  parse,
  request,
  responseTo,
  udpFlow,
} from './fake-transport.js';

const UDP: SendTarget = { protocol: 'udp', address: '192.0.2.30', port: 5060 };

describe('TransactionLayer', () => {
  let transport: FakeTransport;
  let user: RecordingServerUser;
  let layer: TransactionLayer;

  beforeEach(() => {
    transport = new FakeTransport();
    user = new RecordingServerUser();
    layer = new TransactionLayer(transport, user, { timers: FAST });
  });
  afterEach(() => layer.stop());

  describe('inbound validation (§8.2, §18.1.2)', () => {
    it('answers an invalid request statelessly with the verdict status and reason', () => {
      const bad = request({ method: 'OPTIONS', cseqMethod: 'INFO' });
      transport.inject(bad, udpFlow());
      const [res] = transport.responses();
      expect(res!.status).to.equal(400);
      expect(res!.reason).to.equal('CSeq method does not match Request-Line');
      expect(user.requests.items).to.have.length(0);
      expect(layer.serverTransactionCount()).to.equal(0);
    });

    it('answers 505 to an unsupported version and 416 to an unsupported URI scheme', () => {
      const v = request({ method: 'OPTIONS' });
      v.version = 'SIP/3.0';
      transport.inject(v, udpFlow());
      transport.inject(request({ method: 'OPTIONS', uri: 'http://example.com/' }), udpFlow());
      expect(transport.responses().map((r) => [r.status, r.reason])).to.deep.equal([
        [505, 'Version Not Supported'],
        [416, 'Unsupported URI Scheme'],
      ]);
    });

    it('never answers an invalid ACK', () => {
      transport.inject(request({ method: 'ACK', cseqMethod: 'INVITE' }), udpFlow());
      expect(transport.sent.items).to.have.length(0);
      expect(user.acks.items).to.have.length(0);
    });

    it('answers a malformed request that has a Via with the failure status and reason', () => {
      const headers = new Headers()
        .append('Via', 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-bad')
        .append('From', '<sip:a@example.com>;tag=1')
        .append('To', '<sip:b@example.com>')
        .append('Call-ID', 'broken')
        .append('CSeq', '1 OPTIONS');
      transport.injectMalformed({
        status: 400,
        reason: 'malformed header line (no colon)',
        partial: { type: 'request', method: 'OPTIONS', headers },
        flow: udpFlow(),
      });
      transport.injectMalformed({
        status: 513,
        reason: 'message too large',
        partial: { type: 'request', method: null, headers },
        flow: udpFlow(),
      });
      const res = transport.responses();
      expect(res.map((r) => [r.status, r.reason])).to.deep.equal([
        [400, 'malformed header line (no colon)'],
        [513, 'message too large'],
      ]);
      expect(res[0]!.headers.get('call-id')).to.equal('broken');
      expect(res[0]!.headers.get('via')).to.equal('SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-bad');
      expect(res[0]!.headers.get('cseq')).to.equal('1 OPTIONS');
    });

    it('drops malformed responses, unknown messages, ACKs and requests without a Via', () => {
      const withVia = new Headers().append('Via', 'SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-x');
      const flow = udpFlow();
      transport.injectMalformed({
        status: 400,
        reason: 'r',
        partial: { type: 'response', method: null, headers: withVia },
        flow,
      });
      transport.injectMalformed({
        status: 400,
        reason: 'r',
        partial: { type: 'unknown', method: null, headers: withVia },
        flow,
      });
      transport.injectMalformed({
        status: 400,
        reason: 'r',
        partial: { type: 'request', method: 'ACK', headers: withVia },
        flow,
      });
      transport.injectMalformed({
        status: 400,
        reason: 'r',
        partial: { type: 'request', method: 'OPTIONS', headers: new Headers() },
        flow,
      });
      transport.injectMalformed({ status: 400, reason: 'r', partial: null, flow });
      expect(transport.sent.items).to.have.length(0);
    });

    it('drops invalid responses and responses that match no client transaction', () => {
      const clientUser = new RecordingClientUser();
      layer.sendRequest(request({ method: 'OPTIONS', via: null }), UDP, clientUser);
      const sent = transport.requests('OPTIONS')[0]!;
      const invalid = responseTo(sent, 200);
      invalid.headers.remove('call-id');
      transport.inject(invalid, udpFlow());
      transport.inject(
        responseTo(request({ method: 'OPTIONS', branch: 'z9hG4bK-stranger' }), 200),
        udpFlow(),
      );
      expect(clientUser.events.items).to.have.length(0);
      transport.inject(responseTo(sent, 200), udpFlow());
      expect(clientUser.responses(200)).to.have.length(1);
    });
  });

  describe('stateless sending', () => {
    it('respondStateless sends on the flow but never answers an ACK', () => {
      const req = request({ method: 'OPTIONS' });
      const flow = udpFlow('udp:s');
      layer.respondStateless(req, createResponse(req, 404), flow);
      const ack = request({ method: 'ACK' });
      layer.respondStateless(ack, createResponse(ack, 400), flow);
      expect(transport.sent.items).to.have.length(1);
      expect(transport.sent.items[0]!.flow).to.equal(flow);
      expect(layer.serverTransactionCount()).to.equal(0);
    });

    it('sendAck adds our Via and Max-Forwards, creates no transaction, and reuses the Via when re-sent', () => {
      const ack = request({ method: 'ACK', via: null, noMaxForwards: true, toTag: 'x' });
      layer.sendAck(ack, UDP);
      layer.sendAck(ack, UDP);
      const sent = transport.requests('ACK');
      expect(sent).to.have.length(2);
      expect(ack.headers.count('via')).to.equal(1);
      expect(ack.headers.get('via')).to.match(
        /^SIP\/2\.0\/UDP 192\.0\.2\.1:5060;branch=z9hG4bK.+;rport$/,
      );
      expect(ack.headers.get('max-forwards')).to.equal('70');
      expect(transport.sent.items[0]!.target).to.deep.equal(UDP);
      expect(layer.clientTransactionCount()).to.equal(0);
    });

    it('a request re-sent through sendRequest gets a fresh branch, not a second Via (§8.1.3.5)', () => {
      const req = request({ method: 'REGISTER', via: null });
      layer.sendRequest(req, UDP, new RecordingClientUser());
      const first = topViaOf(req)!.params.get('branch');
      req.headers.set('CSeq', '2 REGISTER');
      layer.sendRequest(req, UDP, new RecordingClientUser());
      expect(req.headers.count('via')).to.equal(1);
      expect(topViaOf(req)!.params.get('branch')).to.not.equal(first);
      expect(layer.clientTransactionCount()).to.equal(2);
    });
  });

  describe('stop()', () => {
    it('cancels every timer, forgets every transaction and stops listening', async () => {
      layer.sendRequest(request({ method: 'OPTIONS', via: null }), UDP, new RecordingClientUser());
      layer.sendRequest(request({ method: 'INVITE', via: null }), UDP, new RecordingClientUser());
      transport.inject(request({ method: 'INVITE', branch: 'z9hG4bK-s1' }), udpFlow());
      const txn = user.requests.items[0]!.txn;
      txn.respond(createResponse(txn.request, 486));
      expect(layer.serverTransactionCount()).to.equal(1);
      expect(layer.clientTransactionCount()).to.equal(2);
      layer.stop();
      expect(layer.serverTransactionCount()).to.equal(0);
      expect(layer.clientTransactionCount()).to.equal(0);
      expect(transport.listenerCount('message')).to.equal(0);
      expect(transport.listenerCount('malformed')).to.equal(0);
      const sent = transport.sent.items.length;
      await delay(6 * FAST.t1);
      expect(transport.sent.items.length, 'no retransmission after stop').to.equal(sent);
      expect(() =>
        layer.sendRequest(
          request({ method: 'OPTIONS', via: null }),
          UDP,
          new RecordingClientUser(),
        ),
      ).to.throw();
    });
  });

  describe('createCancel (§9.1)', () => {
    it('copies Request-URI, Call-ID, To, From, CSeq number, the top Via only and Route; adds Reason', () => {
      const invite = parse(
        [
          'INVITE sip:bob@biloxi.example.com SIP/2.0',
          'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-top, SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-below',
          'Via: SIP/2.0/UDP 192.0.2.8;branch=z9hG4bK-lower',
          'Max-Forwards: 69',
          'Route: <sip:p1.example.com;lr>',
          'Route: <sip:p2.example.com;lr>',
          'From: <sip:alice@example.com>;tag=ft',
          'To: <sip:bob@example.com>',
          'Call-ID: cid-9',
          'CSeq: 314 INVITE',
          'Content-Type: application/sdp',
          'Content-Length: 3',
          '',
          'v=0',
        ].join('\r\n'),
      ) as SipRequest;
      const cancel = createCancel(invite, 'SIP;cause=200;text="Call completed elsewhere"');
      expect(cancel.method).to.equal('CANCEL');
      expect(cancel.uri).to.equal('sip:bob@biloxi.example.com');
      expect(cancel.headers.getAll('via')).to.deep.equal([
        'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-top',
      ]);
      expect(cancel.headers.getAll('route')).to.deep.equal([
        '<sip:p1.example.com;lr>',
        '<sip:p2.example.com;lr>',
      ]);
      expect(cancel.headers.get('from')).to.equal('<sip:alice@example.com>;tag=ft');
      expect(cancel.headers.get('to')).to.equal('<sip:bob@example.com>');
      expect(cancel.headers.get('call-id')).to.equal('cid-9');
      expect(cancel.headers.get('cseq')).to.equal('314 CANCEL');
      expect(cancel.headers.get('reason')).to.equal(
        'SIP;cause=200;text="Call completed elsewhere"',
      );
      expect(cancel.headers.get('max-forwards')).to.equal('70');
      expect(cancel.headers.has('content-type')).to.equal(false);
      expect(cancel.body.length).to.equal(0);
      expect(createCancel(invite).headers.has('reason')).to.equal(false);
    });
  });

  it('rejects nonsensical timer settings', () => {
    expect(() => new TransactionLayer(transport, user, { timers: { t1: 0 } })).to.throw(RangeError);
    expect(() => new TransactionLayer(transport, user, { timers: { t1: 100, t2: 50 } })).to.throw(
      RangeError,
    );
  });

  it('defaults to the RFC 3261 timer values', () => {
    const l = new TransactionLayer(new FakeTransport(), user);
    expect(l.settings).to.deep.equal({ t1: 500, t2: 4000, t4: 5000, timerD: 32000 });
    l.stop();
  });
});
