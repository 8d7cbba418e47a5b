import { expect } from 'chai';
import { cseqOf, tagOf, toOf } from '../../../src/sip/fields.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { createResponse } from '../../../src/sip/response.js';
import { TransactionLayer } from '../../../src/transaction/transaction-layer.js';
import type { ServerTransaction } from '../../../src/transaction/types.js';
import {
  FAST,
  FakeTransport,
  RecordingServerUser,
  delay,
  eventually,
  request,
  tcpFlow,
  terminated,
  udpFlow,
} from './fake-transport.js';

const TCP_VIA = 'SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK-inv-tcp';

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1)', () => {
  let transport: FakeTransport;
  let user: RecordingServerUser;
  let layer: TransactionLayer;

  beforeEach(() => {
    transport = new FakeTransport();
    user = new RecordingServerUser();
    layer = new TransactionLayer(transport, user, { timers: FAST });
  });
  afterEach(() => layer.stop());

  function invite(extra: Partial<Parameters<typeof request>[0]> = {}): SipRequest {
    return request({ method: 'INVITE', branch: 'z9hG4bK-inv-1', ...extra });
  }

  function start(flow = udpFlow(), req = invite()): ServerTransaction {
    transport.inject(req, flow);
    const rec = user.requests.items.at(-1);
    if (rec === undefined) throw new Error('no transaction');
    return rec.txn;
  }

  function ackFor(
    txn: ServerTransaction,
    extra: Partial<Parameters<typeof request>[0]> = {},
  ): SipRequest {
    const final = transport
      .responses()
      .filter((r) => r.status >= 200)
      .at(-1)!;
    return request({
      method: 'ACK',
      branch: 'z9hG4bK-inv-1',
      toTag: tagOf(toOf(final))!,
      ...extra,
      cseqMethod: 'ACK',
    });
  }

  describe('Proceeding', () => {
    it('answers 100 Trying at once, before the TU is involved', () => {
      user.onRequestImpl = () => expect(transport.responses(100)).to.have.length(1);
      const txn = start(udpFlow(), invite({ extra: ['Timestamp: 54.3'] }));
      expect(txn.state).to.equal('proceeding');
      const trying = transport.responses(100)[0]!;
      expect(tagOf(toOf(trying)), '100 carries no To tag').to.equal(null);
      expect(trying.headers.get('timestamp'), '§8.2.6.1 Timestamp echoed').to.equal('54.3');
      expect(trying.headers.get('call-id')).to.equal('call-1@example.com');
    });

    it('absorbs a retransmitted INVITE by resending the last provisional response', () => {
      const txn = start();
      transport.inject(invite(), udpFlow());
      expect(transport.responses(100)).to.have.length(2);
      txn.respond(createResponse(txn.request, 180, undefined, 'uas'));
      transport.inject(invite(), udpFlow());
      expect(transport.responses(180)).to.have.length(2);
      expect(transport.responses(100)).to.have.length(2);
      expect(user.requests.items).to.have.length(1);
      expect(layer.serverTransactionCount()).to.equal(1);
    });
  });

  describe('Completed (3xx–6xx)', () => {
    it('retransmits the final response on Timer G until the ACK, then Confirmed ends on Timer I', async () => {
      const txn = start();
      txn.respond(createResponse(txn.request, 486, undefined, 'uas'));
      expect(txn.state).to.equal('completed');
      await transport.waitResponses(486, 4);
      const ack = ackFor(txn);
      transport.inject(ack, udpFlow());
      expect(txn.state).to.equal('confirmed');
      expect(user.acks.items, 'the ACK of a non-2xx is not passed to the TU').to.have.length(0);
      const sentAtAck = transport.responses(486).length;
      // Retransmitted ACKs are absorbed in Confirmed.
      transport.inject(ackFor(txn), udpFlow());
      await terminated(txn);
      expect(transport.responses(486).length, 'no retransmission after the ACK').to.equal(
        sentAtAck,
      );
      expect(layer.serverTransactionCount()).to.equal(0);
      expect(user.acks.items).to.have.length(0);
    });

    it('resends the final response when the INVITE is retransmitted', () => {
      const txn = start();
      txn.respond(createResponse(txn.request, 603, undefined, 'uas'));
      const before = transport.responses(603).length;
      transport.inject(invite(), udpFlow());
      expect(transport.responses(603).length).to.equal(before + 1);
      expect(user.requests.items).to.have.length(1);
    });

    it('gives up on Timer H (64·T1) without an ACK; Timer G doubles and is capped at T2', async () => {
      const txn = start();
      const t0 = performance.now();
      txn.respond(createResponse(txn.request, 486, undefined, 'uas'));
      await terminated(txn);
      expect(performance.now() - t0).to.be.at.least(64 * FAST.t1 - 5);
      const count = transport.responses(486).length;
      // Uncapped doubling from 10 ms gives 7 sends in 640 ms; capped at T2 = 40 ms about 18.
      expect(count, 'retransmissions capped at T2').to.be.at.least(10);
      expect(layer.serverTransactionCount()).to.equal(0);
    });

    it('over TCP sends the final response once, and ends at once on the ACK (Timer I = 0)', async () => {
      const txn = start(tcpFlow(), invite({ via: TCP_VIA }));
      txn.respond(createResponse(txn.request, 486, undefined, 'uas'));
      transport.inject(ackFor(txn, { via: TCP_VIA }), tcpFlow());
      expect(txn.state).to.equal('terminated');
      expect(transport.responses(486)).to.have.length(1);
      expect(layer.serverTransactionCount()).to.equal(0);
    });

    it('over TCP never retransmits, and still ends on Timer H', async () => {
      const txn = start(tcpFlow(), invite({ via: TCP_VIA }));
      txn.respond(createResponse(txn.request, 486, undefined, 'uas'));
      await terminated(txn);
      expect(transport.responses(486)).to.have.length(1);
      expect(layer.serverTransactionCount()).to.equal(0);
    });
  });

  describe('Accepted (2xx, RFC 6026)', () => {
    it('retransmits the 2xx until an ACK with the same Call-ID, CSeq and To tag, which reaches the TU', async () => {
      const txn = start();
      txn.respond(createResponse(txn.request, 200, undefined, 'uas-ok'));
      expect(txn.state).to.equal('accepted');
      await transport.waitResponses(200, 4);
      // The ACK of a 2xx is its own transaction: a new branch (§13.2.2.4).
      transport.inject(
        request({ method: 'ACK', branch: 'z9hG4bK-ack-2xx', toTag: 'uas-ok' }),
        udpFlow(),
      );
      expect(user.acks.items).to.have.length(1);
      const atAck = transport.responses(200).length;
      await terminated(txn);
      expect(transport.responses(200).length, 'retransmission stopped by the ACK').to.be.at.most(
        atAck,
      );
      expect(layer.serverTransactionCount()).to.equal(0);
    });

    it('an ACK with another To tag does not stop the retransmissions but still goes to the TU', async () => {
      const txn = start();
      txn.respond(createResponse(txn.request, 200, undefined, 'uas-ok'));
      transport.inject(
        request({ method: 'ACK', branch: 'z9hG4bK-ack-x', toTag: 'other' }),
        udpFlow(),
      );
      expect(user.acks.items).to.have.length(1);
      const atAck = transport.responses(200).length;
      await transport.waitResponses(200, atAck + 3);
    });

    it('retransmits the 2xx (doubling to T2) until Timer L when no ACK comes', async () => {
      const txn = start();
      const t0 = performance.now();
      txn.respond(createResponse(txn.request, 200, undefined, 'uas-ok'));
      await terminated(txn);
      expect(performance.now() - t0).to.be.at.least(64 * FAST.t1 - 5);
      expect(transport.responses(200).length).to.be.at.least(10);
      expect(layer.serverTransactionCount()).to.equal(0);
    });

    it('absorbs retransmitted INVITEs without passing them up', () => {
      const txn = start();
      txn.respond(createResponse(txn.request, 200, undefined, 'uas-ok'));
      const sent = transport.sent.items.length;
      transport.inject(invite(), udpFlow());
      expect(user.requests.items).to.have.length(1);
      expect(transport.sent.items.length).to.equal(sent);
    });

    it('passes an ACK that reuses the INVITE branch to the TU and stops the retransmissions', async () => {
      const txn = start();
      txn.respond(createResponse(txn.request, 200, undefined, 'uas-ok'));
      transport.inject(
        request({ method: 'ACK', branch: 'z9hG4bK-inv-1', toTag: 'uas-ok' }),
        udpFlow(),
      );
      expect(user.acks.items).to.have.length(1);
      expect(txn.state).to.equal('accepted');
      const atAck = transport.responses(200).length;
      await delay(8 * FAST.t1);
      expect(transport.responses(200).length).to.equal(atAck);
    });

    it('once ACKed, nobody waiting: kept as its 2xx — INVITEs absorbed, a CANCEL gets 200 with its To tag, gone after Timer L', async () => {
      const txn = start();
      txn.respond(createResponse(txn.request, 200, undefined, 'uas-ok'));
      const t0 = performance.now();
      transport.inject(request({ method: 'ACK', branch: 'z9hG4bK-ack-2xx', toTag: 'uas-ok' }), udpFlow());
      expect(txn.state).to.equal('accepted');
      expect(layer.serverTransactionCount(), 'the INVITE is still matched…').to.equal(1);
      expect(layer.compactTransactionCount().server, '…as a compact entry').to.equal(1);
      const sent = transport.sent.items.length;
      transport.inject(invite(), udpFlow());
      expect(transport.sent.items.length, 'a retransmitted INVITE is absorbed: nothing sent').to.equal(sent);
      expect(user.requests.items).to.have.length(1);
      transport.inject(request({ method: 'CANCEL', branch: 'z9hG4bK-inv-1' }), udpFlow());
      const ok = transport.responses(200).at(-1)!;
      expect(cseqOf(ok)?.method).to.equal('CANCEL');
      expect(tagOf(toOf(ok)), 'the 200 to the CANCEL carries the 2xx To tag (§9.2)').to.equal('uas-ok');
      expect(transport.responses(487)).to.have.length(0);
      await terminated(txn);
      expect(performance.now() - t0).to.be.at.least(64 * FAST.t1 - 20);
      expect(txn.state).to.equal('terminated');
      // The CANCEL's own (non-INVITE) transaction lingers on its Timer J; the INVITE is gone.
      transport.inject(invite(), udpFlow());
      expect(user.requests.items.filter((r) => r.request.method === 'INVITE'), 'forgotten: a new INVITE').to.have.length(2);
    });

    it('over TCP still retransmits the 2xx until the ACK (§13.3.1.4: independent of transport)', async () => {
      const txn = start(tcpFlow(), invite({ via: TCP_VIA }));
      txn.respond(createResponse(txn.request, 200, undefined, 'uas-ok'));
      await transport.waitResponses(200, 3);
      transport.inject(
        request({
          method: 'ACK',
          via: 'SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK-ack-tcp',
          toTag: 'uas-ok',
        }),
        tcpFlow(),
      );
      expect(user.acks.items).to.have.length(1);
      const atAck = transport.responses(200).length;
      await terminated(txn);
      expect(transport.responses(200).length).to.equal(atAck);
    });

    it('sends further 2xx from the TU (forks relayed) but ignores other late responses', () => {
      const txn = start();
      txn.respond(createResponse(txn.request, 200, undefined, 'fork-a'));
      txn.respond(createResponse(txn.request, 200, undefined, 'fork-b'));
      txn.respond(createResponse(txn.request, 486, undefined, 'fork-c'));
      txn.respond(createResponse(txn.request, 180, undefined, 'fork-c'));
      expect(transport.responses().map((r) => r.status)).to.deep.equal([100, 200, 200]);
    });
  });

  describe('ACK outside any transaction', () => {
    it('passes an unmatched ACK to the TU with its flow', () => {
      const flow = udpFlow('udp:ack');
      transport.inject(request({ method: 'ACK', branch: 'z9hG4bK-lonely', toTag: 'x' }), flow);
      expect(user.acks.items).to.have.length(1);
      expect(user.acks.items[0]!.flow).to.equal(flow);
      expect(transport.sent.items, 'an ACK is never answered').to.have.length(0);
      expect(layer.serverTransactionCount()).to.equal(0);
    });
  });

  describe('CANCEL (§9.2)', () => {
    function cancel(extra: Partial<Parameters<typeof request>[0]> = {}): SipRequest {
      return request({ method: 'CANCEL', branch: 'z9hG4bK-inv-1', ...extra });
    }

    it('answers 481 when no INVITE transaction matches', () => {
      transport.inject(cancel({ branch: 'z9hG4bK-unknown' }), udpFlow());
      expect(transport.responses().map((r) => r.status)).to.deep.equal([481]);
      expect(user.requests.items, 'a CANCEL is not passed to the TU').to.have.length(0);
    });

    it('does not match an INVITE from another sent-by', () => {
      start();
      transport.inject(
        cancel({ via: 'SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-inv-1' }),
        udpFlow(),
      );
      expect(transport.responses(481)).to.have.length(1);
      expect(transport.responses(487)).to.have.length(0);
    });

    it('without onCancel listeners: 200 to the CANCEL and 487 to the INVITE, with one To tag', () => {
      const txn = start();
      transport.inject(cancel(), udpFlow());
      const ok = transport.responses(200);
      const terminatedResp = transport.responses(487);
      expect(ok).to.have.length(1);
      expect(ok[0]!.headers.get('cseq')).to.equal('1 CANCEL');
      expect(terminatedResp).to.have.length(1);
      expect(terminatedResp[0]!.headers.get('cseq')).to.equal('1 INVITE');
      expect(tagOf(toOf(ok[0]!))).to.equal(tagOf(toOf(terminatedResp[0]!)));
      expect(txn.state).to.equal('completed');
      // The CANCEL is a transaction of its own; the INVITE's is separate.
      expect(layer.serverTransactionCount()).to.equal(2);
    });

    it('with listeners: 200 to the CANCEL, listeners run once, no 487 from the layer', () => {
      const txn = start();
      const seen: SipRequest[] = [];
      txn.onCancel((c) => seen.push(c));
      transport.inject(cancel(), udpFlow());
      expect(seen).to.have.length(1);
      expect(seen[0]!.method).to.equal('CANCEL');
      expect(transport.responses(200)).to.have.length(1);
      expect(transport.responses(487)).to.have.length(0);
      expect(txn.state).to.equal('proceeding');
      // A retransmitted CANCEL gets the 200 again, the listener does not run again.
      transport.inject(cancel(), udpFlow());
      expect(transport.responses(200)).to.have.length(2);
      expect(seen).to.have.length(1);
      txn.respond(createResponse(txn.request, 487));
      expect(transport.responses(487)).to.have.length(1);
    });

    it('after a final response: 200 to the CANCEL, nothing else', () => {
      const txn = start();
      let called = 0;
      txn.onCancel(() => called++);
      txn.respond(createResponse(txn.request, 486, undefined, 'uas'));
      transport.inject(cancel(), udpFlow());
      expect(transport.responses(200)).to.have.length(1);
      expect(transport.responses(487)).to.have.length(0);
      expect(called).to.equal(0);
    });

    it('the 487 is ACKed like any failure and all transactions end', async () => {
      const txn = start();
      transport.inject(cancel(), udpFlow());
      const tag = tagOf(toOf(transport.responses(487)[0]!))!;
      transport.inject(request({ method: 'ACK', branch: 'z9hG4bK-inv-1', toTag: tag }), udpFlow());
      expect(txn.state).to.equal('confirmed');
      await terminated(txn);
      // The CANCEL's own transaction ends on Timer J (64·T1), which no TU event announces.
      await eventually(() => layer.serverTransactionCount() === 0);
    });
  });

  describe('RFC 2543 matching (no magic cookie, §17.2.3)', () => {
    const OLD_VIA = 'SIP/2.0/UDP 192.0.2.20:5060';
    function oldInvite(extra: Partial<Parameters<typeof request>[0]> = {}): SipRequest {
      return request({
        method: 'INVITE',
        via: OLD_VIA,
        callId: 'old-call',
        fromTag: 'f2543',
        ...extra,
      });
    }

    it('matches a retransmission by Request-URI, tags, Call-ID, CSeq and top Via', () => {
      const txn = start(udpFlow(), oldInvite());
      transport.inject(oldInvite(), udpFlow());
      expect(user.requests.items).to.have.length(1);
      expect(transport.responses(100)).to.have.length(2);
      // Any differing field makes a new transaction.
      transport.inject(oldInvite({ cseq: 2 }), udpFlow());
      transport.inject(oldInvite({ uri: 'sip:carol@example.com' }), udpFlow());
      transport.inject(oldInvite({ fromTag: 'other' }), udpFlow());
      transport.inject(oldInvite({ via: 'SIP/2.0/UDP 192.0.2.21:5060' }), udpFlow());
      expect(user.requests.items).to.have.length(5);
      expect(txn.state).to.equal('proceeding');
    });

    it('matches the ACK carrying the To tag of our final response', () => {
      const txn = start(udpFlow(), oldInvite());
      txn.respond(createResponse(txn.request, 486, undefined, 'tag2543'));
      transport.inject(
        request({
          method: 'ACK',
          via: OLD_VIA,
          callId: 'old-call',
          fromTag: 'f2543',
          toTag: 'wrong',
        }),
        udpFlow(),
      );
      expect(txn.state, 'an ACK with another To tag does not match').to.equal('completed');
      expect(user.acks.items).to.have.length(1);
      transport.inject(
        request({
          method: 'ACK',
          via: OLD_VIA,
          callId: 'old-call',
          fromTag: 'f2543',
          toTag: 'tag2543',
        }),
        udpFlow(),
      );
      expect(txn.state).to.equal('confirmed');
      expect(user.acks.items).to.have.length(1);
    });

    it('matches a CANCEL to its INVITE', () => {
      start(udpFlow(), oldInvite());
      transport.inject(
        request({ method: 'CANCEL', via: OLD_VIA, callId: 'old-call', fromTag: 'f2543' }),
        udpFlow(),
      );
      expect(transport.responses(200)).to.have.length(1);
      expect(transport.responses(487)).to.have.length(1);
    });
  });
});
