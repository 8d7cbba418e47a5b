/**
 * Simultaneous bridged G.711 calls on one mediasoup worker (issue 6 item 6),
 * HERALD_MEDIA=on, `media.workers: 1`, both legs plain RTP:
 *
 *   N callers in this process (a raw SIP UAC each, SipDialogPeer, as trunk
 *   calls from 127.0.0.1, and an RTP socket each sending PCMA, 160-byte
 *   payloads every 20 ms) → Herald → webhook (<Dial><Sip>) → one sipp UAS
 *   (test/fixtures/sipp/media-uas-pcma.xml) with -rtp_echo, which sends every
 *   packet back → Herald → the caller's socket.
 *
 * Why the caller is ours and not sipp's uac_pcap: sipp plays a pcap but does
 * not count what comes back, so it cannot give loss or delay. Each packet we
 * send carries its send time and whether it is in the measured window; the
 * echo brings it back, so loss is (sent in the window − came back) / sent
 * and the round trip is measured per packet on one clock.
 *
 * Added delay: before the calls, the same N streams go straight to sipp's
 * echo port for BASELINE_S (no Herald): RTT through Herald − that baseline
 * RTT is what Herald (two mediasoup hops: caller leg → callee leg and back)
 * adds. Loss of the baseline is reported too: it is what the harness (Node
 * and sipp on core 1) loses by itself.
 *
 * Herald and its worker are pinned to core 0; sipp and this process to core 1.
 * CPU is read from /proc over the measured window, for the mediasoup-worker
 * process (a child of Herald) and for Herald's Node process separately.
 * Where loss happened is told by the kernel's per-socket drop counters
 * (/proc/net/udp) and by the worker's unknown-SSRC warnings (Herald runs with
 * DEBUG=mediasoup:WARN* so mediasoup prints them on stderr).
 * Usage:
 *   node --import tsx bench/media-calls.ts [CALLS=50,100,200,300,400] [HOLD_S=20] [BASELINE_S=5]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import dgram from 'node:dgram';
import { parse as parseSdp } from 'sdp-transform';
import { freeUdpPort, udpPortBound } from '../test/helpers/free-port.js';
import { startHerald, writeConfig, type HeraldProcess } from '../test/helpers/herald-process.js';
import { startPeer, type PeerProcess } from '../test/helpers/peer-process.js';
import { audioSdp, SipDialogPeer } from '../test/helpers/sip-dialog-peer.js';
import { accountYaml, NUMBER } from '../test/helpers/test-account.js';
import { canPin, cpuSeconds, LOAD_CORE, onCore, pinSelf, SERVER_CORE } from './bench-process.js';

const steps = (process.argv[2] ?? '50,100,200,300,400').split(',').map(Number);
const holdS = Number(process.argv[3] ?? 20);
const baselineS = Number(process.argv[4] ?? 5);
const GOAL = { calls: 300, lossPercent: 0.1 };
/**
 * Packets sent before Herald has latched a leg's SSRC (src/media/ssrc-latch.ts) are dropped by the
 * worker: the measured window starts once every call has had an echo back (its media start, reported
 * on its own), or after this long, the calls still silent then being counted as such.
 */
const MEDIA_START_CAP_MS = 15_000;
/** After the last packet is sent, echoes still on their way are waited for this long. */
const DRAIN_MS = 1000;
/** Calls set up at once (the INVITEs in flight): a trunk does not send 400 INVITEs in the same millisecond. */
const SETUP_CONCURRENCY = 20;
const PACKET_MS = 20;
const RTP_PORTS = '40000-44999';

const ROOT = resolve(import.meta.dirname, '..');
const UAS_SCENARIO = join(ROOT, 'test', 'fixtures', 'sipp', 'media-uas-pcma.xml');

// ---------------------------------------------------------------- RTP streams that time their echo

/**
 * One caller's RTP: a socket that sends PCMA with [measured flag, send time]
 * at the start of the payload, and counts and times what comes back.
 */
