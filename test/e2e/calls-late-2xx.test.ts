/**
 * A dialed device whose 200 is retransmitted after the call ended (it never
 * saw our ACK; RFC 3261 §13.3.1.4, RFC 6026 §8.4): Herald still ACKs it, the
 * same ACK, although the call and its leg were let go when the call ended
 * (the INVITE's client transaction hands over to a TU that keeps only the
 * ACK, so the call's objects are not kept for the 32 s of Accepted).
 */
import { expect } from 'chai';
import { NUMBER } from '../helpers/test-account.js';
import { startDialToPeer, type DialToPeer } from '../helpers/dial-to-peer.js';
import { mediaBecomesEmpty } from '../helpers/node-media.js';
import { RtpPeer } from '../helpers/rtp-peer.js';
import { audioSdp, SipDialogPeer } from '../helpers/sip-dialog-peer.js';

describe('calls: a 2xx retransmitted after the call ended', function () {
  this.timeout(60_000);
  let peers: DialToPeer;
  const closers: Array<() => void> = [];

  before(async () => {
    peers = await startDialToPeer({ rtpPorts: '46700-46749' });
  });
  after(async () => {
    while (closers.length > 0) closers.pop()!();
    await peers?.close();
  });

  it('is ACKed again with the ACK of the call, and nothing else is sent', async () => {
    const herald = peers.herald;
    const [caller, callee, callerRtp, calleeRtp] = [await SipDialogPeer.open(), await SipDialogPeer.open(), await RtpPeer.open(), await RtpPeer.open()];
    closers.push(() => caller.close(), () => callee.close(), () => callerRtp.close(), () => calleeRtp.close());
    peers.dialTo(callee.port);
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(callerRtp.port, ['0 PCMU/8000']));
    const invite = await callee.nextRequest('INVITE');
    const answer = audioSdp(calleeRtp.port, ['0 PCMU/8000']);
    callee.respond(invite.raw, invite.from, 200, 'OK', answer);
    const ok = await caller.finalResponse('INVITE');
    caller.ack(ok);
    const firstAck = await callee.nextRequest('ACK');

    caller.inDialog('BYE');
    const bye = await callee.nextRequest('BYE');
    callee.respond(bye.raw, bye.from, 200, 'OK');
    expect((await caller.finalResponse('BYE')).status).to.equal(200);
    await mediaBecomesEmpty(herald);

    // The call is over; the device did not get the ACK and sends its 200 again.
    callee.respond(invite.raw, invite.from, 200, 'OK', answer);
    const again = await callee.nextRequest('ACK');
    expect(again.request.headers.get('cseq')).to.equal(firstAck.request.headers.get('cseq'));
    expect(again.request.headers.get('call-id')).to.equal(invite.request.headers.get('call-id'));
    expect(again.request.uri).to.equal(firstAck.request.uri);
    // And once more: each retransmission gets its ACK (§13.2.2.4).
    callee.respond(invite.raw, invite.from, 200, 'OK', answer);
    await callee.nextRequest('ACK');
    const others = callee.log.filter((r) => r.message.type === 'request' && !['INVITE', 'ACK', 'BYE'].includes(r.message.method));
    expect(others, 'no other request to the device').to.have.length(0);
  });
});
