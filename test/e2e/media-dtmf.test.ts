/**
 * RFC 4733 DTMF (telephone-event) through anchored media (HERALD_MEDIA=on):
 * Herald's worker build forwards it (scripts/mediasoup-worker/
 * herald-patches.py), so when both legs take telephone-event at the audio
 * codec's clock rate it is in both SDPs Herald writes, and the event packets
 * a peer sends under its audio's SSRC reach the other peer, the first packet
 * of an event with its marker. A callee without telephone-event gets none,
 * and the caller's answer says so.
 */
import { expect } from 'chai';
import { parse as parseSdp } from 'sdp-transform';
import { NUMBER } from '../helpers/test-account.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { startDialToPeer, type DialToPeer } from '../helpers/dial-to-peer.js';
import { mediaBecomesEmpty } from '../helpers/node-media.js';
import { RtpPeer, rtpPacket, type RtpReceived } from '../helpers/rtp-peer.js';
import { audioSdp, SipDialogPeer } from '../helpers/sip-dialog-peer.js';

/** The audio m= line of an SDP body: its port and its codecs as `PT name/rate`. */
function audioOf(body: Buffer): { port: number; codecs: string[] } {
  const audio = parseSdp(body.toString()).media.find((m) => m.type === 'audio')!;
  return { port: audio.port, codecs: audio.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}`) };
}

/** An RFC 4733 §2.3 event payload: the digit, end bit, volume 10, duration in timestamp units. */
function dtmfPayload(event: number, end: boolean, duration: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = event;
  b[1] = (end ? 0x80 : 0) | 10;
  b.writeUInt16BE(duration, 2);
  return b;
}

/** Sends 10 packets of audio then digit `event` as RFC 4733 packets (start with marker, updates, 3 end packets), one SSRC, 20 ms apart. */
async function talkThenPress(rtp: RtpPeer, port: number, o: { ssrc: number; audioPt: number; eventPt: number; event: number }): Promise<void> {
  let seq = 1;
  for (let i = 0; i < 10; i++, seq++) {
    rtp.send(rtpPacket({ payloadType: o.audioPt, seq, ssrc: o.ssrc }), port);
    await new Promise((r) => setTimeout(r, 20));
  }
  // One event keeps the timestamp of its start (RFC 4733 §2.5.1.2); its duration grows.
  const timestamp = seq * 160;
  for (let i = 1; i <= 8; i++, seq++) {
    const end = i >= 6;
    rtp.send(rtpPacket({ payloadType: o.eventPt, seq, ssrc: o.ssrc, timestamp, marker: i === 1, payload: dtmfPayload(o.event, end, Math.min(i, 6) * 160) }), port);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const eventsIn = (received: readonly RtpReceived[], pt: number) => received.filter((p) => p.payloadType === pt && p.payload.length === 4);

describe('media: RFC 4733 telephone-event through mediasoup', function () {
  this.timeout(60_000);
  let herald: HeraldProcess;
  let peers: DialToPeer;
  const closers: Array<() => void> = [];

  before(async () => {
    peers = await startDialToPeer({ rtpPorts: '46500-46599' });
    herald = peers.herald;
  });
  afterEach(() => {
    while (closers.length > 0) closers.pop()!();
  });
  after(async () => {
    await peers?.close();
  });

  async function call(callerCodecs: string[], calleeCodecs: string[]) {
    const [caller, callee, callerRtp, calleeRtp] = [await SipDialogPeer.open(), await SipDialogPeer.open(), await RtpPeer.open(), await RtpPeer.open()];
    closers.push(() => caller.close(), () => callee.close(), () => callerRtp.close(), () => calleeRtp.close());
    peers.dialTo(callee.port);
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(callerRtp.port, callerCodecs));
    const invite = await callee.nextRequest('INVITE');
    callee.respond(invite.raw, invite.from, 200, 'OK', audioSdp(calleeRtp.port, calleeCodecs));
    const ok = await caller.finalResponse('INVITE');
    caller.ack(ok);
    await callee.nextRequest('ACK');
    const hangUp = async () => {
      caller.inDialog('BYE');
      const bye = await callee.nextRequest('BYE');
      callee.respond(bye.raw, bye.from, 200, 'OK');
      expect((await caller.finalResponse('BYE')).status).to.equal(200);
      await mediaBecomesEmpty(herald);
    };
    return { offerToCallee: audioOf(invite.request.body), answerToCaller: audioOf(ok.body), callerRtp, calleeRtp, hangUp };
  }

  it('both legs take it: offered and answered, and digits pass both ways', async () => {
    const c = await call(['0 PCMU/8000', '101 telephone-event/8000'], ['0 PCMU/8000', '101 telephone-event/8000']);
    expect(c.offerToCallee.codecs).to.deep.equal(['0 PCMU/8000', '101 telephone-event/8000']);
    expect(c.answerToCaller.codecs).to.deep.equal(['0 PCMU/8000', '101 telephone-event/8000']);

    await talkThenPress(c.callerRtp, c.answerToCaller.port, { ssrc: 0x5150, audioPt: 0, eventPt: 101, event: 5 });
    await c.calleeRtp.waitFor((got) => eventsIn(got, 101).some((p) => (p.payload[1]! & 0x80) !== 0), 'the caller\'s digit 5 (end packet) at the callee');
    const atCallee = eventsIn(c.calleeRtp.received, 101);
    expect(atCallee.every((p) => p.payload[0] === 5), 'every event is digit 5').to.equal(true);
    expect(atCallee.filter((p) => p.marker), 'the event\'s first packet keeps its marker').to.have.length(1);

    await talkThenPress(c.calleeRtp, c.offerToCallee.port, { ssrc: 0x6160, audioPt: 0, eventPt: 101, event: 11 });
    await c.callerRtp.waitFor((got) => eventsIn(got, 101).some((p) => (p.payload[1]! & 0x80) !== 0), 'the callee\'s # (event 11) at the caller');
    expect(eventsIn(c.callerRtp.received, 101).every((p) => p.payload[0] === 11)).to.equal(true);
    await c.hangUp();
  });

  it('a callee without telephone-event: the caller\'s answer has none and no event reaches the callee', async () => {
    const c = await call(['8 PCMA/8000', '101 telephone-event/8000'], ['8 PCMA/8000']);
    expect(c.answerToCaller.codecs).to.deep.equal(['8 PCMA/8000']);
    await talkThenPress(c.callerRtp, c.answerToCaller.port, { ssrc: 0x7170, audioPt: 8, eventPt: 101, event: 3 });
    // The audio after the digit is the proof that everything sent before it has been through.
    for (let seq = 30; seq < 40; seq++) c.callerRtp.send(rtpPacket({ payloadType: 8, seq, ssrc: 0x7170 }), c.answerToCaller.port);
    // (Herald's Consumer renumbers sequences; the payload names the one it was sent with.)
    await c.calleeRtp.waitFor((got) => got.some((p) => p.payloadType === 8 && parseInt(p.payload.toString('latin1').split(' ')[2] ?? '', 10) >= 30), 'the audio sent after the digit');
    expect(c.calleeRtp.received.filter((p) => p.payloadType !== 8), 'only PCMA at the callee').to.deep.equal([]);
    await c.hangUp();
  });
});