class EchoStream {
  private seq = 0;
  private readonly ssrc = (Math.random() * 0xffffffff) >>> 0;
  sentMeasured = 0;
  backMeasured = 0;
  /** performance.now() of the first packet sent, and of the first that came back. */
  firstSentAt: number | null = null;
  firstBackAt: number | null = null;
  readonly rttUs: number[] = [];

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg) => {
      if (msg.length < 12 + 9 || (msg[1]! & 0x7f) !== 8) return;
      this.firstBackAt ??= performance.now();
      const payload = 12 + 4 * (msg[0]! & 0x0f) + (msg[0]! & 0x10 ? 4 + 4 * msg.readUInt16BE(12 + 4 * (msg[0]! & 0x0f) + 2) : 0);
      if (msg[payload] !== 1) return;
      this.backMeasured += 1;
      this.rttUs.push(Math.round((performance.now() - msg.readDoubleBE(payload + 1)) * 1000));
    });
  }

  static open(): Promise<EchoStream> {
    return new Promise((res, rej) => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
      s.once('error', rej);
      s.bind(0, '127.0.0.1', () => res(new EchoStream(s)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(port: number, measured: boolean): void {
    this.seq += 1;
    this.firstSentAt ??= performance.now();
    const b = Buffer.alloc(12 + 160, 0xd5);
    b[0] = 0x80;
    b[1] = 8;
    b.writeUInt16BE(this.seq & 0xffff, 2);
    b.writeUInt32BE((this.seq * 160) >>> 0, 4);
    b.writeUInt32BE(this.ssrc, 8);
    b[12] = measured ? 1 : 0;
    b.writeDoubleBE(performance.now(), 13);
    if (measured) this.sentMeasured += 1;
    this.socket.send(b, port, '127.0.0.1');
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Sends one packet every 20 ms on each stream added (a call starts its RTP as
 * soon as it is answered, as a phone does, so Herald latches calls as they come):
 * unmeasured until `measure` is called, measured from then on.
 */
class Ticker {
  private readonly streams: Array<{ stream: EchoStream; port: number }> = [];
  private measured = false;
  private readonly timer = setInterval(() => {
    for (const s of this.streams) s.stream.send(s.port, this.measured);
  }, PACKET_MS);

  add(stream: EchoStream, port: number): void {
    this.streams.push({ stream, port });
  }

  /**
   * Waits until every stream has had an echo (or `capMs`), then measures for `ms`,
   * calling `window` at the window's start and end (CPU is read there); stops
   * sending and waits for the echoes still on their way.
   */
  async measure(ms: number, capMs: number, window: (edge: 'start' | 'end') => void): Promise<void> {
    const deadline = performance.now() + capMs;
    while (performance.now() < deadline && !this.streams.every((s) => s.stream.firstBackAt !== null)) await new Promise((r) => setTimeout(r, PACKET_MS));
    this.measured = true;
    window('start');
    await new Promise((r) => setTimeout(r, ms));
    window('end');
    clearInterval(this.timer);
    await new Promise((r) => setTimeout(r, DRAIN_MS));
  }
}

interface StreamStats {
  sent: number;
  back: number;
  lossPercent: number;
  rttP50Ms: number;
  rttP99Ms: number;
  /** Streams of which nothing in the window came back (a call whose media never flowed, not packets lost on the way). */
  silent: number;
  /** Over the streams that did get echoes: their loss. */
  lossOfFlowingPercent: number;
  /** First packet sent → first echo back, per stream, ms: how long media takes to flow (SSRC latching, for calls through Herald). */
  mediaStartP50Ms: number;
  mediaStartMaxMs: number;
}

function streamStats(streams: EchoStream[]): StreamStats {
  const sent = streams.reduce((n, s) => n + s.sentMeasured, 0);
  const back = streams.reduce((n, s) => n + s.backMeasured, 0);
  const rtt = streams.flatMap((s) => s.rttUs).sort((a, b) => a - b);
  const at = (q: number): number => Number(((rtt[Math.min(rtt.length - 1, Math.floor(q * rtt.length))] ?? 0) / 1000).toFixed(3));
  const flowing = streams.filter((s) => s.backMeasured > 0);
  const starts = streams.flatMap((s) => (s.firstBackAt !== null && s.firstSentAt !== null ? [s.firstBackAt - s.firstSentAt] : [])).sort((a, b) => a - b);
  const flowingSent = flowing.reduce((n, s) => n + s.sentMeasured, 0);
  const percent = (lost: number, of: number): number => (of === 0 ? 100 : Number(((100 * lost) / of).toFixed(3)));
  return {
    sent,
    back,
    lossPercent: percent(sent - back, sent),
    rttP50Ms: at(0.5),
    rttP99Ms: at(0.99),
    silent: streams.length - flowing.length,
    lossOfFlowingPercent: percent(flowingSent - back, flowingSent),
    mediaStartP50Ms: Math.round(starts[Math.floor(starts.length / 2)] ?? 0),
    mediaStartMaxMs: Math.round(starts[starts.length - 1] ?? 0),
  };
}

// ---------------------------------------------------------------- the peers

/** The pid of Herald's mediasoup-worker child process. */
function workerPid(herald: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === herald && comm.startsWith('mediasoup-work')) return Number(entry);
    } catch {
      continue;
    }
  }
  throw new Error(`no mediasoup-worker child of Herald (pid ${herald}): is HERALD_MEDIA on and the worker built (npm run mediasoup-worker)?`);
}

/**
 * Datagrams the kernel dropped because a socket's receive buffer was full
 * (/proc/net/udp "drops", counted since each socket was made), summed for
 * the sockets whose local port `group` names: this says where loss happened.
 */
function udpDrops(group: (port: number) => string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/net/udp', 'utf8').trim().split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const port = parseInt((f[1] ?? '').split(':')[1] ?? '', 16);
    const name = group(port);
    if (name !== null) out[name] = (out[name] ?? 0) + Number(f[f.length - 1]);
  }
  return out;
}

/** A sipp callee echoing RTP for `calls` calls, on core 1. */
async function startEchoUas(calls: number): Promise<{ sipp: PeerProcess; sipPort: number; mediaPort: number }> {
  const [sipPort, mediaPort] = [await freeUdpPort(), await freeUdpPort()];
  const args = ['-sf', UAS_SCENARIO, '-i', '127.0.0.1', '-p', String(sipPort), '-mp', String(mediaPort), '-rtp_echo', '-m', String(calls), '-nostdin', '-buff_size', '8388608'];
  const [cmd, argv] = onCore(LOAD_CORE, 'sipp', args);
  const sipp = startPeer(cmd, argv);
  await udpPortBound(sipPort);
  await udpPortBound(mediaPort);
  return { sipp, sipPort, mediaPort };
}

interface Call {
  sip: SipDialogPeer;
  stream: EchoStream;
}

async function placeCall(heraldSipPort: number, ticker: Ticker): Promise<Call> {
  const [sip, stream] = [await SipDialogPeer.open(), await EchoStream.open()];
  sip.invite(heraldSipPort, NUMBER, audioSdp(stream.port, ['8 PCMA/8000']));
  const ok = await sip.finalResponse('INVITE', 30_000);
  if (ok.status !== 200) throw new Error(`call answered ${ok.status}`);
  sip.ack(ok);
  const audio = parseSdp(ok.body.toString()).media.find((m) => m.type === 'audio');
  if (audio === undefined) throw new Error('no audio in the 200');
  ticker.add(stream, audio.port);
  return { sip, stream };
}

async function placeCalls(n: number, heraldSipPort: number, ticker: Ticker): Promise<Call[]> {
  const calls: Call[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(SETUP_CONCURRENCY, n) }, async () => {
      while (next < n) {
        next += 1;
        calls.push(await placeCall(heraldSipPort, ticker));
      }
    }),
  );
  return calls;
}

