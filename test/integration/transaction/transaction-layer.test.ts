/**
 * The transaction layer on the real SipTransport (UDP and TCP on 127.0.0.1),
 * with raw sockets as the peer writing SIP text.
 */
import { expect } from 'chai';
import { tagOf, toOf } from '../../../src/sip/fields.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { createResponse } from '../../../src/sip/response.js';
import { TransactionLayer } from '../../../src/transaction/transaction-layer.js';
import type { ServerTransaction } from '../../../src/transaction/types.js';
import { SipTransport } from '../../../src/transport/sip-transport.js';
import {
  EventLog,
  RecordingClientUser,
  RecordingServerUser,
  delay,
  eventually,
  terminated,
} from '../../unit/transaction/fake-transport.js';
import { LOCAL, TcpPeer, UdpPeer, sipRequest, sipResponseTo, type Peer } from './peers.js';

const TIMERS = { t1: 20, t2: 80, t4: 100, timerD: 200 };

describe('transaction layer over SipTransport (integration)', function () {
  this.timeout(15000);

  let transport: SipTransport;
  let layer: TransactionLayer;
  let tu: RecordingServerUser;
  let udpPort: number;
  let tcpPort: number;
  const peers: Peer[] = [];
  let seq = 0;

  /** The TU's behaviour for each new request; records the transaction. */
  let answer: (req: SipRequest, txn: ServerTransaction) => void;
  const txns = new EventLog<ServerTransaction>();

  before(async () => {
    transport = new SipTransport({
      udp: { host: LOCAL, port: 0 },
      tcp: { host: LOCAL, port: 0 },
      tls: null,
      ws: null,
      wss: null,
      publicHost: LOCAL,
      maxMessageBytes: 65535,
      maxConnectionsPerAddress: 200,
      idleTimeoutMs: 60000,
      wsAllowedOrigins: null,
    });
    await transport.start();
    udpPort = transport.listeners().find((l) => l.protocol === 'udp')!.port;
    tcpPort = transport.listeners().find((l) => l.protocol === 'tcp')!.port;
    tu = new RecordingServerUser();
    tu.onRequestImpl = (req, txn) => {
      txns.push(txn);
      answer(req, txn);
    };
    layer = new TransactionLayer(transport, tu, { timers: TIMERS });
  });

  after(async () => {
    layer.stop();
    await Promise.all(peers.map((p) => p.close()));
    await transport.stop();
  });

  beforeEach(() => {
    answer = () => {};
  });

  async function udpPeer(): Promise<UdpPeer> {
    const p = await UdpPeer.open(udpPort);
    peers.push(p);
    return p;
  }

  async function tcpPeer(): Promise<TcpPeer> {
    const p = await TcpPeer.open(tcpPort);
    peers.push(p);
    return p;
  }

  function ids(): { branch: string; callId: string } {
    seq++;
    return {
      branch: `z9hG4bK-it-${seq}-${Date.now()}`,
      callId: `it-${seq}-${Date.now()}@${LOCAL}`,
    };
  }

  it('UDP: INVITE gets 100 then the 486 retransmitted until the ACK, and the transaction ends', async () => {
    const peer = await udpPeer();
    const { branch, callId } = ids();
    answer = (req, txn) => txn.respond(createResponse(req, 486, undefined, 'busy'));
    peer.send(sipRequest({ method: 'INVITE', transport: 'UDP', port: peer.port, branch, callId }));
    await peer.waitResponses(100);
    // First send plus at least two Timer G retransmissions.
    const busy = await peer.waitResponses(486, 3);
    const first = peer.received.items[0]!;
    expect(first.type === 'response' ? first.status : null, '100 Trying comes first').to.equal(100);
    expect(busy[0]!.headers.get('call-id')).to.equal(callId);
    const txn = txns.items.at(-1)!;
    const ended = terminated(txn);
    peer.send(
      sipRequest({
        method: 'ACK',
        transport: 'UDP',
        port: peer.port,
        branch,
        callId,
        toTag: tagOf(toOf(busy[0]!))!,
      }),
    );
    await eventually(() => txn.state !== 'completed');
    const afterAck = peer.responses(486).length;
    await ended; // Timer I
    // One retransmission may have crossed the ACK on the wire; none after that.
    expect(peer.responses(486).length).to.be.at.most(afterAck + 1);
    expect(tu.acks.items.filter((a) => a.ack.headers.get('call-id') === callId)).to.have.length(0);
    await eventually(() => layer.serverTransactionCount() === 0);
  });

  it('UDP: a retransmitted INVITE gets the last provisional response again', async () => {
    const peer = await udpPeer();
    const { branch, callId } = ids();
    answer = (req, txn) => txn.respond(createResponse(req, 180, undefined, 'ringing'));
    const invite = sipRequest({
      method: 'INVITE',
      transport: 'UDP',
      port: peer.port,
      branch,
      callId,
    });
    peer.send(invite);
    await peer.waitResponses(180);
    peer.send(invite);
    await peer.waitResponses(180, 2);
    expect(tu.requests.filter((r) => r.request.headers.get('call-id') === callId)).to.have.length(
      1,
    );
    const txn = txns.items.at(-1)!;
    const ended = terminated(txn);
    txn.respond(createResponse(txn.request, 480, undefined, 'ringing'));
    const final = await peer.waitResponses(480);
    peer.send(
      sipRequest({
        method: 'ACK',
        transport: 'UDP',
        port: peer.port,
        branch,
        callId,
        toTag: tagOf(toOf(final[0]!))!,
      }),
    );
    await ended;
  });

  it('UDP: a CANCEL gets 200 and the INVITE 487', async () => {
    const peer = await udpPeer();
    const { branch, callId } = ids();
    peer.send(sipRequest({ method: 'INVITE', transport: 'UDP', port: peer.port, branch, callId }));
    await peer.waitResponses(100);
    peer.send(sipRequest({ method: 'CANCEL', transport: 'UDP', port: peer.port, branch, callId }));
    const [ok] = await peer.waitResponses(200, 1, 'CANCEL');
    const [terminatedResp] = await peer.waitResponses(487, 1, 'INVITE');
    expect(tagOf(toOf(ok!))).to.equal(tagOf(toOf(terminatedResp!)));
    const txn = txns.items.at(-1)!;
    const ended = terminated(txn);
    peer.send(
      sipRequest({
        method: 'ACK',
        transport: 'UDP',
        port: peer.port,
        branch,
        callId,
        toTag: tagOf(toOf(terminatedResp!))!,
      }),
    );
    await ended;
  });

  it('UDP: a CANCEL for no INVITE gets 481', async () => {
    const peer = await udpPeer();
    const { branch, callId } = ids();
    peer.send(sipRequest({ method: 'CANCEL', transport: 'UDP', port: peer.port, branch, callId }));
    await peer.waitResponses(481, 1, 'CANCEL');
  });

  it('UDP: a 2xx is retransmitted until the ACK, which reaches the TU', async () => {
    const peer = await udpPeer();
    const { branch, callId } = ids();
    answer = (req, txn) => txn.respond(createResponse(req, 200, undefined, 'answered'));
    peer.send(sipRequest({ method: 'INVITE', transport: 'UDP', port: peer.port, branch, callId }));
    await peer.waitResponses(200, 3);
    peer.send(
      sipRequest({
        method: 'ACK',
        transport: 'UDP',
        port: peer.port,
        branch: `${branch}-ack`,
        callId,
        toTag: 'answered',
      }),
    );
    await tu.acks.waitFor((a) => a.ack.headers.get('call-id') === callId);
    const atAck = peer.responses(200).length;
    await delay(4 * TIMERS.t2);
    expect(peer.responses(200).length).to.be.at.most(atAck + 1);
  });

  it('UDP: an invalid request gets a stateless 400 naming the problem', async () => {
    const peer = await udpPeer();
    const { branch, callId } = ids();
    peer.send(
      sipRequest({
        method: 'OPTIONS',
        transport: 'UDP',
        port: peer.port,
        branch,
        callId,
        cseqMethod: 'INFO',
      }),
    );
    const [bad] = await peer.waitResponses(400);
    expect(bad!.reason).to.equal('CSeq method does not match Request-Line');
  });

  it('TCP: no retransmissions; a retransmitted INVITE in Completed gets the final response again', async () => {
    const peer = await tcpPeer();
    const { branch, callId } = ids();
    answer = (req, txn) => txn.respond(createResponse(req, 486, undefined, 'busy'));
    const invite = sipRequest({
      method: 'INVITE',
      transport: 'TCP',
      port: peer.port,
      branch,
      callId,
    });
    peer.send(invite);
    await peer.waitResponses(100);
    await peer.waitResponses(486);
    const txn = txns.items.at(-1)!;
    const ended = terminated(txn);
    // No ACK: Timer H (64·T1) ends the transaction; over TCP Timer G never runs.
    await ended;
    expect(peer.responses(486)).to.have.length(1);
    expect(peer.responses(100)).to.have.length(1);

    const second = ids();
    peer.send(sipRequest({ method: 'INVITE', transport: 'TCP', port: peer.port, ...second }));
    const firstFinal = await peer.waitResponses(486, 2);
    peer.send(sipRequest({ method: 'INVITE', transport: 'TCP', port: peer.port, ...second }));
    await peer.waitResponses(486, 3);
    const txn2 = txns.items.at(-1)!;
    expect(txn2.state).to.equal('completed');
    peer.send(
      sipRequest({
        method: 'ACK',
        transport: 'TCP',
        port: peer.port,
        ...second,
        toTag: tagOf(toOf(firstFinal[1]!))!,
      }),
    );
    await eventually(() => txn2.state === 'terminated'); // Timer I = 0 over TCP
  });

  it('client transaction over UDP: retransmits until the peer answers, then passes the response up', async () => {
    const peer = await udpPeer();
    const user = new RecordingClientUser();
    const req = sipRequestFromText(`OPTIONS sip:peer@${LOCAL}:${peer.port} SIP/2.0`);
    layer.sendRequest(req, { protocol: 'udp', address: LOCAL, port: peer.port }, user);
    const got = await peer.waitRequests('OPTIONS', 3);
    expect(got[0]!.headers.get('via')).to.match(
      new RegExp(`^SIP/2\\.0/UDP ${LOCAL}:${udpPort};branch=z9hG4bK`),
    );
    peer.send(sipResponseTo(got[0]!, 200, 'OK'));
    await user.waitStatus(200);
    expect(user.responses(200)).to.have.length(1);
  });

  it('client transaction over TCP: one send, the response terminates it', async () => {
    const user = new RecordingClientUser();
    // The TU answers our own OPTIONS: the layer sends to itself over a new TCP connection.
    answer = (r, txn) => txn.respond(createResponse(r, 200));
    const req = sipRequestFromText(`OPTIONS sip:self@${LOCAL}:${tcpPort};transport=tcp SIP/2.0`);
    const txn = layer.sendRequest(req, { protocol: 'tcp', address: LOCAL, port: tcpPort }, user);
    await user.waitStatus(200);
    expect(txn.state).to.equal('terminated');
  });
});

/** A request as a TU would build it: no Via (the layer adds ours), no Max-Forwards. */
function sipRequestFromText(startLine: string): SipRequest {
  const n = Math.random().toString(36).slice(2);
  const text = [
    startLine,
    `From: <sip:herald@${LOCAL}>;tag=h-${n}`,
    `To: <sip:peer@${LOCAL}>`,
    `Call-ID: out-${n}`,
    `CSeq: 1 ${startLine.split(' ')[0]}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.message.type !== 'request') throw new Error('bad test request');
  return r.message;
}
