/**
 * Many plain-RTP calls whose media starts in the same moment on one worker
 * (a trunk's busy hour): every call gets its audio through, each caller hears
 * only its own callee, and the SSRC latch (src/media/ssrc-latch.ts) tries
 * about one candidate Producer per leg — the worker's unknown-SSRC reports
 * name their transport (scripts/mediasoup-worker/herald-patches.py), so a
 * report reaches only the leg it is for. Before that, every waiting leg tried
 * every reported SSRC: N calls starting together cost about (2N)² tries and
 * at 200 calls no audio got through for many seconds.
 *
 * Then 100 calls in a row, each with audio both ways: afterwards no router,
 * transport, producer or consumer is left and no UDP port of HERALD_RTP_PORTS
 * is bound.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { parse as parseSdp } from 'sdp-transform';
import { NUMBER } from '../helpers/test-account.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { startDialToPeer, type DialToPeer } from '../helpers/dial-to-peer.js';
import { mediaBecomesEmpty } from '../helpers/node-media.js';
import { RtpPeer, rtpPacket } from '../helpers/rtp-peer.js';
import { audioSdp, SipDialogPeer } from '../helpers/sip-dialog-peer.js';

const CALLS = 50;
const RTP_MIN = 46000;
// Two legs per call, RTP and RTCP on their own ports: 4 ports per call, and room to spare.
const RTP_MAX = RTP_MIN + CALLS * 4 + 99;

/** The sockets (inodes) Herald's process and its children (the mediasoup workers) hold (Linux /proc). */
function socketInodesOf(herald: HeraldProcess): Set<string> {
  const root = herald.proc.pid!;
  const children = readFileSync(`/proc/${root}/task/${root}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const inodes = new Set<string>();
  for (const pid of [root, ...children]) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m !== null) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/** The UDP ports of HERALD_RTP_PORTS that Herald or its workers have bound (/proc/net/udp: local `IP:PORT` in hex is field 2, the inode field 10). */
function boundRtpPorts(herald: HeraldProcess): number[] {
  const inodes = socketInodesOf(herald);
  return readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => inodes.has(fields[9] ?? ''))
    .map((fields) => parseInt(fields[1]?.split(':')[1] ?? '', 16))
    .filter((port) => port >= RTP_MIN && port <= RTP_MAX);
}

async function ssrcCandidates(herald: HeraldProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('herald_media_ssrc_candidates_total '));
  if (line === undefined) throw new Error('no herald_media_ssrc_candidates_total on /metrics');
  return Number(line.split(' ')[1]);
}

describe('media: many calls whose audio starts at once on one worker', function () {
  this.timeout(120_000);
  let herald: HeraldProcess;
  let peers: DialToPeer;
  const closers: Array<() => void> = [];

  before(async () => {
    peers = await startDialToPeer({ rtpPorts: `${RTP_MIN}-${RTP_MAX}`, calls: CALLS + 10 });
    herald = peers.herald;
  });
  afterEach(() => {
    while (closers.length > 0) closers.pop()!();
  });
  after(async () => {
    await peers?.close();
  });

  it(`${CALLS} calls: all hear their own callee's echo, and the latch tries about one SSRC per leg`, async () => {
    const calls = await Promise.all(
      Array.from({ length: CALLS }, async (_, n) => {
        const [caller, callee, callerRtp, calleeRtp] = [await SipDialogPeer.open(), await SipDialogPeer.open(), await RtpPeer.open(), await RtpPeer.open()];
        calleeRtp.echo = true;
        closers.push(() => caller.close(), () => callee.close(), () => callerRtp.close(), () => calleeRtp.close());
        return { n, caller, callee, callerRtp, calleeRtp };
      }),
    );
    const triedBefore = await ssrcCandidates(herald);
    const answered = [];
    for (const c of calls) {
      peers.dialTo(c.callee.port);
      c.caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(c.callerRtp.port, ['0 PCMU/8000']));
      const inv = await c.callee.nextRequest('INVITE');
      c.callee.respond(inv.raw, inv.from, 200, 'OK', audioSdp(c.calleeRtp.port, ['0 PCMU/8000']));
      const ok = await c.caller.finalResponse('INVITE');
      c.caller.ack(ok);
      const audio = parseSdp(ok.body.toString()).media.find((m) => m.type === 'audio')!;
      answered.push({ ...c, port: audio.port });
    }
    // Every caller talks in the same 20 ms slots: the worker reports CALLS unknown SSRCs at once, then the callees' echoes.
    let talking = true;
    const talk = (async () => {
      for (let seq = 1; talking && seq <= 500; seq++) {
        for (const c of answered) c.callerRtp.send(rtpPacket({ payloadType: 0, seq, ssrc: 70_000 + c.n }), c.port);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await Promise.all(answered.map((c) => c.callerRtp.waitFor((got) => got.length >= 5, `call ${c.n} echoed`, 60_000)));
    } finally {
      talking = false;
      await talk;
    }
    for (const c of answered) {
      // Herald's Consumer sends under its own SSRC; the payload names the stream it came from.
      const streams = new Set(c.callerRtp.received.map((p) => p.payload.toString().split(' ')[1]));
      expect([...streams], `call ${c.n} hears only itself`).to.deep.equal([String(70_000 + c.n)]);
    }
    const tried = (await ssrcCandidates(herald)) - triedBefore;
    // One per leg (caller, callee); a few more would be a leg whose peer changed SSRC. (2N)² would be the old broadcast.
    expect(tried, 'SSRC candidates tried').to.be.within(2 * CALLS, 3 * CALLS);

    for (const c of answered) c.caller.inDialog('BYE');
    await Promise.all(
      answered.map(async (c) => {
        const bye = await c.callee.nextRequest('BYE');
        c.callee.respond(bye.raw, bye.from, 200, 'OK');
        await c.caller.finalResponse('BYE');
      }),
    );
    await mediaBecomesEmpty(herald);
  });

  it('100 calls in a row, audio both ways in each: no media object and no RTP port left behind', async () => {
    const [caller, callee, callerRtp, calleeRtp] = [await SipDialogPeer.open(), await SipDialogPeer.open(), await RtpPeer.open(), await RtpPeer.open()];
    calleeRtp.echo = true;
    closers.push(() => caller.close(), () => callee.close(), () => callerRtp.close(), () => calleeRtp.close());
    peers.dialTo(callee.port);
    // A request Herald retransmitted on a loaded machine must not be taken for the next call's.
    const seen = new Set<string>();
    const next = async (method: string) => {
      for (;;) {
        const r = await callee.nextRequest(method);
        const key = `${method} ${r.request.headers.get('call-id')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        return r;
      }
    };
    for (let n = 0; n < 100; n++) {
      caller.invite(herald.listeners.udp!.port, NUMBER, audioSdp(callerRtp.port, ['8 PCMA/8000']));
      const inv = await next('INVITE');
      callee.respond(inv.raw, inv.from, 200, 'OK', audioSdp(calleeRtp.port, ['8 PCMA/8000']));
      const ok = await caller.finalResponse('INVITE');
      caller.ack(ok);
      const port = parseSdp(ok.body.toString()).media.find((m) => m.type === 'audio')!.port;
      // Each call's own stream (a new SSRC per call), sent until its echo comes back through Herald.
      const heard = callerRtp.received.length;
      const ssrc = 80_000 + n;
      let seq = 0;
      const talking = setInterval(() => callerRtp.send(rtpPacket({ payloadType: 8, seq: ++seq, ssrc }), port), 20);
      try {
        await callerRtp.waitFor((got) => got.slice(heard).some((p) => p.payload.toString('latin1').startsWith(`audio ${ssrc} `)), `call ${n} echoed`);
      } finally {
        clearInterval(talking);
      }
      // While a call is up its ports are bound: the check below can see them.
      if (n === 0) expect(boundRtpPorts(herald).length, 'RTP ports bound during a call').to.be.at.least(2);
      caller.inDialog('BYE');
      const bye = await next('BYE');
      callee.respond(bye.raw, bye.from, 200, 'OK');
      expect((await caller.finalResponse('BYE')).status).to.equal(200);
    }
    await mediaBecomesEmpty(herald);
    // The worker closes its sockets after the counts reach zero (closing is asynchronous): wait for them, within a bound.
    const deadline = Date.now() + 10_000;
    while (boundRtpPorts(herald).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(boundRtpPorts(herald), 'RTP ports still bound by Herald\'s workers').to.deep.equal([]);
  });
});