async function hangUp(calls: Call[]): Promise<number> {
  const done = await Promise.allSettled(
    calls.map(async (c) => {
      c.sip.inDialog('BYE');
      return (await c.sip.finalResponse('BYE', 10_000)).status;
    }),
  );
  for (const c of calls) {
    c.sip.close();
    c.stream.close();
  }
  return done.filter((d) => d.status === 'fulfilled' && d.value === 200).length;
}

// ---------------------------------------------------------------- one step

function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

interface Result {
  calls: number;
  baseline: StreamStats;
  herald: StreamStats;
  addedRttP50Ms: number;
  addedRttP99Ms: number;
  /** Over the measured window: CPU % of one core, and µs of CPU per call per second. */
  workerCpuPercent: number;
  workerCpuUsPerCallSecond: number;
  heraldNodeCpuPercent: number;
  /** Kernel receive-buffer drops by socket owner over the call (see udpDrops). */
  drops: Record<string, number>;
  /** Herald's warnings and errors during the step, by message (a worker complaining per packet shows here). */
  heraldWarnings: Record<string, number>;
  /**
   * RTP packets the worker could not hand to a Producer (mediasoup's warning, which Herald's
   * SSRC latching reads), from the worker's warnings that mediasoup's `debug` log prints.
   */
  unknownSsrcPackets: number;
  byeOk: number;
  meetsLoss: boolean;
}

