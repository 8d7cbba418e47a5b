/**
 * Browser legs anchored in mediasoup (WebRtcTransport) against real peers:
 * the demo phone page in headless Chromium on one side, sipp or a Node SIP
 * peer with its own RTP (a trunk, a softphone: plain RTP, G.711) on the
 * other, through a real `herald serve` with HERALD_MEDIA=on. Each call's
 * audio is checked where it arrives (the page's getStats(), the Node peer's
 * socket, sipp's echo), and no media resource outlives a call.
 */
import { expect } from 'chai';
import { join, resolve } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseSdp } from 'sdp-transform';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, packetsReceivedAbove, stateBecomes, statsOf, type PageGlobals } from '../helpers/demo-page-browser.js';
import { freeTcpPort, freeUdpPort, udpPortBound } from '../helpers/free-port.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { mediaBecomesEmpty, nodeMedia } from '../helpers/node-media.js';
import { startPeer, type PeerProcess } from '../helpers/peer-process.js';
import { run } from '../helpers/run.js';
import { RtpPeer, rtpPacket } from '../helpers/rtp-peer.js';
import { audioSdp, SipDialogPeer } from '../helpers/sip-dialog-peer.js';
import { registerPhone, startPhone } from '../helpers/sipjs-phone.js';
import { ACCOUNT, accountYaml, clientToken, NUMBER } from '../helpers/test-account.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'sipp');
const RTP_MIN = 47300;
const RTP_MAX = 47399;

