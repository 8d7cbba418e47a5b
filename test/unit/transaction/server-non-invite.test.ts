import { expect } from 'chai';
import { createResponse } from '../../../src/sip/response.js';
import { TransactionLayer } from '../../../src/transaction/transaction-layer.js';
import type { ServerTransaction } from '../../../src/transaction/types.js';
import {
  FAST,
  FakeTransport,
  RecordingServerUser,
  request,
  tcpFlow,
  terminated,
  udpFlow,
} from './fake-transport.js';

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  let transport: FakeTransport;
  let user: RecordingServerUser;
  let layer: TransactionLayer;

  beforeEach(() => {
    transport = new FakeTransport();
    user = new RecordingServerUser();
    layer = new TransactionLayer(transport, user, { timers: FAST });
  });
  afterEach(() => layer.stop());

  it('starts in Trying, hands the request to the TU once and absorbs retransmissions silently', () => {
    const options = request({ method: 'OPTIONS' });
    transport.inject(options, udpFlow());
    expect(user.requests.items).to.have.length(1);
    const txn = user.requests.items[0]!.txn;
    expect(txn.state).to.equal('trying');
    expect(layer.serverTransactionCount()).to.equal(1);

    transport.inject(request({ method: 'OPTIONS' }), udpFlow());
    expect(user.requests.items, 'retransmission is not a new request').to.have.length(1);
    expect(transport.sent.items, 'Trying sends nothing on a retransmission').to.have.length(0);
  });

  it('resends the last provisional in Proceeding and the final response in Completed', () => {
    transport.inject(request({ method: 'SUBSCRIBE' }), udpFlow());
    const txn = user.requests.items[0]!.txn;
    txn.respond(createResponse(txn.request, 100));
    expect(txn.state).to.equal('proceeding');
    transport.inject(request({ method: 'SUBSCRIBE' }), udpFlow());
    expect(transport.responses(100)).to.have.length(2);

    txn.respond(createResponse(txn.request, 202));
    expect(txn.state).to.equal('completed');
    transport.inject(request({ method: 'SUBSCRIBE' }), udpFlow());
    transport.inject(request({ method: 'SUBSCRIBE' }), udpFlow());
    expect(transport.responses(202)).to.have.length(3);
    expect(transport.responses(100)).to.have.length(2);
    expect(user.requests.items).to.have.length(1);
  });

  it('ignores responses after the final one', () => {
    transport.inject(request({ method: 'OPTIONS' }), udpFlow());
    const txn = user.requests.items[0]!.txn;
    txn.respond(createResponse(txn.request, 200));
    txn.respond(createResponse(txn.request, 500));
    txn.respond(createResponse(txn.request, 180));
    expect(transport.responses().map((r) => r.status)).to.deep.equal([200]);
  });

  it('terminates on Timer J (64·T1) over UDP and forgets the transaction', async () => {
    transport.inject(request({ method: 'OPTIONS' }), udpFlow());
    const txn = user.requests.items[0]!.txn;
    const done = terminated(txn);
    const t0 = performance.now();
    txn.respond(createResponse(txn.request, 200));
    expect(layer.serverTransactionCount()).to.equal(1);
    await done;
    expect(performance.now() - t0).to.be.at.least(64 * FAST.t1 - 5);
    expect(txn.state).to.equal('terminated');
    expect(layer.serverTransactionCount()).to.equal(0);
    // After Timer J the same request is new again.
    transport.inject(request({ method: 'OPTIONS' }), udpFlow());
    expect(user.requests.items).to.have.length(2);
  });

  it('keeps only method and Request-URI while lingering in Completed over UDP, and still absorbs retransmissions', () => {
    const req = request({ method: 'OPTIONS', extra: ['Subject: kept'] });
    transport.inject(req, udpFlow());
    const { request: given, txn } = user.requests.items[0]!;
    txn.respond(createResponse(given, 200));
    // The TU's own request object is untouched; the transaction let go of the headers.
    expect(given.headers.get('subject')).to.equal('kept');
    expect(txn.request.method).to.equal('OPTIONS');
    expect(txn.request.uri).to.equal(given.uri);
    expect(txn.request.headers.size).to.equal(0);
    const sentBefore = transport.sent.items.length;
    transport.inject(req, udpFlow());
    expect(transport.sent.items.length).to.equal(sentBefore + 1);
    expect(user.requests.items).to.have.length(1);
  });

  describe('Completed over UDP in compact form (nobody listens for the end)', () => {
    it('answers retransmissions from the kept response, then Timer J forgets it and the request is new again', async () => {
      const req = request({ method: 'REGISTER' });
      transport.inject(req, udpFlow());
      const txn = user.requests.items[0]!.txn;
      const t0 = performance.now();
      txn.respond(createResponse(txn.request, 200));
      expect(txn.state).to.equal('completed');
      expect(layer.serverTransactionCount()).to.equal(1);
      transport.inject(req, udpFlow());
      transport.inject(req, udpFlow());
      expect(transport.responses(200)).to.have.length(3);
      expect(user.requests.items).to.have.length(1);
      // A listener registered only now still hears of the end, when Timer J fires.
      await terminated(txn);
      expect(performance.now() - t0, 'never before 64·T1').to.be.at.least(64 * FAST.t1 - 1);
      expect(txn.state).to.equal('terminated');
      expect(layer.serverTransactionCount()).to.equal(0);
      transport.inject(req, udpFlow());
      expect(user.requests.items).to.have.length(2);
    });

    it('runs a late onTerminated listener once, and one registered after the end at once', async () => {
      transport.inject(request({ method: 'OPTIONS' }), udpFlow());
      const txn = user.requests.items[0]!.txn;
      txn.respond(createResponse(txn.request, 200));
      let calls = 0;
      txn.onTerminated(() => calls++);
      txn.onTerminated(() => {
        throw new Error('a throwing listener does not stop the others');
      });
      await terminated(txn);
      expect(calls).to.equal(1);
      let after = 0;
      txn.onTerminated(() => after++);
      expect(after).to.equal(1);
    });

    it('is terminated by stop() without running its listeners', () => {
      transport.inject(request({ method: 'OPTIONS' }), udpFlow());
      const txn = user.requests.items[0]!.txn;
      txn.respond(createResponse(txn.request, 200));
      let calls = 0;
      txn.onTerminated(() => calls++);
      layer.stop();
      expect(layer.serverTransactionCount()).to.equal(0);
      expect(txn.state).to.equal('terminated');
      expect(calls).to.equal(0);
    });

    it('answers a retransmitted CANCEL from the kept response', () => {
      transport.inject(request({ method: 'CANCEL' }), udpFlow());
      expect(transport.responses(481)).to.have.length(1);
      transport.inject(request({ method: 'CANCEL' }), udpFlow());
      expect(transport.responses(481)).to.have.length(2);
      expect(layer.serverTransactionCount()).to.equal(1);
    });
  });

  it('terminates at once over a reliable transport (Timer J = 0)', () => {
    transport.inject(
      request({ method: 'OPTIONS', via: 'SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK-t1' }),
      tcpFlow(),
    );
    const txn = user.requests.items[0]!.txn;
    let ended = false;
    txn.onTerminated(() => (ended = true));
    txn.respond(createResponse(txn.request, 200));
    expect(ended).to.equal(true);
    expect(txn.state).to.equal('terminated');
    expect(layer.serverTransactionCount()).to.equal(0);
  });

  it('onTerminated registered after termination runs at once', () => {
    transport.inject(request({ method: 'OPTIONS' }), tcpFlow());
    const txn = user.requests.items[0]!.txn;
    txn.respond(createResponse(txn.request, 200));
    let called = 0;
    txn.onTerminated(() => called++);
    expect(called).to.equal(1);
  });

  it('sends responses on the flow the request came in on', () => {
    const flow = udpFlow('udp:peer-7');
    transport.inject(request({ method: 'OPTIONS' }), flow);
    const txn = user.requests.items[0]!.txn;
    expect(txn.flow).to.equal(flow);
    txn.respond(createResponse(txn.request, 200));
    expect(transport.sent.items[0]!.flow).to.equal(flow);
  });

  it('distinguishes transactions by branch, sent-by and method (§17.2.3)', () => {
    transport.inject(request({ method: 'OPTIONS', branch: 'z9hG4bK-a' }), udpFlow());
    transport.inject(request({ method: 'OPTIONS', branch: 'z9hG4bK-b' }), udpFlow());
    transport.inject(
      request({ method: 'OPTIONS', via: 'SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-a' }),
      udpFlow(),
    );
    transport.inject(request({ method: 'INFO', branch: 'z9hG4bK-a' }), udpFlow());
    expect(user.requests.items).to.have.length(4);
    expect(layer.serverTransactionCount()).to.equal(4);
  });

  it('answers 500 when the TU throws before responding', () => {
    user.onRequestImpl = () => {
      throw new Error('boom');
    };
    transport.inject(request({ method: 'OPTIONS' }), udpFlow());
    expect(transport.responses().map((r) => r.status)).to.deep.equal([500]);
  });

  it('keeps working when the TU throws after responding', () => {
    user.onRequestImpl = (req, txn: ServerTransaction) => {
      txn.respond(createResponse(req, 200));
      throw new Error('late boom');
    };
    transport.inject(request({ method: 'OPTIONS' }), udpFlow());
    expect(transport.responses().map((r) => r.status)).to.deep.equal([200]);
  });
});
