/**
 * `<Play>` and `<Say>` into the caller's leg (HERALD_MEDIA=on) against a real
 * `herald serve`: a raw UDP SIP caller with its own RTP socket in Node gets
 * TwiML from this test's webhook server, is answered with Herald's SDP, and
 * decodes the G.711 it receives — a WAV tone served here must arrive as that
 * tone (its zero crossings and energy, not just packets), espeak-ng's speech
 * must be audible and of a plausible length; a sipp caller gets the speech
 * too (through a counting relay in front of its media port); `<Play digits>`
 * is heard as DTMF. At the end of the document
 * Herald hangs up; a caller hanging up mid-prompt stops it; either way
 * /v1/Node counts no router, transport, producer or consumer afterwards.
 */
import { expect } from 'chai';
import type { SipResponse } from '../../src/sip/message.js';
import dgram from 'node:dgram';
import { resolve } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accountYaml, callsInUseBecomes, NUMBER } from '../helpers/test-account.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { mediaBecomesEmpty as mediaBecomesEmptyOf, nodeMedia as nodeMediaOf } from '../helpers/node-media.js';
import { RtpPeer, rtpPacket, type RtpReceived } from '../helpers/rtp-peer.js';
import { audioSdp, SipDialogPeer } from '../helpers/sip-dialog-peer.js';
import { decodeG711, type G711Law } from '../../src/media/prompt/g711.js';
import { writeWav } from '../../src/media/prompt/wav.js';
import { freeUdpPort } from '../helpers/free-port.js';
import { run } from '../helpers/run.js';
import { rtpPayload } from '../helpers/rtp-peer.js';
import { detectDtmf } from '../helpers/dtmf-detect.js';

const RTP_MIN = 45200;
const RTP_MAX = 45219;
const AMPLITUDE = 8000;