/** Sends RTP from `rtp` to Herald's `port` every 20 ms while `look` runs (10 s at most). */
async function whileTalking(rtp: RtpPeer, port: number, stream: { payloadType: number; ssrc: number }, look: () => Promise<void>): Promise<void> {
  let talking = true;
  const talk = (async () => {
    for (let seq = 1; talking && seq <= 500; seq++) {
      rtp.send(rtpPacket({ ...stream, seq }), port);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await look();
  } finally {
    talking = false;
    await talk;
  }
}

describe('media: browser (WebRTC) legs anchored in mediasoup', function () {
  this.timeout(90_000);
  let herald: HeraldProcess;
  let browser: Browser;
  let app: Server;
  let base: string;
  /** The TwiML of the next call (the demo page's calls and the trunk's reach this application). */
  let twiml = '';
  const pages: Page[] = [];
  const peers: PeerProcess[] = [];
  const closers: Array<() => void> = [];
  const errors: string[] = [];

  before(async () => {
    app = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'text/xml');
        res.end(twiml);
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const voiceUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/voice`;
    const port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    herald = await startHerald({
      config: writeConfig(accountYaml({ voiceUrl, extra: `demo:\n  account: ${ACCOUNT}\nmedia: { workers: 1 }\n` })),
      env: { HERALD_HTTP: `127.0.0.1:${port}`, HERALD_MEDIA: 'on', HERALD_RTP_PORTS: `${RTP_MIN}-${RTP_MAX}` },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });

  afterEach(async () => {
    while (closers.length > 0) closers.pop()!();
    for (const page of pages.splice(0)) await page.close();
    await Promise.all(peers.splice(0).map((p) => p.stop({ timeoutMs: 2000 })));
  });

  after(async () => {
    await browser?.close();
    await herald?.stop();
    await new Promise((r) => app?.close(r));
  });

  /** A registered demo page. */
  async function phone(query: string): Promise<Page> {
    const page = await browser.newPage();
    pages.push(page);
    page.on('pageerror', (err) => errors.push(`${query}: ${err.message}`));
    await page.goto(`${base}/?${query}`);
    await stateBecomes(page, 'registered');
    return page;
  }

  async function call(page: Page, to: string): Promise<void> {
    await page.fill('#to', to);
    await page.click('#call');
    await stateBecomes(page, 'in-call');
  }

  /** The page's media goes to Herald's media port (anchored), not to the peer. */
  async function sendsToHerald(page: Page): Promise<void> {
    const { remote } = await statsOf(page);
    expect(remote?.address).to.equal('127.0.0.1');
    expect(remote?.port, `the selected ICE pair ends at Herald: ${JSON.stringify(remote)}`).to.be.within(RTP_MIN, RTP_MAX);
  }

  it('<Say> to a browser caller: the page receives the prompt\'s audio from Herald', async () => {
    twiml = '<Response><Say loop="0">Herald speaks to a browser.</Say></Response>';
    const bob = await phone('identity=bob');
    await call(bob, 'prompt');
    const first = await packetsReceivedAbove(bob, 0);
    expect(await packetsReceivedAbove(bob, first + 20)).to.be.greaterThan(first + 20);
    await sendsToHerald(bob);
    await bob.click('#hangup');
    await stateBecomes(bob, 'registered');
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });

  it('browser → Herald → sipp UAS echoing RTP: the browser hears its own audio back through Herald (G.711 between the legs)', async () => {
    const [uasPort, uasMediaPort] = [await freeUdpPort(), await freeUdpPort()];
    const uas = startPeer('sipp', ['-sf', join(FIXTURES, 'media-uas-pcma.xml'), '-i', '127.0.0.1', '-p', String(uasPort), '-mp', String(uasMediaPort), '-rtp_echo', '-m', '1', '-nostdin']);
    peers.push(uas);
    await udpPortBound(uasPort);
    twiml = `<Response><Dial><Sip>sip:uas@127.0.0.1:${uasPort}</Sip></Dial></Response>`;
    const bob = await phone('identity=bob');
    await call(bob, 'echo');
    // Herald never sends a leg its own audio: what the page receives went page → Herald → sipp → (echo) → Herald → page.
    const first = await packetsReceivedAbove(bob, 0);
    expect(await packetsReceivedAbove(bob, first + 50)).to.be.greaterThan(first + 50);
    // sipp answered PCMA only: the browser was answered (and sends) PCMA, no transcoding.
    expect((await statsOf(bob)).codec).to.equal('audio/PCMA');
    await sendsToHerald(bob);
    await bob.click('#hangup');
    await stateBecomes(bob, 'registered');
    // sipp's scenario ends only after the BYE Herald relayed.
    const exit = await uas.exited;
    expect(exit.code, uas.output()).to.equal(0);
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });

  it('sipp trunk playing g711a.pcap → Herald → the demo page (autoanswer): the page receives the recorded audio', async () => {
    twiml = '<Response><Dial><Client>alice</Client></Dial></Response>';
    const alice = await phone('identity=alice&autoanswer=1');
    const sipp = run('sipp', ['-sf', join(FIXTURES, 'media-uac-pcap.xml'), '-s', NUMBER, '-m', '1', '-i', '127.0.0.1', '-p', '0', '-mp', String(await freeUdpPort()), '-timeout', '40s', '-timeout_error', '-nostdin', `127.0.0.1:${herald.listeners.udp!.port}`], { timeoutMs: 60_000 });
    await stateBecomes(alice, 'in-call');
    // g711a.pcap holds 236 packets of PCMA over 7 s: most of them reach the page.
    expect(await packetsReceivedAbove(alice, 100)).to.be.greaterThan(100);
    expect((await statsOf(alice)).codec).to.equal('audio/PCMA');
    await sendsToHerald(alice);
    const r = await sipp;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    await stateBecomes(alice, 'registered');
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });

  it('sipp trunk echoing RTP (-rtp_echo, sends nothing of its own) → Herald → the demo page: the page hears its own audio back, so sipp received it', async () => {
    twiml = '<Response><Dial><Client>erin</Client></Dial></Response>';
    const erin = await phone('identity=erin&autoanswer=1');
    const mediaPort = await freeUdpPort();
    // The scenario's SDP names [rtpport]: sipp's own -mp port here, where -rtp_echo sends every packet back.
    const sipp = run('sipp', ['-sf', join(FIXTURES, 'media-uac-say.xml'), '-s', NUMBER, '-m', '1', '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', '0', '-mp', String(mediaPort), '-key', 'rtpport', String(mediaPort), '-rtp_echo', '-timeout', '40s', '-timeout_error', '-nostdin', `127.0.0.1:${herald.listeners.udp!.port}`], { timeoutMs: 60_000 });
    await stateBecomes(erin, 'in-call');
    // Nothing but sipp's echo reaches the trunk leg's Producer: inbound audio at the page went page → Herald → sipp → Herald → page.
    expect(await packetsReceivedAbove(erin, 50)).to.be.greaterThan(50);
    expect((await statsOf(erin)).codec).to.equal('audio/PCMU');
    await sendsToHerald(erin);
    await erin.click('#hangup');
    // sipp's scenario ends with the BYE Herald relayed from the page's hangup.
    const r = await sipp;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    await stateBecomes(erin, 'registered');
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });

  /** A Node trunk with its own RTP port calls `identity`'s page (autoanswer) offering one codec; resolves once the page is in the call. */
  async function trunkCallsPage(identity: string, codec: string) {
    twiml = `<Response><Dial><Client>${identity}</Client></Dial></Response>`;
    const page = await phone(`identity=${identity}&autoanswer=1`);
    const trunk = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => trunk.close(), () => rtp.close());
    trunk.invite(herald.listeners.udp!.port, NUMBER, audioSdp(rtp.port, [codec]));
    const ok = await trunk.finalResponse('INVITE', 20_000);
    expect(ok.status).to.equal(200);
    trunk.ack(ok);
    const audio = parseSdp(ok.body.toString()).media[0]!;
    await stateBecomes(page, 'in-call');
    return { page, trunk, rtp, audio };
  }

  it('a Node trunk with its own RTP (PCMU) → Herald → the demo page: audio both ways, the page\'s arriving from Herald\'s port', async () => {
    const { page: carol, trunk, rtp, audio } = await trunkCallsPage('carol', '0 PCMU/8000');
    expect(audio.protocol).to.equal('RTP/AVP');
    expect(audio.port).to.be.within(RTP_MIN, RTP_MAX);

    // The trunk talks while the test looks; the page's microphone (Chromium's fake device) talks back.
    await whileTalking(rtp, audio.port, { payloadType: 0, ssrc: 0x5eed }, async () => {
      expect(await packetsReceivedAbove(carol, 50)).to.be.greaterThan(50);
      await rtp.waitFor((got) => got.filter((p) => p.payloadType === 0).length >= 50, 'the page\'s PCMU through Herald', 20_000);
    });
    for (const p of rtp.received) expect(p.from.port, 'the page\'s audio comes from the port Herald answered with').to.equal(audio.port);
    expect(rtp.received.every((p) => p.ssrc !== 0x5eed), 'none of the trunk\'s own packets looped back').to.equal(true);
    await sendsToHerald(carol);
    trunk.inDialog('BYE');
    expect((await trunk.finalResponse('BYE')).status).to.equal(200);
    await stateBecomes(carol, 'registered');
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });

  it('hold and resume from the trunk by re-INVITE: the page is re-offered on the same transport (sendonly, then sendrecv); after resume the audio flows both ways again, the trunk\'s under a new SSRC that the page plays unsignaled', async () => {
    const { page: dave, trunk, rtp, audio } = await trunkCallsPage('dave', '8 PCMA/8000');
    const port = audio.port;
    const fromPage = () => rtp.received.filter((p) => p.payloadType === 8).length;
    await whileTalking(rtp, port, { payloadType: 8, ssrc: 0xa1 }, async () => {
      await packetsReceivedAbove(dave, 20);
      await rtp.waitFor(() => fromPage() >= 20, 'the page\'s PCMA before the hold', 20_000);
    });
    const first = await statsOf(dave);

    for (const [direction, answered] of [['sendonly', 'recvonly'], ['sendrecv', 'sendrecv']] as const) {
      trunk.inDialog('INVITE', audioSdp(rtp.port, ['8 PCMA/8000'], direction));
      const reOk = await trunk.finalResponse('INVITE', 20_000);
      expect(reOk.status, `re-INVITE ${direction}`).to.equal(200);
      trunk.ack(reOk);
      const audio = parseSdp(reOk.body.toString()).media[0]!;
      expect(audio.direction, `the trunk is answered ${answered}`).to.equal(answered);
      expect(audio.port, 'Herald\'s port toward the trunk stays').to.equal(port);
    }
    // Resumed: the page's audio flows to the trunk again, over the ICE pair it had (no new transport); the trunk
    // restarts its stream under a new SSRC (Herald follows it, ssrc-latch.ts), which reaches the page under a new unsignaled SSRC.
    const resumedAt = fromPage();
    const heard = (await statsOf(dave)).packetsReceived;
    await whileTalking(rtp, port, { payloadType: 8, ssrc: 0xb2 }, async () => {
      await rtp.waitFor(() => fromPage() >= resumedAt + 20, 'the page\'s PCMA after resume', 20_000);
      expect(await packetsReceivedAbove(dave, heard + 20)).to.be.greaterThan(heard + 20);
    });
    expect((await statsOf(dave)).remote).to.deep.equal(first.remote);
    trunk.inDialog('BYE');
    expect((await trunk.finalResponse('BYE')).status).to.equal(200);
    await stateBecomes(dave, 'registered');
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });

  it('forking to a browser and a SIP device: the device answers, the browser stops ringing and its WebRTC transport is closed at once', async () => {
    const erin = await phone('identity=erin');
    const device = await SipDialogPeer.open();
    const trunk = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => device.close(), () => trunk.close(), () => rtp.close());
    twiml = `<Response><Dial><Client>erin</Client><Sip>sip:device@127.0.0.1:${device.port}</Sip></Dial></Response>`;
    trunk.invite(herald.listeners.udp!.port, NUMBER, audioSdp(rtp.port, ['8 PCMA/8000']));
    const inv = await device.nextRequest('INVITE');
    await stateBecomes(erin, 'ringing');
    // The device is offered RTP/AVP, the browser (a WebSocket binding) WebRTC: one transport each, and the trunk's.
    expect(parseSdp(inv.request.body.toString()).media[0]!.protocol).to.equal('RTP/AVP');
    expect((await nodeMedia(herald)).transports).to.equal(3);
    device.respond(inv.raw, inv.from, 200, 'OK', audioSdp(40000, ['8 PCMA/8000']));
    const ok = await trunk.finalResponse('INVITE', 20_000);
    expect(ok.status).to.equal(200);
    trunk.ack(ok);
    expect((await nodeMedia(herald)).transports, 'the browser fork\'s transport closed when the device won').to.equal(2);
    await stateBecomes(erin, 'registered');
    trunk.inDialog('BYE');
    const bye = await device.nextRequest('BYE');
    device.respond(bye.raw, bye.from, 200, 'OK');
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });

  it('a WebSocket client that answers Herald\'s WebRTC offer with plain RTP: that fork fails with 488 (ACK, BYE), the dial fails, nothing stays', async () => {
    const phone = await startPhone({ identity: 'frank', wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, sdpPort: 40000 });
    closers.push(() => void phone.stop());
    expect(await registerPhone(phone, clientToken('frank'))).to.equal(200);
    twiml = '<Response><Dial><Client>frank</Client></Dial></Response>';
    const trunk = await SipDialogPeer.open();
    closers.push(() => trunk.close());
    trunk.invite(herald.listeners.udp!.port, NUMBER, audioSdp(40002, ['8 PCMA/8000']));
    const { invitation } = await phone.nextCall();
    // Over a WebSocket the device is a browser to Herald: it is offered WebRTC, whatever the caller speaks.
    const offered = parseSdp(invitation.request.body);
    expect(offered.media[0]!.protocol).to.equal('UDP/TLS/RTP/SAVPF');
    expect(offered.media[0]!.setup).to.equal('actpass');
    const { SessionState } = await import('sip.js');
    const ended = new Promise<void>((r) => invitation.stateChange.addListener((state) => state === SessionState.Terminated && r()));
    await invitation.accept();
    await ended;
    const final = await trunk.finalResponse('INVITE', 20_000);
    expect(final.status).to.be.within(400, 699);
    trunk.ack(final);
    // Refused as that fork's answer, before it could win (the dial would have gone on to any other fork).
    const refused = await herald.logged((l) => l.msg === 'dialed leg answered with media that cannot be bridged: 488');
    expect(String(refused.reason)).to.match(/answered RTP\/AVP to an offer of UDP\/TLS\/RTP\/SAVPF/);
    await mediaBecomesEmpty(herald);
  });

  it('DTMF from the page (RFC 4733, Chromium\'s RTCDTMFSender) reaches a SIP device as telephone-events', async () => {
    const device = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => device.close(), () => rtp.close());
    twiml = `<Response><Dial><Sip>sip:device@127.0.0.1:${device.port}</Sip></Dial></Response>`;
    const grace = await phone('identity=grace');
    await grace.fill('#to', 'dtmf');
    await grace.click('#call');
    const inv = await device.nextRequest('INVITE');
    // The device answers with the payload types Herald offered (RFC 3264 §6.1): the browser's numbering.
    const event = parseSdp(inv.request.body.toString()).media[0]!.rtp.find((r) => r.codec === 'telephone-event' && r.rate === 8000)!.payload;
    device.respond(inv.raw, inv.from, 200, 'OK', audioSdp(rtp.port, ['0 PCMU/8000', `${event} telephone-event/8000`]));
    await stateBecomes(grace, 'in-call');
    await rtp.waitFor((got) => got.some((p) => p.payloadType === 0), 'the page\'s PCMU at the device', 20_000);
    expect(await grace.evaluate(() => (globalThis as unknown as PageGlobals).heraldDemo.dtmf('19'))).to.equal(true);
    // Each digit ends with end-bit packets (RFC 4733 §2.5.1.4): the event code is the payload's first byte.
    const ended = (digit: number) => rtp.received.some((p) => p.payloadType === event && p.payload[0] === digit && (p.payload[1]! & 0x80) !== 0);
    await rtp.waitFor(() => ended(1) && ended(9), `digits 1 and 9 as telephone-events (PT ${event}) at the device`, 20_000);
    await grace.click('#hangup');
    await device.nextRequest('BYE').then((bye) => device.respond(bye.raw, bye.from, 200, 'OK'));
    await stateBecomes(grace, 'registered');
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });
});
