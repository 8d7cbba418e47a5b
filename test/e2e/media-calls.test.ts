/**
 * Calls with their media anchored in mediasoup (HERALD_MEDIA=on, CONTRACT
 * §5.7) against a real `herald serve`: real peers on both legs — sipp as a
 * trunk caller playing Debian's g711a.pcap, sipp as a callee echoing RTP
 * (-rtp_echo), and raw UDP SIP/RTP peers in Node that send their own packets
 * and count what comes back (checks that do not rest on mediasoup's counters).
 * Each side must see Herald's address in the SDP, never the other peer's;
 * a callee with no codec in common fails the dial with 488; hold and resume
 * by re-INVITE pass the direction on; afterwards /v1/Node counts no router,
 * transport, producer or consumer.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseSdp } from 'sdp-transform';
import { accountYaml, callsInUseBecomes, NUMBER } from '../helpers/test-account.js';
import { freeUdpPort, udpPortBound } from '../helpers/free-port.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { mediaBecomesEmpty as mediaBecomesEmptyOf, nodeMedia as nodeMediaOf } from '../helpers/node-media.js';
import { startPeer, type PeerProcess } from '../helpers/peer-process.js';
import { run } from '../helpers/run.js';
import { RtpPeer, rtpPacket } from '../helpers/rtp-peer.js';
import { audioSdp, SipDialogPeer } from '../helpers/sip-dialog-peer.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'sipp');
const RTP_MIN = 45000;
const RTP_MAX = 45099;

/** The audio stream of an SDP body: its address and port, payload types and direction. */
function audioOf(body: Buffer | string): { address: string; port: number; payloads: number[]; direction: string } {
  const sdp = parseSdp(body.toString());
  const audio = sdp.media.find((m) => m.type === 'audio')!;
  return {
    address: (audio.connection ?? sdp.connection)!.ip,
    port: audio.port,
    payloads: String(audio.payloads ?? '').split(' ').map(Number),
    direction: audio.direction ?? sdp.direction ?? 'sendrecv',
  };
}

/** The SDP bodies in a sipp -trace_msg file, in order. */
/** The WebRTC offer of Chromium 156 (test/fixtures/sdp), CRLF line ends as on the wire. */
function chromiumOffer(): string {
  return readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'sdp', 'chromium-156-webrtc-offer.sdp'), 'utf8').replace(/\r?\n/g, '\r\n');
}

function sdpInTrace(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split(/-{10,}/)
    .filter((m) => m.includes('v=0'))
    .map((m) => m.slice(m.indexOf('v=0')));
}