function tone(hz: number, rate: number, seconds: number): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** The received audio decoded, packets in sequence order. */
function decoded(packets: readonly RtpReceived[], law: G711Law): Int16Array {
  const sorted = [...packets].sort((a, b) => a.seq - b.seq);
  const parts = sorted.map((p) => decodeG711(law, p.payload));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function rms(s: Int16Array): number {
  let sum = 0;
  for (const v of s) sum += v * v;
  return Math.sqrt(sum / Math.max(1, s.length));
}

function crossingsPerSecond(s: Int16Array): number {
  let n = 0;
  for (let i = 1; i < s.length; i++) if ((s[i - 1]! < 0) !== (s[i]! < 0)) n++;
  return (n * 8000) / s.length;
}

describe('media: <Play> and <Say> into the caller\'s leg', function () {
  this.timeout(60_000);
  let herald: HeraldProcess;
  let app: Server;
  let base: string;
  let twiml = '';
  const closers: Array<() => void> = [];
  /** Every webhook request (voice and status callbacks) with its form parameters. */
  const hits: Array<{ path: string; params: Record<string, string> }> = [];
  let hitWaiters: Array<() => void> = [];

  /** The status callbacks of the call whose voice webhook came last, once its `completed` has come. */
  function statusEventsOfLastCall(): Promise<string[]> {
    const callSid = hits.filter((h) => h.path === '/voice').at(-1)!.params.CallSid;
    const events = () => hits.filter((h) => h.path === '/status' && h.params.CallSid === callSid).map((h) => h.params.CallStatus!);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!events().includes('completed')) return;
        clearTimeout(timer);
        hitWaiters = hitWaiters.filter((w) => w !== check);
        resolve(events());
      };
      const timer = setTimeout(() => reject(new Error(`no completed status callback: ${events().join(', ')}`)), 10_000);
      hitWaiters.push(check);
      check();
    });
  }
  /** One second of 1 kHz at 8 kHz mono, and half a second of it at 44.1 kHz stereo (read and resampled by Herald). */
  const files: Record<string, Buffer> = {
    '/tone.wav': writeWav(tone(1000, 8000, 1), 8000),
    '/half-stereo-44k.wav': (() => {
      const mono = tone(1000, 44100, 0.5);
      const stereo = new Int16Array(mono.length * 2);
      mono.forEach((v, i) => stereo.set([v, v], 2 * i));
      return writeWav(stereo, 44100, 2);
    })(),
  };

  /** How often each WAV URL was fetched. */
  const fileFetches = new Map<string, number>();

  const nodeMedia = () => nodeMediaOf(herald);
  const mediaBecomesEmpty = () => mediaBecomesEmptyOf(herald);

  /** A caller offering `codecs`, answered by Herald: its RTP socket and the 200's payload types. */
  async function answeredCaller(codecs: string[]): Promise<{ caller: SipDialogPeer; rtp: RtpPeer; payloads: string }> {
    const caller = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => caller.close(), () => rtp.close());
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(rtp.port, codecs));
    const ok = await caller.finalResponse('INVITE');
    expect(ok.status, 'the caller is answered at the prompt').to.equal(200);
    caller.ack(ok);
    const m = /^m=audio (\d+) RTP\/AVP ([\d ]+)/m.exec(ok.body.toString())!;
    expect(Number(m[1])).to.be.within(RTP_MIN, RTP_MAX);
    return { caller, rtp, payloads: m[2]!.trim() };
  }

  /** A caller sending no offer (late offer) to a document that plays tone.wav: its RTP socket and Herald's 200 (not ACKed yet). */
  async function lateOfferCallerAtTone(): Promise<{ caller: SipDialogPeer; rtp: RtpPeer; ok: SipResponse }> {
    twiml = `<Response><Play>${base}/tone.wav</Play></Response>`;
    const caller = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => caller.close(), () => rtp.close());
    caller.invite(herald.listeners.udp!.port, NUMBER, '');
    return { caller, rtp, ok: await caller.finalResponse('INVITE') };
  }

  /** Herald's BYE at the end of the document, answered. */
  async function heraldHangsUp(caller: SipDialogPeer): Promise<void> {
    const bye = await caller.nextRequest('BYE', 20_000);
    caller.respond(bye.raw, bye.from, 200, 'OK');
  }

  before(async () => {
    app = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      const file = files[path];
      if (file !== undefined) {
        fileFetches.set(req.url ?? '', (fileFetches.get(req.url ?? '') ?? 0) + 1);
        res.setHeader('content-type', 'audio/wav');
        if ((req.url ?? '').includes('cache=60')) res.setHeader('cache-control', 'public, max-age=60');
        return res.end(file);
      }
      if ((req.url ?? '').endsWith('.wav')) {
        res.statusCode = 404;
        return res.end();
      }
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        hits.push({ path: req.url ?? '', params: Object.fromEntries(new URLSearchParams(body)) });
        for (const w of hitWaiters) w();
        res.setHeader('content-type', 'text/xml');
        res.end(req.url === '/status' ? '' : twiml);
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    herald = await startHerald({
      config: writeConfig(accountYaml({ voiceUrl: `${base}/voice`, statusCallback: `${base}/status`, extra: 'media: { workers: 1 }\n' })),
      env: { HERALD_MEDIA: 'on', HERALD_RTP_PORTS: `${RTP_MIN}-${RTP_MAX}` },
    });
    expect((await nodeMedia()).status, 'media engine (build the worker: npm run mediasoup-worker)').to.equal('running');
  });
  afterEach(() => {
    while (closers.length > 0) closers.pop()!();
  });
  after(async () => {
    await herald?.stop();
    await new Promise((r) => app?.close(r));
  });

  for (const { law, offer } of [
    { law: 'PCMU', offer: ['0 PCMU/8000'] },
    { law: 'PCMA', offer: ['8 PCMA/8000', '0 PCMU/8000'] },
  ] as const) {
    it(`<Play> of a 1 kHz WAV reaches a ${law} caller as a 1 kHz tone of one second, then Herald hangs up`, async () => {
      twiml = `<Response><Play>${base}/tone.wav</Play></Response>`;
      const { caller, rtp, payloads } = await answeredCaller([...offer]);
      const pt = law === 'PCMU' ? 0 : 8;
      expect(payloads, 'answered in the caller\'s first G.711 codec').to.equal(String(pt));
      await heraldHangsUp(caller);
      const audio = rtp.received.filter((p) => p.payloadType === pt);
      // 50 packets of 20 ms; a few may be lost on a loaded machine, none may be added.
      expect(audio.length).to.be.within(45, 50);
      expect(audio.every((p) => p.payload.length === 160)).to.equal(true);
      const samples = decoded(audio, law);
      expect(crossingsPerSecond(samples), 'zero crossings of a 1 kHz tone').to.be.within(1900, 2100);
      expect(rms(samples), 'energy of a sine of amplitude 8000').to.be.within(AMPLITUDE / Math.SQRT2 * 0.9, AMPLITUDE / Math.SQRT2 * 1.1);
      await mediaBecomesEmpty();
      await callsInUseBecomes(herald, 0);
    });
  }

  it('loop="2" plays it twice: twice the packets of one play (a 44.1 kHz stereo WAV, resampled)', async () => {
    twiml = `<Response><Play loop="2">${base}/half-stereo-44k.wav</Play></Response>`;
    const { caller, rtp } = await answeredCaller(['0 PCMU/8000']);
    await heraldHangsUp(caller);
    const audio = rtp.received.filter((p) => p.payloadType === 0);
    // Half a second is 25 packets; twice is 50.
    expect(audio.length).to.be.within(45, 50);
    expect(crossingsPerSecond(decoded(audio, 'PCMU'))).to.be.within(1900, 2100);
    await mediaBecomesEmpty();
  });

  it('<Play digits="1w#9">: the caller hears those keys as DTMF tones (an independent Goertzel detector), then the WAV of the same verb', async () => {
    twiml = `<Response><Play digits="1w#9">${base}/tone.wav</Play></Response>`;
    const { caller, rtp } = await answeredCaller(['0 PCMU/8000']);
    await heraldHangsUp(caller);
    const samples = decoded(rtp.received.filter((p) => p.payloadType === 0), 'PCMU');
    // 3 keys of 200 ms and a 500 ms wait (55 packets), then one second of 1 kHz (50): a few may be lost.
    expect(samples.length / 160).to.be.within(95, 105);
    expect(detectDtmf(samples)).to.equal('1#9');
    expect(crossingsPerSecond(samples.subarray(samples.length - 4000)), 'the WAV after the keys').to.be.within(1900, 2100);
    await mediaBecomesEmpty();
  });

  it('a WAV whose response allows it (max-age) is fetched once for two calls; one without Cache-Control is fetched per call', async () => {
    for (const url of [`${base}/tone.wav?cache=60`, `${base}/tone.wav?cache=none`]) {
      for (let call = 0; call < 2; call++) {
        twiml = `<Response><Play>${url}</Play></Response>`;
        const { caller, rtp } = await answeredCaller(['0 PCMU/8000']);
        await heraldHangsUp(caller);
        expect(rtp.received.filter((p) => p.payloadType === 0).length, 'the whole second played each time').to.be.within(45, 50);
      }
    }
    expect(fileFetches.get('/tone.wav?cache=60')).to.equal(1);
    expect(fileFetches.get('/tone.wav?cache=none')).to.equal(2);
    await mediaBecomesEmpty();
  });

  it('<Say> to a sipp caller: the speech reaches sipp\'s media port (counted and decoded by a relay on the way), then Herald hangs up and sipp answers the BYE', async () => {
    twiml = '<Response><Say>hello from herald</Say></Response>';
    // sipp's SDP names the relay; the relay forwards every datagram to sipp's own media port.
    const sippMediaPort = await freeUdpPort();
    const relay = dgram.createSocket('udp4');
    const relayed: Buffer[] = [];
    relay.on('message', (msg) => {
      relayed.push(msg);
      relay.send(msg, sippMediaPort, '127.0.0.1');
    });
    await new Promise<void>((r) => relay.bind(0, '127.0.0.1', r));
    closers.push(() => relay.close());
    const fixture = resolve(import.meta.dirname, '..', 'fixtures', 'sipp', 'media-uac-say.xml');
    const sipp = await run('sipp', ['-sf', fixture, '-s', NUMBER, '-m', '1', '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', '0', '-mp', String(sippMediaPort), '-key', 'rtpport', String(relay.address().port), '-timeout', '30s', '-timeout_error', '-nostdin', `127.0.0.1:${herald.listeners.udp!.port}`], { timeoutMs: 45_000 });
    expect(sipp.code, sipp.stdout + sipp.stderr).to.equal(0);
    const audio = relayed.filter((m) => (m[1]! & 0x7f) === 0);
    // "hello from herald" is one to two seconds of speech: 50-100 packets of 20 ms; allow a wide margin.
    expect(audio.length, 'PCMU packets on their way to sipp').to.be.within(25, 200);
    const samples = decodeG711('PCMU', Buffer.concat(audio.map((m) => rtpPayload(m))));
    expect(rms(samples), 'speech, not silence').to.be.above(500);
    await mediaBecomesEmpty();
  });

  it('a caller without an offer (late offer) is offered G.711 and telephone-event in the 200; the prompt plays in the codec its ACK answers', async () => {
    const { caller, rtp, ok } = await lateOfferCallerAtTone();
    expect(ok.status).to.equal(200);
    const offer = /^m=audio (\d+) RTP\/AVP ([\d ]+)/m.exec(ok.body.toString())!;
    expect(Number(offer[1])).to.be.within(RTP_MIN, RTP_MAX);
    expect(offer[2]!.trim().split(' ').slice(0, 2), 'PCMU and PCMA offered').to.deep.equal(['0', '8']);
    expect(ok.body.toString()).to.match(/a=rtpmap:\d+ telephone-event\/8000/);
    caller.ack(ok, audioSdp(rtp.port, ['8 PCMA/8000']));
    await heraldHangsUp(caller);
    const audio = rtp.received.filter((p) => p.payloadType === 8);
    expect(audio.length, 'the whole second, in PCMA').to.be.within(45, 50);
    expect(crossingsPerSecond(decoded(audio, 'PCMA'))).to.be.within(1900, 2100);
    await mediaBecomesEmpty();
  });

  it('a late-offer caller whose ACK carries no answer is hung up (RFC 3261 §13.2.1), nothing played, nothing left', async () => {
    const { caller, rtp, ok } = await lateOfferCallerAtTone();
    caller.ack(ok);
    await heraldHangsUp(caller);
    expect(rtp.received).to.deep.equal([]);
    await mediaBecomesEmpty();
    await callsInUseBecomes(herald, 0);
  });

  it('<Say>hello</Say>: espeak-ng\'s speech, audible and of a plausible length', async () => {
    twiml = '<Response><Say language="en-US">hello</Say></Response>';
    const { caller, rtp } = await answeredCaller(['8 PCMA/8000']);
    await heraldHangsUp(caller);
    const audio = rtp.received.filter((p) => p.payloadType === 8);
    // "hello" takes espeak-ng about half a second to a second (25-50 packets); allow a wide margin.
    expect(audio.length).to.be.within(15, 150);
    expect(rms(decoded(audio, 'PCMA')), 'speech, not silence').to.be.above(500);
    await mediaBecomesEmpty();
  });

  it('mid-prompt (loop="0", endless) a re-INVITE gets 488 and the prompt goes on; the caller hanging up stops it: the call ends and nothing of its media stays', async () => {
    twiml = `<Response><Play loop="0">${base}/tone.wav</Play></Response>`;
    const { caller, rtp } = await answeredCaller(['0 PCMU/8000']);
    await rtp.waitFor((got) => got.length >= 10, 'the prompt playing');
    // A re-offer while the prompt plays (no callee to pass it to): 488, the session stays, the prompt goes on.
    caller.inDialog('INVITE', audioSdp(rtp.port, ['0 PCMU/8000'], 'sendonly'));
    const refused = await caller.nextResponse(488);
    caller.ack(refused);
    const playing = rtp.received.length;
    await rtp.waitFor((got) => got.length >= playing + 10, 'the prompt still playing after the 488');
    caller.inDialog('BYE');
    expect((await caller.finalResponse('BYE')).status).to.equal(200);
    await mediaBecomesEmpty();
    await callsInUseBecomes(herald, 0);
    // No producer is left (above): nothing can be sending any more. It had played less than the hour loop="0" is capped at.
    expect(rtp.received.length).to.be.below(50 * 60);
  });

  it('<Play> then <Dial>: the caller answered at the prompt is bridged to the callee in its codec, audio both ways', async () => {
    const callee = await SipDialogPeer.open();
    const calleeRtp = await RtpPeer.open();
    closers.push(() => callee.close(), () => calleeRtp.close());
    twiml = `<Response><Play>${base}/tone.wav</Play><Dial><Sip>sip:device@127.0.0.1:${callee.port}</Sip></Dial></Response>`;
    const { caller, rtp, payloads } = await answeredCaller(['8 PCMA/8000', '0 PCMU/8000']);
    expect(payloads).to.equal('8');
    const invite = await callee.nextRequest('INVITE', 20_000);
    // The dial starts once the prompt has played.
    expect(rtp.received.filter((p) => p.payloadType === 8).length).to.be.at.least(45);
    const offer = /^m=audio (\d+) RTP\/AVP ([\d ]+)/m.exec(invite.request.body.toString())!;
    expect(offer[2]!.trim(), 'the callee is offered only the codec the caller was answered with').to.equal('8');
    callee.respond(invite.raw, invite.from, 200, 'OK', audioSdp(calleeRtp.port, ['8 PCMA/8000']));
    await callee.nextRequest('ACK');
    const callerPort = Number(/^m=audio (\d+)/m.exec(caller.log.find((r) => r.message.type === 'response' && r.message.status === 200)!.message.body.toString())![1]);
    const calleePort = Number(offer[1]);
    const named = (ssrc: number) => (got: readonly RtpReceived[]) => got.filter((p) => p.payload.toString('latin1').startsWith(`audio ${ssrc} `)).length >= 10;
    for (let seq = 1; seq <= 40 && !(named(7001)(calleeRtp.received) && named(7002)(rtp.received)); seq++) {
      rtp.send(rtpPacket({ payloadType: 8, seq, ssrc: 7001 }), callerPort);
      calleeRtp.send(rtpPacket({ payloadType: 8, seq, ssrc: 7002 }), calleePort);
      await new Promise((r) => setTimeout(r, 20));
    }
    await calleeRtp.waitFor(named(7001), 'the caller\'s audio at the callee');
    await rtp.waitFor(named(7002), 'the callee\'s audio at the caller');
    caller.inDialog('BYE');
    expect((await caller.finalResponse('BYE')).status).to.equal(200);
    const bye = await callee.nextRequest('BYE');
    callee.respond(bye.raw, bye.from, 200, 'OK');
    // Answered once (at the prompt): the bridge is not a second answer.
    const events = await statusEventsOfLastCall();
    expect(events.filter((e) => e === 'in-progress'), events.join(', ')).to.have.length(1);
    await mediaBecomesEmpty();
    await callsInUseBecomes(herald, 0);
  });

  it('<Say> then a <Dial> answered busy: the caller, answered already, is hung up with a BYE (not a 486 after its 200)', async () => {
    const callee = await SipDialogPeer.open();
    closers.push(() => callee.close());
    twiml = `<Response><Say>one</Say><Dial><Sip>sip:device@127.0.0.1:${callee.port}</Sip></Dial></Response>`;
    const { caller } = await answeredCaller(['0 PCMU/8000']);
    const invite = await callee.nextRequest('INVITE', 20_000);
    callee.respond(invite.raw, invite.from, 486, 'Busy Here');
    await heraldHangsUp(caller);
    expect(caller.log.filter((r) => r.message.type === 'response' && r.message.status === 486)).to.have.length(0);
    await mediaBecomesEmpty();
    await callsInUseBecomes(herald, 0);
  });

  it('a <Play> whose WAV cannot be fetched is skipped: the call is never answered and ends with 480', async () => {
    twiml = `<Response><Play>${base}/missing.wav</Play></Response>`;
    const caller = await SipDialogPeer.open();
    const rtp = await RtpPeer.open();
    closers.push(() => caller.close(), () => rtp.close());
    caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(rtp.port, ['0 PCMU/8000']));
    const final = await caller.finalResponse('INVITE');
    expect(final.status).to.equal(480);
    caller.ack(final);
    expect(rtp.received).to.have.length(0);
    await mediaBecomesEmpty();
    await callsInUseBecomes(herald, 0);
  });
});
