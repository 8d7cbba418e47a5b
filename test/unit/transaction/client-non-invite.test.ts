import { expect } from 'chai';
import { cseqOf, topViaOf } from '../../../src/sip/fields.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { createCancel } from '../../../src/transaction/cancel.js';
import { TransactionLayer } from '../../../src/transaction/transaction-layer.js';
import type { SendTarget } from '../../../src/transport/types.js';
import {
  FAST,
  FakeTransport,
  RecordingClientUser,
  RecordingServerUser,
  request,
  responseTo,
  tcpFlow,
  terminated,
  udpFlow,
} from './fake-transport.js';

const UDP: SendTarget = { protocol: 'udp', address: '192.0.2.30', port: 5060 };
const TCP: SendTarget = { protocol: 'tcp', address: '192.0.2.30', port: 5060 };

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  let transport: FakeTransport;
  let layer: TransactionLayer;
  let user: RecordingClientUser;

  beforeEach(() => {
    transport = new FakeTransport();
    layer = new TransactionLayer(transport, new RecordingServerUser(), { timers: FAST });
    user = new RecordingClientUser();
  });
  afterEach(() => layer.stop());

  function outRequest(method = 'OPTIONS'): SipRequest {
    return request({ method, via: null, noMaxForwards: true });
  }

  it('retransmits on Timer E (T1 doubling, capped at T2) and times out on Timer F', async () => {
    const txn = layer.sendRequest(outRequest(), UDP, user);
    expect(txn.state).to.equal('trying');
    const t0 = performance.now();
    await user.waitFor('timeout');
    expect(performance.now() - t0).to.be.at.least(64 * FAST.t1 - 5);
    const sends = transport.requests('OPTIONS').length;
    // Capped at T2 = 40 ms: about 18 sends in 640 ms; uncapped doubling would give 7.
    expect(sends).to.be.at.least(10);
    expect(user.count('timeout')).to.equal(1);
    expect(txn.state).to.equal('terminated');
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('in Proceeding keeps retransmitting every T2 until the final response', async () => {
    const txn = layer.sendRequest(outRequest(), UDP, user);
    const sent = transport.requests('OPTIONS')[0]!;
    transport.inject(responseTo(sent, 100, null), udpFlow());
    expect(txn.state).to.equal('proceeding');
    expect(user.responses(100)).to.have.length(1);
    const from = transport.sent.items.length;
    await transport.waitRequests('OPTIONS', transport.requests('OPTIONS').length + 4);
    const times = transport.sent.items.slice(from).map((s) => s.at);
    // After the first (possibly shorter) interval, retransmissions are T2 apart.
    for (const g of gaps(times).slice(1)) expect(g).to.be.at.least(FAST.t2 - 5);
    transport.inject(responseTo(sent, 200), udpFlow());
    expect(txn.state).to.equal('completed');
  });

  it('final response: Completed, passed up once, retransmissions absorbed, Timer K ends it', async () => {
    const txn = layer.sendRequest(outRequest('REGISTER'), UDP, user);
    const sent = transport.requests('REGISTER')[0]!;
    const done = terminated(txn);
    transport.inject(responseTo(sent, 200), udpFlow());
    transport.inject(responseTo(sent, 200), udpFlow());
    expect(user.responses(200)).to.have.length(1);
    expect(txn.state).to.equal('completed');
    const count = transport.requests('REGISTER').length;
    const t0 = performance.now();
    await done;
    expect(performance.now() - t0).to.be.at.least(FAST.t4 - 20);
    expect(transport.requests('REGISTER').length, 'no retransmission in Completed').to.equal(count);
    expect(layer.clientTransactionCount()).to.equal(0);
  });

  it('over TCP: no retransmission, and the final response terminates at once (Timer K = 0)', async () => {
    const txn = layer.sendRequest(outRequest(), TCP, user);
    const sent = transport.requests('OPTIONS')[0]!;
    transport.inject(responseTo(sent, 200), tcpFlow());
    expect(txn.state).to.equal('terminated');
    expect(layer.clientTransactionCount()).to.equal(0);

    const user2 = new RecordingClientUser();
    layer.sendRequest(outRequest('INFO'), TCP, user2);
    await user2.waitFor('timeout');
    expect(transport.requests('INFO')).to.have.length(1);
  });

  it('a user that throws does not break the layer', () => {
    const txn = layer.sendRequest(outRequest(), UDP, {
      onResponse: () => {
        throw new Error('boom');
      },
      onTimeout: () => {},
      onTransportError: () => {},
    });
    const sent = transport.requests('OPTIONS')[0]!;
    transport.inject(responseTo(sent, 200), udpFlow());
    expect(txn.state).to.equal('completed');
  });

  describe('CANCEL (§9.1)', () => {
    it('createCancel keeps the INVITE Via; its response matches the CANCEL, not the INVITE', () => {
      const inviteUser = new RecordingClientUser();
      const invite = request({
        method: 'INVITE',
        via: null,
        extra: ['Route: <sip:p.example.com;lr>'],
      });
      const inviteTxn = layer.sendRequest(invite, UDP, inviteUser);
      const sentInvite = transport.requests('INVITE')[0]!;
      transport.inject(responseTo(sentInvite, 180), udpFlow());

      const cancel = createCancel(inviteTxn.request);
      const cancelTxn = layer.sendRequest(cancel, inviteTxn.target, user);
      const sentCancel = transport.requests('CANCEL')[0]!;
      expect(sentCancel.headers.getAll('via')).to.deep.equal([sentInvite.headers.get('via')]);
      expect(topViaOf(sentCancel)!.params.get('branch')).to.equal(
        topViaOf(sentInvite)!.params.get('branch'),
      );
      expect(cseqOf(sentCancel)).to.deep.equal({ seq: 1, method: 'CANCEL' });
      expect(layer.clientTransactionCount()).to.equal(2);

      transport.inject(responseTo(sentCancel, 200), udpFlow());
      expect(user.responses(200)).to.have.length(1);
      expect(inviteUser.responses(200)).to.have.length(0);
      expect(cancelTxn.state).to.equal('completed');

      transport.inject(responseTo(sentInvite, 487), udpFlow());
      expect(inviteUser.responses(487)).to.have.length(1);
      expect(user.responses(487)).to.have.length(0);
      expect(inviteTxn.state).to.equal('completed');
    });
  });
});