describe('media: calls anchored in mediasoup (plain RTP legs)', function () {
  this.timeout(90_000);
  let herald: HeraldProcess;
  let app: Server;
  let base: string;
  /** TwiML of the next call, and the action URL hits. */
  let twiml = '';
  const actions: Array<Record<string, string>> = [];
  const peers: PeerProcess[] = [];
  const closers: Array<() => void> = [];

  const nodeMedia = () => nodeMediaOf(herald);
  const mediaBecomesEmpty = () => mediaBecomesEmptyOf(herald);

  const inRange = (port: number) => port >= RTP_MIN && port <= RTP_MAX;

  /** A browser's call (the Chromium offer SIP.js sends) dialing a SIP device: both peers and the device's INVITE. */
  async function browserCallsDevice() {
    const callee = await SipDialogPeer.open();
    const caller = await SipDialogPeer.open();
    closers.push(() => callee.close(), () => caller.close());
    const offer = chromiumOffer();
    twiml = `<Response><Dial><Sip>sip:device@127.0.0.1:${callee.port}</Sip></Dial></Response>`;
    caller.invite(herald.listeners.udp!.port, NUMBER, offer);
    return { callee, caller, offer, inv: await callee.nextRequest('INVITE') };
  }

  before(async () => {
    app = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if ((req.url ?? '').startsWith('/action')) actions.push(Object.fromEntries(new URLSearchParams(body)));
        res.setHeader('content-type', 'text/xml');
        res.end((req.url ?? '').startsWith('/action') ? '<Response><Hangup/></Response>' : twiml);
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    herald = await startHerald({
      config: writeConfig(accountYaml({ voiceUrl: `${base}/voice`, extra: 'media: { workers: 1 }\n' })),
      env: { HERALD_MEDIA: 'on', HERALD_RTP_PORTS: `${RTP_MIN}-${RTP_MAX}`, ...(process.env.MEDIA_TEST_DEBUG ? { HERALD_LOG_LEVEL: 'debug' } : {}) },
    });
    expect((await nodeMedia()).status, 'media engine (build the worker: npm run mediasoup-worker)').to.equal('running');
  });
  afterEach(async function () {
    if (process.env.MEDIA_TEST_DEBUG && this.currentTest?.state === 'failed') {
      console.log(herald.logs.slice(-40).map((l) => JSON.stringify(l)).join('\n'));
      for (const p of peers) console.log(p.output());
    }
    while (closers.length > 0) closers.pop()!();
    await Promise.all(peers.splice(0).map((p) => p.stop({ timeoutMs: 2000 })));
  });
  after(async () => {
    await herald?.stop();
    await new Promise((r) => app?.close(r));
  });

  it('a Node caller with its own RTP → Herald → sipp callee echoing RTP: the audio comes back through Herald\'s port', async () => {
    const [uasPort, uasMediaPort] = [await freeUdpPort(), await freeUdpPort()];
    const trace = join(mkdtempSync(join(tmpdir(), 'herald-sipp-')), 'uas.msg');
    const uas = startPeer('sipp', ['-sf', join(FIXTURES, 'media-uas-pcma.xml'), '-i', '127.0.0.1', '-p', String(uasPort), '-mp', String(uasMediaPort), '-rtp_echo', '-m', '1', '-nostdin', '-trace_msg', '-message_file', trace]);
    peers.push(uas);
    await udpPortBound(uasPort);
    twiml = `<Response><Dial><Sip>sip:uas@127.0.0.1:${uasPort}</Sip></Dial></Response>`;

    const caller = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => caller.close(), () => rtp.close());
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(rtp.port, ['8 PCMA/8000', '101 telephone-event/8000']));
    const ok = await caller.finalResponse('INVITE');
    expect(ok.status).to.equal(200);
    caller.ack(ok);

    // The caller sees Herald's media address, not the callee's.
    const herald200 = audioOf(ok.body);
    expect(herald200.address).to.equal('127.0.0.1');
    expect(inRange(herald200.port), `answer port ${herald200.port} in HERALD_RTP_PORTS`).to.equal(true);
    expect(herald200.port).to.not.equal(uasMediaPort);
    // Both legs take telephone-event at 8 kHz: it is bridged with PCMA (media-dtmf.test.ts sends digits through).
    expect(herald200.payloads).to.deep.equal([8, 101]);

    // 50 packets of PCMA, 20 ms apart, each naming itself: coming back with those payloads from Herald's port,
    // they went caller → Herald → sipp → (echo) → Herald → caller (Herald never loops a leg's audio back to it).
    const ssrc = 0x1234abcd;
    for (let seq = 1; seq <= 50; seq++) {
      rtp.send(rtpPacket({ payloadType: 8, seq, ssrc }), herald200.port);
      await new Promise((r) => setTimeout(r, 20));
    }
    await rtp.waitFor((got) => got.filter((p) => p.payloadType === 8).length >= 30, 'PCMA echoed back through Herald');
    const audio = rtp.received.filter((p) => p.payloadType === 8);
    for (const p of audio) {
      expect(p.from.port, 'echo comes from Herald\'s port').to.equal(herald200.port);
      expect(p.payload.toString('latin1')).to.match(new RegExp(`^audio ${ssrc} \\d+`));
    }
    caller.inDialog('BYE');
    expect((await caller.finalResponse('BYE')).status).to.equal(200);
    const exit = await uas.exited;
    expect(exit.code, uas.output()).to.equal(0);
    // The callee saw Herald's address in the offer, with the caller's codecs, never the caller's port.
    const [offer] = sdpInTrace(trace);
    const seen = audioOf(offer!);
    expect(seen.address).to.equal('127.0.0.1');
    expect(inRange(seen.port)).to.equal(true);
    expect(seen.port).to.not.equal(rtp.port);
    expect(seen.payloads).to.deep.equal([8, 101]);
    await mediaBecomesEmpty();
    await callsInUseBecomes(herald, 0);
  });

  it('sipp trunk caller playing g711a.pcap → Herald → a Node callee: the recorded audio arrives from Herald\'s port, echoed back, sipp sees Herald\'s address', async () => {
    const callee = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    rtp.echo = true;
    closers.push(() => callee.close(), () => rtp.close());
    twiml = `<Response><Dial><Sip>sip:device@127.0.0.1:${callee.port}</Sip></Dial></Response>`;
    const trace = join(mkdtempSync(join(tmpdir(), 'herald-sipp-')), 'uac.msg');
    const sipp = run('sipp', ['-sf', join(FIXTURES, 'media-uac-pcap.xml'), '-s', NUMBER, '-m', '1', '-i', '127.0.0.1', '-p', '0', '-mp', String(await freeUdpPort()), '-timeout', '40s', '-timeout_error', '-nostdin', '-trace_msg', '-message_file', trace, `127.0.0.1:${herald.listeners.udp!.port}`], { timeoutMs: 60_000 });

    const { request: invite, raw, from } = await callee.nextRequest('INVITE');
    const offer = audioOf(invite.body);
    expect(offer.address).to.equal('127.0.0.1');
    expect(inRange(offer.port), `offer port ${offer.port} in HERALD_RTP_PORTS`).to.equal(true);
    expect(offer.payloads).to.deep.equal([8, 101]);
    callee.respond(raw, from, 200, 'OK', audioSdp(rtp.port, ['8 PCMA/8000', '101 telephone-event/8000']));
    await callee.nextRequest('ACK');

    // g711a.pcap holds 236 packets of PCMA over 7 s; most of them must arrive (the first few may go before the SSRC is learnt).
    await rtp.waitFor((got) => got.filter((p) => p.payloadType === 8).length >= 150, 'the pcap\'s PCMA through Herald', 20_000);
    for (const p of rtp.received) expect(p.from.port, 'media comes from the port Herald offered').to.equal(offer.port);
    const bye = await callee.nextRequest('BYE', 20_000);
    callee.respond(bye.raw, bye.from, 200, 'OK');
    const r = await sipp;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    // sipp's 200 named Herald, not the callee's RTP port.
    const answer = audioOf(sdpInTrace(trace)[1]!);
    expect(answer.address).to.equal('127.0.0.1');
    expect(inRange(answer.port)).to.equal(true);
    expect(answer.port).to.not.equal(rtp.port);
    await mediaBecomesEmpty();
  });

  it('forking: each dialed device gets its own Herald port; the loser\'s transport closes as soon as one answers', async () => {
    const [phone1, phone2] = [await SipDialogPeer.open(), await SipDialogPeer.open()];
    const [rtp1, callerRtp] = [await RtpPeer.open(), await RtpPeer.open()];
    rtp1.echo = true;
    const caller = await SipDialogPeer.open();
    closers.push(() => phone1.close(), () => phone2.close(), () => rtp1.close(), () => callerRtp.close(), () => caller.close());
    twiml = `<Response><Dial><Sip>sip:one@127.0.0.1:${phone1.port}</Sip><Sip>sip:two@127.0.0.1:${phone2.port}</Sip></Dial></Response>`;
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(callerRtp.port, ['0 PCMU/8000']));
    const [inv1, inv2] = [await phone1.nextRequest('INVITE'), await phone2.nextRequest('INVITE')];
    const [port1, port2] = [audioOf(inv1.request.body).port, audioOf(inv2.request.body).port];
    expect(port1).to.not.equal(port2);
    expect([inRange(port1), inRange(port2)]).to.deep.equal([true, true]);
    phone2.respond(inv2.raw, inv2.from, 180, 'Ringing');
    // The caller's transport and one per fork.
    expect((await nodeMedia()).transports).to.equal(3);
    phone1.respond(inv1.raw, inv1.from, 200, 'OK', audioSdp(rtp1.port, ['0 PCMU/8000']));
    const ok = await caller.finalResponse('INVITE');
    caller.ack(ok);
    const cancel = await phone2.nextRequest('CANCEL');
    phone2.respond(cancel.raw, cancel.from, 200, 'OK');
    phone2.respond(inv2.raw, inv2.from, 487, 'Request Terminated');
    // Caller and winner; the loser's transport is gone (a PlainTransport without rtcp-mux counts once).
    expect((await nodeMedia()).transports).to.equal(2);
    const herald200 = audioOf(ok.body);
    for (let seq = 1; seq <= 20; seq++) {
      callerRtp.send(rtpPacket({ payloadType: 0, seq, ssrc: 777 }), herald200.port);
      await new Promise((r) => setTimeout(r, 20));
    }
    await callerRtp.waitFor((got) => got.filter((p) => p.payloadType === 0).length >= 10, 'audio echoed by the winner');
    expect(rtp1.received.every((p) => p.from.port === port1), 'the winner hears Herald from the port it was offered').to.equal(true);
    caller.inDialog('BYE');
    const bye = await phone1.nextRequest('BYE');
    phone1.respond(bye.raw, bye.from, 200, 'OK');
    await mediaBecomesEmpty();
  });

  it('early media: a fork\'s 183 with SDP is bridged (the caller hears it from Herald\'s port); another fork answering takes over the media', async () => {
    const [early, answering, caller] = [await SipDialogPeer.open(), await SipDialogPeer.open(), await SipDialogPeer.open()];
    const [earlyRtp, answeringRtp, callerRtp] = [await RtpPeer.open(), await RtpPeer.open(), await RtpPeer.open()];
    answeringRtp.echo = true;
    closers.push(() => early.close(), () => answering.close(), () => caller.close(), () => earlyRtp.close(), () => answeringRtp.close(), () => callerRtp.close());
    twiml = `<Response><Dial><Sip>sip:ivr@127.0.0.1:${early.port}</Sip><Sip>sip:phone@127.0.0.1:${answering.port}</Sip></Dial></Response>`;
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(callerRtp.port, ['8 PCMA/8000', '0 PCMU/8000']));
    const [inv1, inv2] = [await early.nextRequest('INVITE'), await answering.nextRequest('INVITE')];
    early.respond(inv1.raw, inv1.from, 183, 'Session Progress', audioSdp(earlyRtp.port, ['8 PCMA/8000']));
    const progress = await caller.nextResponse(183);
    const heraldPort = audioOf(progress.body).port;
    expect(inRange(heraldPort)).to.equal(true);
    expect(audioOf(progress.body).payloads).to.deep.equal([8]);
    // The early leg plays an announcement: it reaches the caller from Herald's port.
    const toHerald = audioOf(inv1.request.body).port;
    for (let seq = 1; seq <= 20; seq++) {
      earlyRtp.send(rtpPacket({ payloadType: 8, seq, ssrc: 1001, payload: Buffer.from(`announcement ${seq}`.padEnd(160, '.')) }), toHerald);
      await new Promise((r) => setTimeout(r, 20));
    }
    await callerRtp.waitFor((got) => got.filter((p) => p.payload.toString().startsWith('announcement')).length >= 10, 'early media at the caller');
    expect(callerRtp.received.every((p) => p.from.port === heraldPort)).to.equal(true);

    // The other fork answers in PCMA too (it must: the caller already sends PCMA); the early one is cancelled.
    answering.respond(inv2.raw, inv2.from, 200, 'OK', audioSdp(answeringRtp.port, ['8 PCMA/8000']));
    const ok = await caller.finalResponse('INVITE');
    caller.ack(ok);
    expect(audioOf(ok.body).port, 'the caller keeps its Herald port').to.equal(heraldPort);
    const cancel = await early.nextRequest('CANCEL');
    early.respond(cancel.raw, cancel.from, 200, 'OK');
    early.respond(inv1.raw, inv1.from, 487, 'Request Terminated');
    for (let seq = 1; seq <= 20; seq++) {
      callerRtp.send(rtpPacket({ payloadType: 8, seq, ssrc: 2002 }), heraldPort);
      await new Promise((r) => setTimeout(r, 20));
    }
    await callerRtp.waitFor((got) => got.filter((p) => p.payload.toString().startsWith('audio 2002')).length >= 10, 'the caller\'s audio echoed by the answering fork');
    caller.inDialog('BYE');
    const bye = await answering.nextRequest('BYE');
    answering.respond(bye.raw, bye.from, 200, 'OK');
    await mediaBecomesEmpty();
  });

  it('late offer: a caller without SDP is offered Herald\'s address in the 200 with the callee\'s codec; its answer in the ACK connects it', async () => {
    const [callee, caller] = [await SipDialogPeer.open(), await SipDialogPeer.open()];
    const [calleeRtp, callerRtp] = [await RtpPeer.open(), await RtpPeer.open()];
    calleeRtp.echo = true;
    closers.push(() => callee.close(), () => caller.close(), () => calleeRtp.close(), () => callerRtp.close());
    twiml = `<Response><Dial><Sip>sip:device@127.0.0.1:${callee.port}</Sip></Dial></Response>`;
    caller.invite(herald.listeners.udp!.port, NUMBER, '');
    const inv = await callee.nextRequest('INVITE');
    // Herald offers the callee every codec it carries, from its own address.
    const offer = audioOf(inv.request.body);
    expect(offer.address).to.equal('127.0.0.1');
    expect(inRange(offer.port)).to.equal(true);
    expect(offer.payloads).to.include.members([0, 8]);
    callee.respond(inv.raw, inv.from, 200, 'OK', audioSdp(calleeRtp.port, ['0 PCMU/8000']));
    await callee.nextRequest('ACK');
    const ok = await caller.finalResponse('INVITE');
    const heraldOffer = audioOf(ok.body);
    expect(heraldOffer.payloads, 'the caller is offered the callee\'s codec').to.deep.equal([0]);
    expect(inRange(heraldOffer.port)).to.equal(true);
    caller.ack(ok, audioSdp(callerRtp.port, ['0 PCMU/8000']));
    for (let seq = 1; seq <= 20; seq++) {
      callerRtp.send(rtpPacket({ payloadType: 0, seq, ssrc: 3003 }), heraldOffer.port);
      await new Promise((r) => setTimeout(r, 20));
    }
    await callerRtp.waitFor((got) => got.filter((p) => p.payload.toString().startsWith('audio 3003')).length >= 10, 'the caller\'s audio echoed by the callee');
    expect(callerRtp.received.every((p) => p.from.port === heraldOffer.port)).to.equal(true);
    caller.inDialog('BYE');
    const bye = await callee.nextRequest('BYE');
    callee.respond(bye.raw, bye.from, 200, 'OK');
    await mediaBecomesEmpty();
  });

  it('baresip answering (a real softphone playing a 440 Hz tone): its audio reaches the caller from Herald\'s port, not baresip\'s', async () => {
    const sipPort = await freeUdpPort();
    const dir = mkdtempSync(join(tmpdir(), 'herald-baresip-'));
    // SIP and media on loopback only (net_interface 127.0.0.1), answering by itself, a sine tone as its microphone.
    writeFileSync(
      join(dir, 'config'),
      ['module_path /usr/lib/baresip/modules', `sip_listen 127.0.0.1:${sipPort}`, 'net_interface 127.0.0.1', 'audio_player aubridge,nil', 'audio_source ausine,440', 'ausrc_srate 48000', 'ausrc_channels 2', 'audio_alert aubridge,nil', 'module stdio.so', 'module g711.so', 'module ausine.so', 'module aubridge.so', 'module_app account.so', ''].join('\n'),
    );
    writeFileSync(join(dir, 'accounts'), '<sip:bob@127.0.0.1>;regint=0;answermode=auto\n');
    const baresip = startPeer('baresip', ['-f', dir]);
    peers.push(baresip);
    await udpPortBound(sipPort);
    twiml = `<Response><Dial><Sip>sip:bob@127.0.0.1:${sipPort}</Sip></Dial></Response>`;
    const caller = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => caller.close(), () => rtp.close());
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(rtp.port, ['0 PCMU/8000']));
    const ok = await caller.finalResponse('INVITE', 20_000);
    expect(ok.status, baresip.output()).to.equal(200);
    caller.ack(ok);
    const herald200 = audioOf(ok.body);
    expect(herald200.payloads).to.deep.equal([0]);
    expect(inRange(herald200.port)).to.equal(true);
    // baresip sends its tone at once; Herald learns its SSRC and forwards it. PCMU silence is 0xFF/0x7F: a tone is not.
    await rtp.waitFor((got) => got.filter((p) => p.payloadType === 0).length >= 25, 'baresip\'s audio through Herald', 20_000);
    expect(rtp.received.every((p) => p.from.port === herald200.port)).to.equal(true);
    const tone = rtp.received.at(-1)!.payload;
    expect(new Set(tone).size, 'a 440 Hz tone has many sample values').to.be.greaterThan(10);
    caller.inDialog('BYE');
    expect((await caller.finalResponse('BYE')).status).to.equal(200);
    await baresip.waitFor(/terminated|closed|BYE/i, { timeoutMs: 10_000 });
    await mediaBecomesEmpty();
  });

  it('four calls on one worker whose media starts in the same moment, in the same codec: each caller hears only its own callee (SSRC latching cannot cross calls)', async () => {
    const calls = await Promise.all(
      [1, 2, 3, 4].map(async (n) => {
        const [caller, callee, callerRtp, calleeRtp] = [await SipDialogPeer.open(), await SipDialogPeer.open(), await RtpPeer.open(), await RtpPeer.open()];
        calleeRtp.echo = true;
        closers.push(() => caller.close(), () => callee.close(), () => callerRtp.close(), () => calleeRtp.close());
        return { n, caller, callee, callerRtp, calleeRtp };
      }),
    );
    // Signaling one call after the other (the test application has one TwiML at a time); the media of all four starts together below.
    const answered = [];
    for (const c of calls) {
      twiml = `<Response><Dial><Sip>sip:device@127.0.0.1:${c.callee.port}</Sip></Dial></Response>`;
      c.caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(c.callerRtp.port, ['8 PCMA/8000']));
      const inv = await c.callee.nextRequest('INVITE');
      c.callee.respond(inv.raw, inv.from, 200, 'OK', audioSdp(c.calleeRtp.port, ['8 PCMA/8000']));
      const ok = await c.caller.finalResponse('INVITE');
      c.caller.ack(ok);
      answered.push({ ...c, port: audioOf(ok.body).port });
    }
    // Every caller starts talking in the same 20 ms slots: the worker reports four unknown SSRCs at once.
    for (let seq = 1; seq <= 25; seq++) {
      for (const c of answered) c.callerRtp.send(rtpPacket({ payloadType: 8, seq, ssrc: 9000 + c.n }), c.port);
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(answered.map((c) => c.callerRtp.waitFor((got) => got.length >= 10, `call ${c.n} echoed`)));
    for (const c of answered) {
      const ssrcs = new Set(c.callerRtp.received.map((p) => p.payload.toString().split(' ')[1]));
      expect([...ssrcs], `call ${c.n} hears only itself`).to.deep.equal([String(9000 + c.n)]);
    }
    for (const c of answered) c.caller.inDialog('BYE');
    await Promise.all(
      answered.map(async (c) => {
        const bye = await c.callee.nextRequest('BYE');
        c.callee.respond(bye.raw, bye.from, 200, 'OK');
      }),
    );
    await mediaBecomesEmpty();
  });

  it('comedia: a caller whose SDP address cannot be sent to is reached at the address its first packet came from', async () => {
    const callee = await SipDialogPeer.open();
    const [calleeRtp, callerRtp] = [await RtpPeer.open(), await RtpPeer.open()];
    calleeRtp.echo = true;
    const caller = await SipDialogPeer.open();
    closers.push(() => callee.close(), () => calleeRtp.close(), () => callerRtp.close(), () => caller.close());
    twiml = `<Response><Dial><Sip>sip:device@127.0.0.1:${callee.port}</Sip></Dial></Response>`;
    // A host name Herald does not resolve (like a NAT'd phone's private address, it is never sent to).
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(callerRtp.port, ['8 PCMA/8000']).replace(/IN IP4 127\.0\.0\.1/g, 'IN IP4 caller.invalid'));
    const inv = await callee.nextRequest('INVITE');
    callee.respond(inv.raw, inv.from, 200, 'OK', audioSdp(calleeRtp.port, ['8 PCMA/8000']));
    const ok = await caller.finalResponse('INVITE');
    caller.ack(ok);
    const port = audioOf(ok.body).port;
    for (let seq = 1; seq <= 20; seq++) {
      callerRtp.send(rtpPacket({ payloadType: 8, seq, ssrc: 4242 }), port);
      await new Promise((r) => setTimeout(r, 20));
    }
    await callerRtp.waitFor((got) => got.filter((p) => p.payloadType === 8).length >= 10, 'audio back at the address the caller sent from');
    expect(callerRtp.received.every((p) => p.from.port === port)).to.equal(true);
    caller.inDialog('BYE');
    const bye = await callee.nextRequest('BYE');
    callee.respond(bye.raw, bye.from, 200, 'OK');
    await mediaBecomesEmpty();
  });

  it('a callee that answers no codec of the caller\'s: ACKed, hung up with Reason 488, the dial fails', async () => {
    const uasPort = await freeUdpPort();
    // sipp's built-in UAS answers PCMU only; the caller offers PCMA only.
    const uas = startPeer('sipp', ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(uasPort), '-mp', String(await freeUdpPort()), '-m', '1', '-nostdin']);
    peers.push(uas);
    await udpPortBound(uasPort);
    twiml = `<Response><Dial action="${base}/action"><Sip>sip:uas@127.0.0.1:${uasPort}</Sip></Dial></Response>`;
    actions.length = 0;
    const caller = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => caller.close(), () => rtp.close());
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(rtp.port, ['8 PCMA/8000']));
    const final = await caller.finalResponse('INVITE');
    expect(final.status).to.be.within(400, 699);
    caller.ack(final);
    // sipp's scenario ends only after the BYE that followed its 200: it saw the leg hung up.
    const exit = await uas.exited;
    expect(exit.code, uas.output()).to.equal(0);
    expect(actions.map((a) => a.DialCallStatus)).to.deep.equal(['failed']);
    await mediaBecomesEmpty();
  });

  it('a browser (WebRTC) caller is anchored: the SIP callee gets Herald\'s RTP/AVP offer, the browser Herald\'s WebRTC answer (ICE-lite, DTLS passive, its mid, rtcp-mux)', async () => {
    const { callee, caller, inv } = await browserCallsDevice();
    const forked = parseSdp(inv.request.body.toString()).media[0]!;
    expect(forked.protocol).to.equal('RTP/AVP');
    // The browser's carried codecs, in its numbering: opus 111, PCMU 0, PCMA 8, and telephone-event at 48 kHz (110) and 8 kHz (126).
    expect(audioOf(inv.request.body).payloads).to.deep.equal([111, 0, 8, 110, 126]);
    callee.respond(inv.raw, inv.from, 200, 'OK', audioSdp(40000, ['8 PCMA/8000']));
    const ok = await caller.finalResponse('INVITE');
    expect(ok.status).to.equal(200);
    caller.ack(ok);
    const answer = parseSdp(ok.body.toString());
    const audio = answer.media[0]!;
    expect(audio.protocol).to.equal('UDP/TLS/RTP/SAVPF');
    expect(audioOf(ok.body).payloads).to.deep.equal([8]);
    expect(inRange(audio.port), `answer port ${audio.port} in HERALD_RTP_PORTS`).to.equal(true);
    expect(answer.icelite).to.equal('ice-lite');
    expect(audio).to.include({ setup: 'passive', rtcpMux: 'rtcp-mux' });
    expect(String(audio.mid), 'the offer\'s mid').to.equal('0');
    expect(audio.fingerprint?.type).to.equal('sha-256');
    // The worker's WebRtcServer: its one UDP port, the port of m= too.
    expect(audio.candidates?.map((c) => [c.transport, c.ip, c.port, c.type])).to.deep.equal([['udp', '127.0.0.1', audio.port, 'host']]);
    expect(answer.groups?.map((g) => `${g.type} ${g.mids}`)).to.deep.equal(['BUNDLE 0']);
    // The browser's Producer is made from its a=ssrc at once (no packet needed), the callee's waits for its RTP.
    expect(await nodeMedia()).to.include({ routers: 1, transports: 2, producers: 1 });
    caller.inDialog('BYE');
    const bye = await callee.nextRequest('BYE');
    callee.respond(bye.raw, bye.from, 200, 'OK');
    await mediaBecomesEmpty();
  });

  it('a browser (WebRTC) caller: early media in a 183 with Herald\'s WebRTC answer, the 200 keeps its ICE and DTLS; a re-INVITE with new ICE credentials (ICE restart) gets new ones on the same port', async () => {
    const { callee, caller, offer, inv } = await browserCallsDevice();
    callee.respond(inv.raw, inv.from, 183, 'Session Progress', audioSdp(40000, ['0 PCMU/8000']));
    const early = parseSdp((await caller.nextResponse(183)).body.toString());
    expect(early.media[0]!.protocol).to.equal('UDP/TLS/RTP/SAVPF');
    expect(early.media[0]!.setup).to.equal('passive');
    callee.respond(inv.raw, inv.from, 200, 'OK', audioSdp(40000, ['0 PCMU/8000']));
    const ok = await caller.finalResponse('INVITE');
    expect(ok.status).to.equal(200);
    caller.ack(ok);
    await callee.nextRequest('ACK');
    const answer = parseSdp(ok.body.toString());
    const ice = (sdp: typeof answer) => [sdp.media[0]!.iceUfrag, sdp.media[0]!.icePwd, sdp.media[0]!.fingerprint?.hash, sdp.media[0]!.port];
    expect(ice(answer), 'the 200 names the transport the 183 did').to.deep.equal(ice(early));

    // Hold with an ICE restart (new ufrag/pwd, as Chromium writes after a network change).
    caller.inDialog('INVITE', offer.replace('a=ice-ufrag:/11K', 'a=ice-ufrag:r3st').replace('a=ice-pwd:kgf0E3iegl0vH91AVunQhG2P', 'a=ice-pwd:restartedrestartedrestart').replace('a=sendrecv', 'a=sendonly'));
    const re = await callee.nextRequest('INVITE');
    expect(parseSdp(re.request.body.toString()).media[0]!.direction).to.equal('sendonly');
    callee.respond(re.raw, re.from, 200, 'OK', audioSdp(40000, ['0 PCMU/8000'], 'recvonly'));
    const reOk = await caller.finalResponse('INVITE');
    expect(reOk.status).to.equal(200);
    caller.ack(reOk);
    const restarted = parseSdp(reOk.body.toString());
    expect(restarted.media[0]!.direction).to.equal('recvonly');
    expect(restarted.media[0]!.iceUfrag, 'new ICE credentials').to.not.equal(answer.media[0]!.iceUfrag);
    expect(restarted.media[0]!.fingerprint?.hash, 'the same DTLS session').to.equal(answer.media[0]!.fingerprint?.hash);
    expect(restarted.media[0]!.port, 'the same port').to.equal(answer.media[0]!.port);
    caller.inDialog('BYE');
    const bye = await callee.nextRequest('BYE');
    callee.respond(bye.raw, bye.from, 200, 'OK');
    await mediaBecomesEmpty();
  });

  it('a browser (WebRTC) offer without a DTLS fingerprint gets 488 and leaves nothing behind', async () => {
    const caller = await SipDialogPeer.open();
    closers.push(() => caller.close());
    const offer = chromiumOffer().replace(/^a=fingerprint:.*\r\n/m, '');
    twiml = '<Response><Hangup/></Response>';
    caller.invite(herald.listeners.udp!.port, NUMBER, offer);
    const final = await caller.finalResponse('INVITE');
    expect(final.status).to.equal(488);
    expect(final.headers.get('warning') ?? '').to.match(/fingerprint/);
    caller.ack(final);
    await mediaBecomesEmpty();
  });

  it('a caller whose offer has no codec Herald carries gets 488 Not Acceptable Here at once', async () => {
    const caller = await SipDialogPeer.open();
    closers.push(() => caller.close());
    twiml = '<Response><Hangup/></Response>';
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(40000, ['9 G722/8000', '3 GSM/8000']));
    const final = await caller.finalResponse('INVITE');
    expect(final.status).to.equal(488);
    expect(final.headers.get('warning') ?? '').to.match(/no offered audio codec/);
    caller.ack(final);
    await mediaBecomesEmpty();
  });

  it('hold and resume by re-INVITE: a=sendonly reaches the callee as a direction of Herald\'s offer, its recvonly comes back; a new SSRC after resume is followed; SIP INFO DTMF passes; a codec change is a 488', async () => {
    const callee = await SipDialogPeer.open();
    const calleeRtp = await RtpPeer.open();
    const caller = await SipDialogPeer.open();
    const callerRtp = await RtpPeer.open();
    closers.push(() => callee.close(), () => calleeRtp.close(), () => caller.close(), () => callerRtp.close());
    calleeRtp.echo = true;
    twiml = `<Response><Dial><Sip>sip:device@127.0.0.1:${callee.port}</Sip></Dial></Response>`;
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(callerRtp.port, ['0 PCMU/8000', '8 PCMA/8000']));
    const inv = await callee.nextRequest('INVITE');
    expect(audioOf(inv.request.body).payloads).to.deep.equal([0, 8]);
    // The callee picks PCMA: the caller's answer carries PCMA only.
    callee.respond(inv.raw, inv.from, 200, 'OK', audioSdp(calleeRtp.port, ['8 PCMA/8000']));
    const ok = await caller.finalResponse('INVITE');
    caller.ack(ok);
    expect(audioOf(ok.body).payloads).to.deep.equal([8]);
    await callee.nextRequest('ACK');
    const talk = async (ssrc: number) => {
      for (let seq = 1; seq <= 20; seq++) {
        callerRtp.send(rtpPacket({ payloadType: 8, seq, ssrc }), audioOf(ok.body).port);
        await new Promise((r) => setTimeout(r, 20));
      }
      await callerRtp.waitFor((got) => got.filter((p) => p.payload.toString().startsWith(`audio ${ssrc} `)).length >= 10, `audio of SSRC ${ssrc} echoed`);
    };
    await talk(5001);

    for (const [direction, answered] of [['sendonly', 'recvonly'], ['sendrecv', 'sendrecv']] as const) {
      caller.inDialog('INVITE', audioSdp(callerRtp.port, ['8 PCMA/8000'], direction));
      const re = await callee.nextRequest('INVITE');
      const relayed = audioOf(re.request.body);
      expect(relayed.direction, `the callee is offered ${direction}`).to.equal(direction);
      expect(relayed.port, 'Herald\'s port toward the callee stays').to.equal(audioOf(inv.request.body).port);
      callee.respond(re.raw, re.from, 200, 'OK', audioSdp(calleeRtp.port, ['8 PCMA/8000'], answered));
      const reOk = await caller.finalResponse('INVITE');
      expect(reOk.status).to.equal(200);
      expect(audioOf(reOk.body).direction, `the caller is answered ${answered}`).to.equal(answered);
      expect(audioOf(reOk.body).port, 'Herald\'s port toward the caller stays').to.equal(audioOf(ok.body).port);
      caller.ack(reOk);
    }
    // Resumed under a new SSRC (some phones restart their stream after a hold): Herald follows it.
    await talk(5002);
    // DTMF without telephone-event: SIP INFO passes to the other leg as it is.
    caller.inDialog('INFO', 'Signal=5\r\nDuration=160\r\n', 'application/dtmf-relay');
    const info = await callee.nextRequest('INFO');
    expect(info.request.headers.get('content-type')).to.equal('application/dtmf-relay');
    expect(info.request.body.toString()).to.match(/^Signal=5/);
    callee.respond(info.raw, info.from, 200, 'OK');
    expect((await caller.finalResponse('INFO')).status).to.equal(200);

    // A re-offer that drops the call's codec cannot be followed (mediasoup does not transcode): 488, the call goes on.
    caller.inDialog('INVITE', audioSdp(callerRtp.port, ['0 PCMU/8000']));
    const refused = await caller.finalResponse('INVITE');
    expect(refused.status).to.equal(488);
    expect(refused.headers.get('warning') ?? '').to.match(/changing codecs mid-call is not supported/);
    caller.ack(refused);

    caller.inDialog('BYE');
    const bye = await callee.nextRequest('BYE');
    callee.respond(bye.raw, bye.from, 200, 'OK');
    expect((await caller.finalResponse('BYE')).status).to.equal(200);
    await mediaBecomesEmpty();
  });
});