async function measure(n: number, webhook: { set(twiml: string): void; url: string }): Promise<Result> {
  const uas = await startEchoUas(n);
  let herald: HeraldProcess | undefined;
  try {
    // Baseline: the same N streams straight to sipp's echo.
    const direct = await Promise.all(Array.from({ length: n }, () => EchoStream.open()));
    const directTicker = new Ticker();
    for (const stream of direct) directTicker.add(stream, uas.mediaPort);
    await directTicker.measure(baselineS * 1000, MEDIA_START_CAP_MS, () => undefined);
    const baseline = streamStats(direct);
    for (const s of direct) s.close();

    herald = await startHerald({
      config: writeConfig(accountYaml({ voiceUrl: webhook.url, calls: 100_000, extra: 'media: { workers: 1 }\n' })),
      env: { HERALD_LOG_LEVEL: 'warn', HERALD_SIP_TCP: 'off', HERALD_SIP_WS: 'off', HERALD_MEDIA: 'on', HERALD_RTP_PORTS: RTP_PORTS, DEBUG: 'mediasoup:WARN*' },
      pinCpu: canPin ? SERVER_CORE : undefined,
    });
    const worker = workerPid(herald.proc.pid as number);
    webhook.set(`<Response><Dial><Sip>sip:uas@127.0.0.1:${uas.sipPort}</Sip></Dial></Response>`);
    const ticker = new Ticker();
    const calls = await placeCalls(n, herald.listeners.udp!.port, ticker);

    // CPU over the measured window only (media flowing on every call, before the drain).
    const cpu = { start: [0, 0, 0], end: [0, 0, 0] };
    const heraldPid = herald.proc.pid as number;
    await ticker.measure(holdS * 1000, MEDIA_START_CAP_MS, (edge) => {
      cpu[edge] = [cpuSeconds(worker), cpuSeconds(heraldPid), performance.now()];
    });
    const [w0, h0, t0] = cpu.start as [number, number, number];
    const [w1, h1, t1] = cpu.end as [number, number, number];
    const [rtpMin, rtpMax] = RTP_PORTS.split('-').map(Number) as [number, number];
    const callerPorts = new Set(calls.map((c) => c.stream.port));
    const drops = udpDrops((port) =>
      port >= rtpMin && port <= rtpMax ? 'herald' : port === uas.mediaPort ? 'sipp' : callerPorts.has(port) ? 'callers' : null,
    );
    const through = streamStats(calls.map((c) => c.stream));
    const byeOk = await hangUp(calls);

    const wall = (t1 - t0) / 1000;
    const workerCpu = (w1 - w0) / wall;
    return {
      calls: n,
      baseline,
      herald: through,
      addedRttP50Ms: Number((through.rttP50Ms - baseline.rttP50Ms).toFixed(3)),
      addedRttP99Ms: Number((through.rttP99Ms - baseline.rttP99Ms).toFixed(3)),
      workerCpuPercent: Number((100 * workerCpu).toFixed(1)),
      workerCpuUsPerCallSecond: Math.round((workerCpu * 1e6) / n),
      heraldNodeCpuPercent: Number(((100 * (h1 - h0 - (w1 - w0))) / wall).toFixed(1)),
      drops,
      unknownSsrcPackets: herald.stderr().split('no suitable Producer').length - 1,
      // The ready line (CONTRACT §1) is printed whatever the level: not a warning.
      heraldWarnings: countBy(herald.logs.filter((l) => typeof l.level === 'number' && l.level >= 40).map((l) => String(l.msg ?? l.message ?? JSON.stringify(l)).slice(0, 120))),
      byeOk,
      meetsLoss: through.lossPercent < GOAL.lossPercent,
    };
  } finally {
    await herald?.stop();
    await uas.sipp.stop({ timeoutMs: 2000 });
  }
}

