import { expect } from 'chai';
import { cseqOf, tagOf, toOf, topViaOf } from '../../../src/sip/fields.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { serialize } from '../../../src/sip/serializer.js';
import { TransactionLayer } from '../../../src/transaction/transaction-layer.js';
import type { ClientTransaction } from '../../../src/transaction/types.js';
import type { SendTarget } from '../../../src/transport/types.js';
import {
  FAST,
  FakeTransport,
  RecordingClientUser,
  RecordingServerUser,
  delay,
  request,
  responseTo,
  tcpFlow,
  terminated,
  udpFlow,
} from './fake-transport.js';

const UDP: SendTarget = { protocol: 'udp', address: '192.0.2.30', port: 5060 };
const TCP: SendTarget = { protocol: 'tcp', address: '192.0.2.30', port: 5060 };

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §8.4)', () => {
  let transport: FakeTransport;
  let layer: TransactionLayer;
  let user: RecordingClientUser;

  beforeEach(() => {
    transport = new FakeTransport();
    layer = new TransactionLayer(transport, new RecordingServerUser(), { timers: FAST });
    user = new RecordingClientUser();
  });
  afterEach(() => layer.stop());

  function outInvite(extra: string[] = []): SipRequest {
    return request({ method: 'INVITE', via: null, noMaxForwards: true, extra });
  }

  function send(target: SendTarget = UDP, req = outInvite()): ClientTransaction {
    return layer.sendRequest(req, target, user);
  }

  it('adds our Via (transport, sent-by, new branch, rport) and Max-Forwards, and sends to the target', () => {
    const txn = send();
    expect(txn.state).to.equal('calling');
    expect(transport.sent.items).to.have.length(1);
    const sent = transport.sent.items[0]!;
    expect(sent.target).to.deep.equal(UDP);
    const req = sent.message as SipRequest;
    expect(req.headers.count('via')).to.equal(1);
    const via = req.headers.get('via')!;
    expect(via).to.match(/^SIP\/2\.0\/UDP 192\.0\.2\.1:5060;branch=z9hG4bK[^;]+;rport$/);
    expect(req.headers.get('max-forwards')).to.equal('70');
    expect(layer.clientTransactionCount()).to.equal(1);
    // Each transaction gets a fresh branch.
    send(UDP, outInvite());
    const b1 = topViaOf(transport.requests()[0]!)!.params.get('branch');
    const b2 = topViaOf(transport.requests()[1]!)!.params.get('branch');
    expect(b1).to.not.equal(b2);
  });

  it('keeps an existing Max-Forwards and uses the protocol of a flow target', () => {
    transport.flows.set('tcp:9', tcpFlow('tcp:9'));
    const req = request({ method: 'INVITE', via: null, extra: [] });
    req.headers.set('Max-Forwards', '12');
    layer.sendRequest(req, { flowId: 'tcp:9' }, user);
    expect(req.headers.get('max-forwards')).to.equal('12');
    expect(req.headers.get('via')).to.match(/^SIP\/2\.0\/TCP /);
  });

  it('retransmits on Timer A (UDP, doubling) and times out on Timer B', async () => {
    const txn = send();
    const t0 = performance.now();
    await user.waitFor('timeout');
    expect(performance.now() - t0).to.be.at.least(64 * FAST.t1 - 5);
    const sends = transport.requests('INVITE').length;
    expect(sends, 'at least 3 retransmissions').to.be.at.least(4);
    // Doubling without a T2 cap: 10+20+40+80+160+320 = 630 ms → at most 7 sends in 640 ms.
    expect(sends, 'Timer A doubles').to.be.at.most(8);
    expect(user.count('timeout')).to.equal(1);
    expect(txn.state).to.equal('terminated');
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('over TCP never retransmits, and Timer B still fires', async () => {
    send(TCP);
    await user.waitFor('timeout');
    expect(transport.requests('INVITE')).to.have.length(1);
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('a provisional response moves to Proceeding and stops retransmissions and Timer B', async () => {
    const txn = send();
    const sent = transport.requests('INVITE')[0]!;
    transport.inject(responseTo(sent, 180), udpFlow());
    expect(txn.state).to.equal('proceeding');
    expect(user.responses(180)).to.have.length(1);
    const count = transport.requests('INVITE').length;
    await delay(64 * FAST.t1 + 50);
    expect(transport.requests('INVITE').length).to.equal(count);
    expect(user.count('timeout'), 'Timer B only fires in Calling').to.equal(0);
    expect(txn.state).to.equal('proceeding');
  });

  it('3xx–6xx: Completed, ACK per §17.1.1.3, retransmissions ACKed again but not passed up, Timer D', async () => {
    const req = outInvite([
      'Route: <sip:proxy1.example.com;lr>',
      'Route: <sip:proxy2.example.com;lr>',
    ]);
    req.uri = 'sip:bob@biloxi.example.com';
    const txn = send(UDP, req);
    const sent = transport.requests('INVITE')[0]!;
    const done = terminated(txn);
    transport.inject(responseTo(sent, 486, 'busy-tag'), udpFlow());
    expect(txn.state).to.equal('completed');
    expect(user.responses(486)).to.have.length(1);
    const acks = transport.requests('ACK');
    expect(acks).to.have.length(1);
    const ack = acks[0]!;
    expect(ack.uri).to.equal('sip:bob@biloxi.example.com');
    expect(ack.headers.getAll('via')).to.deep.equal([sent.headers.list('via')![0]]);
    expect(tagOf(toOf(ack))).to.equal('busy-tag');
    expect(ack.headers.get('from')).to.equal(sent.headers.get('from'));
    expect(ack.headers.get('call-id')).to.equal(sent.headers.get('call-id'));
    expect(cseqOf(ack)).to.deep.equal({ seq: 1, method: 'ACK' });
    expect(ack.headers.getAll('route')).to.deep.equal([
      '<sip:proxy1.example.com;lr>',
      '<sip:proxy2.example.com;lr>',
    ]);
    expect(transport.sent.items.at(-1)!.target).to.deep.equal(UDP);

    transport.inject(responseTo(sent, 486, 'busy-tag'), udpFlow());
    transport.inject(responseTo(sent, 486, 'busy-tag'), udpFlow());
    expect(transport.requests('ACK')).to.have.length(3);
    expect(user.responses(486), 'retransmissions are absorbed').to.have.length(1);
    const t0 = performance.now();
    await done;
    expect(performance.now() - t0).to.be.at.least(FAST.timerD - 20);
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('over TCP a failure terminates at once (Timer D = 0)', () => {
    const txn = send(TCP);
    transport.inject(responseTo(transport.requests('INVITE')[0]!, 404), tcpFlow());
    expect(transport.requests('ACK')).to.have.length(1);
    expect(user.responses(404)).to.have.length(1);
    expect(txn.state).to.equal('terminated');
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('2xx: Accepted, every 2xx (retransmission or fork) goes up, no ACK from the transaction, Timer M', async () => {
    const txn = send();
    const sent = transport.requests('INVITE')[0]!;
    const done = terminated(txn);
    transport.inject(responseTo(sent, 180, 'a'), udpFlow());
    transport.inject(responseTo(sent, 200, 'a'), udpFlow());
    expect(txn.state).to.equal('accepted');
    transport.inject(responseTo(sent, 200, 'a'), udpFlow());
    transport.inject(responseTo(sent, 200, 'fork-b'), udpFlow());
    transport.inject(responseTo(sent, 486, 'fork-c'), udpFlow());
    transport.inject(responseTo(sent, 183, 'fork-d'), udpFlow());
    expect(user.responses(200).map((r) => tagOf(toOf(r)))).to.deep.equal(['a', 'a', 'fork-b']);
    expect(user.responses(486)).to.have.length(0);
    expect(transport.requests('ACK'), 'the 2xx ACK belongs to the TU').to.have.length(0);
    const count = transport.requests('INVITE').length;
    await done;
    expect(transport.requests('INVITE').length, 'no retransmission in Accepted').to.equal(count);
    expect(user.count('timeout')).to.equal(0);
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('settle: kept as its ACK only — a retransmitted 2xx of the dialog gets the same ACK again, anything else nothing, until 64·T1', async () => {
    const txn = send();
    const sent = transport.requests('INVITE')[0]!;
    transport.inject(responseTo(sent, 200, 'a'), udpFlow());
    const ackTarget: SendTarget = { protocol: 'udp', address: '192.0.2.31', port: 5062 };
    const ack = request({ method: 'ACK', via: null, toTag: 'a', branch: 'unused' });
    const ackBytes = layer.sendAck(ack, ackTarget);
    const t0 = performance.now();
    txn.settle(ackBytes, ackTarget);
    expect(layer.clientTransactionCount(), 'still matched…').to.equal(1);
    expect(layer.compactTransactionCount().client, '…as a compact entry').to.equal(1);
    expect(txn.state).to.equal('accepted');
    transport.inject(responseTo(sent, 200, 'a'), udpFlow());
    transport.inject(responseTo(sent, 200, 'fork-b'), udpFlow());
    transport.inject(responseTo(sent, 180, 'a'), udpFlow());
    const acks = transport.sent.filter((s) => s.kind === 'request' && (s.message as SipRequest).method === 'ACK');
    expect(acks, 'one ACK again, for the dialog\'s own 2xx only').to.have.length(2);
    expect(serialize(acks[1]!.message).equals(serialize(acks[0]!.message)), 'the same ACK, byte for byte').to.equal(true);
    expect(acks[1]!.target).to.deep.equal(ackTarget);
    expect(user.responses(200), 'nothing reaches the first TU after settle').to.have.length(1);
    await terminated(txn);
    expect(performance.now() - t0).to.be.at.least(64 * FAST.t1 - 20);
    expect(txn.state).to.equal('terminated');
    expect(layer.clientTransactionCount()).to.equal(0);
    transport.inject(responseTo(sent, 200, 'a'), udpFlow());
    expect(transport.requests('ACK'), 'forgotten: no ACK any more').to.have.length(2);
  });

  it('settle while someone waits for the end: the transaction object lives on and still ACKs its 2xx', async () => {
    const txn = send();
    const sent = transport.requests('INVITE')[0]!;
    const done = terminated(txn);
    transport.inject(responseTo(sent, 200, 'a'), udpFlow());
    const ack = request({ method: 'ACK', via: null, toTag: 'a', branch: 'unused' });
    txn.settle(layer.sendAck(ack, UDP), UDP);
    expect(layer.compactTransactionCount().client, 'not compacted while someone waits').to.equal(0);
    transport.inject(responseTo(sent, 200, 'a'), udpFlow());
    transport.inject(responseTo(sent, 200, 'fork-b'), udpFlow());
    expect(transport.requests('ACK')).to.have.length(2);
    expect(user.responses(200)).to.have.length(1);
    await done;
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('a failure nobody waits on is kept as its ACK for Timer D: retransmissions ACKed again, byte for byte', async () => {
    const txn = send();
    const sent = transport.requests('INVITE')[0]!;
    transport.inject(responseTo(sent, 486, 'busy-tag'), udpFlow());
    const t0 = performance.now();
    expect(txn.state).to.equal('completed');
    expect(layer.clientTransactionCount()).to.equal(1);
    expect(layer.compactTransactionCount().client).to.equal(1);
    transport.inject(responseTo(sent, 486, 'busy-tag'), udpFlow());
    transport.inject(responseTo(sent, 200, 'other'), udpFlow());
    const acks = transport.sent.filter((s) => s.kind === 'request' && (s.message as SipRequest).method === 'ACK');
    expect(acks).to.have.length(2);
    expect(serialize(acks[1]!.message).equals(serialize(acks[0]!.message))).to.equal(true);
    expect(acks[1]!.target).to.deep.equal(UDP);
    expect(user.responses(486)).to.have.length(1);
    await terminated(txn);
    expect(performance.now() - t0).to.be.at.least(FAST.timerD - 20);
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('reports a transport error (after sendRequest returned) and terminates', async () => {
    transport.failWith = new Error('unreachable');
    let returned = false;
    const seenBeforeReturn: boolean[] = [];
    const original = user.onTransportError.bind(user);
    user.onTransportError = (err) => {
      seenBeforeReturn.push(!returned);
      original(err);
    };
    const txn = send();
    returned = true;
    const [ev] = await user.waitFor('error');
    expect(ev).to.deep.include({ type: 'error' });
    expect(seenBeforeReturn).to.deep.equal([false]);
    expect(txn.state).to.equal('terminated');
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('reports a transport error for a flow target that is gone', async () => {
    const txn = layer.sendRequest(outInvite(), { flowId: 'tcp:closed' }, user);
    await user.waitFor('error');
    expect(txn.state).to.equal('terminated');
    expect(transport.sent.items).to.have.length(0);
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('matches responses by branch and CSeq method only (§17.1.3)', () => {
    send();
    const sent = transport.requests('INVITE')[0]!;
    const wrongMethod = responseTo(sent, 200);
    wrongMethod.headers.set('CSeq', '1 BYE');
    transport.inject(wrongMethod, udpFlow());
    const wrongBranch = responseTo(sent, 200);
    wrongBranch.headers.set('Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-not-ours');
    transport.inject(wrongBranch, udpFlow());
    expect(user.events.items).to.have.length(0);
  });

  it('rejects ACK in sendRequest', () => {
    expect(() => layer.sendRequest(request({ method: 'ACK', via: null }), UDP, user)).to.throw(
      TypeError,
    );
  });
});