describe('media: HERALD_RTP_PORTS exhausted', function () {
  this.timeout(60_000);
  let herald: HeraldProcess;
  let app: Server;

  before(async () => {
    app = createServer((_req, res) => {
      res.setHeader('content-type', 'text/xml');
      res.end('<Response><Dial><Sip>sip:device@127.0.0.1:9</Sip></Dial></Response>');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    herald = await startHerald({
      config: writeConfig(accountYaml({ voiceUrl: `http://127.0.0.1:${(app.address() as AddressInfo).port}/voice`, extra: 'media: { workers: 1 }\n' })),
      // Two ports: the caller's rtcp-mux transport takes one, a fork needs two (RTP and RTCP).
      env: { HERALD_MEDIA: 'on', HERALD_RTP_PORTS: '45100-45101' },
    });
  });
  after(async () => {
    await herald?.stop();
    await new Promise((r) => app?.close(r));
  });

  it('a call whose fork finds no free media port gets 503 with a Warning, and nothing of its media stays', async () => {
    const caller = await SipDialogPeer.open();
    try {
      caller.invite(herald.listeners.udp!.port, NUMBER, `${audioSdp(40000, ['0 PCMU/8000'])}a=rtcp-mux\r\n`);
      const final = await caller.finalResponse('INVITE');
      expect(final.status).to.equal(503);
      expect(final.headers.get('warning') ?? '').to.match(/no free media port in HERALD_RTP_PORTS 45100-45101/);
      caller.ack(final);
      const res = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Node`);
      const media = ((await res.json()) as { media: Record<string, number> }).media;
      expect(media).to.include({ routers: 0, transports: 0, producers: 0, consumers: 0 });
      await callsInUseBecomes(herald, 0);
    } finally {
      caller.close();
    }
  });

  it('a browser caller whose worker cannot get a port for its WebRTC server (every UDP port of the range taken) gets 503, and nothing of its media stays', async () => {
    const taken = await Promise.all([45100, 45101].map((port) => new Promise<Socket>((ok, fail) => {
      const socket = createSocket('udp4');
      socket.once('error', fail);
      socket.bind(port, '0.0.0.0', () => ok(socket));
    })));
    const caller = await SipDialogPeer.open();
    try {
      const offer = chromiumOffer();
      caller.invite(herald.listeners.udp!.port, NUMBER, offer);
      const final = await caller.finalResponse('INVITE');
      expect(final.status).to.equal(503);
      expect(final.headers.get('warning') ?? '').to.match(/no free media port in HERALD_RTP_PORTS 45100-45101 for the WebRTC server/);
      caller.ack(final);
      expect(await nodeMediaOf(herald)).to.include({ routers: 0, transports: 0, producers: 0, consumers: 0 });
      await callsInUseBecomes(herald, 0);
    } finally {
      caller.close();
      for (const socket of taken) socket.close();
    }
  });
});

describe('media: HERALD_MEDIA=off', function () {
  this.timeout(60_000);
  let herald: HeraldProcess;
  let app: Server;
  let twiml = '';

  before(async () => {
    app = createServer((_req, res) => {
      res.setHeader('content-type', 'text/xml');
      res.end(twiml);
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    herald = await startHerald({ config: writeConfig(accountYaml({ voiceUrl: `http://127.0.0.1:${(app.address() as AddressInfo).port}/voice` })), env: { HERALD_MEDIA: 'off' } });
  });
  after(async () => {
    await herald?.stop();
    await new Promise((r) => app?.close(r));
  });

  it('a browser\'s WebRTC offer reaches the callee unchanged and the callee\'s answer comes back unchanged (pass-through)', async () => {
    const callee = await SipDialogPeer.open();
    const caller = await SipDialogPeer.open();
    try {
      twiml = `<Response><Dial><Sip>sip:browser@127.0.0.1:${callee.port}</Sip></Dial></Response>`;
      const offer = chromiumOffer();
      caller.invite(herald.listeners.udp!.port, NUMBER, offer);
      const inv = await callee.nextRequest('INVITE');
      expect(inv.request.body.toString()).to.equal(offer);
      const answer = offer.replace('a=setup:actpass', 'a=setup:active');
      callee.respond(inv.raw, inv.from, 200, 'OK', answer);
      const ok = await caller.finalResponse('INVITE');
      expect(ok.status).to.equal(200);
      expect(ok.body.toString()).to.equal(answer);
      caller.ack(ok);
      caller.inDialog('BYE');
      const bye = await callee.nextRequest('BYE');
      callee.respond(bye.raw, bye.from, 200, 'OK');
      expect((await caller.finalResponse('BYE')).status).to.equal(200);
      expect((await nodeMediaOf(herald)).status).to.equal('off');
    } finally {
      callee.close();
      caller.close();
    }
  });
});