// ---------------------------------------------------------------- the ladder

let twiml = '';
const hook = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(twiml);
  });
});
hook.keepAliveTimeout = 60_000;
await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
const webhook = { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/voice`, set: (t: string) => (twiml = t) };

pinSelf(LOAD_CORE);
console.log(
  `Bridged G.711 (PCMA, 50 packets/s each way) calls on one mediasoup worker, HERALD_MEDIA=on: Node callers → Herald → sipp -rtp_echo callee; ` +
    `${holdS} s measured per step once every call's echo flows (each call's RTP starts at its 200, setup ${SETUP_CONCURRENCY} at a time); baseline ${baselineS} s straight to sipp ` +
    `(${canPin ? 'Herald and its worker on core 0; callers, webhook and sipp on core 1' : 'unpinned'})`,
);
console.log('| calls | worker CPU | worker CPU per call | Herald (Node) CPU | packets sent (window) | lost through Herald | silent calls | loss of the others | lost direct (baseline) | RTT p50 / p99 through Herald | RTT p50 / p99 direct | **added p50 / p99** | media start p50 / max | kernel drops Herald / sipp / callers | BYE 200 |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const results: Result[] = [];
try {
  for (const n of steps) {
    const r = await measure(n, webhook);
    results.push(r);
    console.log(
      `| ${n} | ${r.workerCpuPercent} % | ${r.workerCpuUsPerCallSecond} µs/s | ${r.heraldNodeCpuPercent} % | ${r.herald.sent} | ${r.herald.lossPercent} % | ${r.herald.silent} | ${r.herald.lossOfFlowingPercent} % | ${r.baseline.lossPercent} % | ` +
        `${r.herald.rttP50Ms} / ${r.herald.rttP99Ms} ms | ${r.baseline.rttP50Ms} / ${r.baseline.rttP99Ms} ms | **${r.addedRttP50Ms} / ${r.addedRttP99Ms} ms** | ${r.herald.mediaStartP50Ms} / ${r.herald.mediaStartMaxMs} ms | ${r.drops.herald ?? 0} / ${r.drops.sipp ?? 0} / ${r.drops.callers ?? 0} | ${r.byeOk} of ${n} |`,
    );
    console.log(`    (${r.unknownSsrcPackets} RTP packets reached a transport with no Producer for their SSRC)`);
    if (Object.keys(r.heraldWarnings).length > 0) console.log(`    (Herald's warnings: ${JSON.stringify(r.heraldWarnings)})`);
    // Loss alone does not stop the ladder: the drop columns say whose socket lost it (sipp's echo socket overflows first here).
    if (r.herald.silent > 0) break;
  }
} finally {
  hook.closeAllConnections();
  hook.close();
}
const top = results.filter((r) => r.meetsLoss).reduce((m, r) => Math.max(m, r.calls), 0);
console.log(`  most calls with loss < ${GOAL.lossPercent} %: ${top === 0 ? 'none' : top}; goal ≥ ${GOAL.calls} per worker ${top >= GOAL.calls ? 'met' : 'not met'}`);
console.log(JSON.stringify({ bench: 'media-calls', holdS, baselineS, pinned: canPin, results, maxCallsUnderLossGoal: top }));
