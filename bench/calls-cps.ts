/**
 * Calls per second through the whole call path (CONTRACT §5), HERALD_MEDIA=off
 * (SDP passes end to end):
 *
 *   sipp (trunk UAC, bench/sipp/trunk-call-timed.xml, from 127.0.0.1, a trunk
 *   of the generated config) → Herald → webhook (a Node HTTP server in this
 *   process answering <Dial><Client>alice</Client></Dial>) → fork to alice's
 *   two devices (bench/calls-cps-ua.ts: a child process that REGISTERs them
 *   with Digest over UDP and answers every INVITE at once with 200 + SDP) →
 *   the first 200 wins, the other device is hung up; sipp ACKs, holds HOLD_MS,
 *   sends BYE.
 *
 * Herald (`herald serve` with a generated config) is pinned to core 0; sipp,
 * the devices and this process (the webhook) to core 1. For each offered
 * rate, Herald and the devices start fresh, 3 s of warm-up run at that rate,
 * then SECONDS are measured: completed calls per second (sipp's
 * -trace_stat, median of the steady seconds), failed calls, Herald's CPU per
 * completed call (/proc, Herald's process tree), and the time Herald adds to
 * call setup:
 *
 *   added = (INVITE sent → 200 received, timed by sipp per call)
 *         − (request in → response out, timed by the webhook per call)
 *         − (INVITE in → 200 out of the device whose 200 came first, timed by the UA)
 *
 * Each term is a duration on one process's own clock, matched per call by the
 * caller's name (r<run>c<call number>, which reaches the webhook as From and the
 * devices in their INVITE's From). What is left is Herald's work and queueing
 * plus the time datagrams and requests waited for the peers' event loops
 * (reported: their event-loop delay) and sipp's own: an upper bound of what
 * Herald adds, tight while core 1 has room. When tcpdump is installed, the
 * same calls are also timed on the wire (bench/calls-wire-timing.ts: a capture
 * on lo, kernel timestamps): Herald's part alone, its socket queueing included,
 * split into INVITE → webhook, webhook → fork, device's 200 → 200; the goal
 * is judged on both. CPU per call is also given in host units
 * (bench/host-speed.ts, run on Herald's core before and after each rate). Usage:
 *   node --import tsx bench/calls-cps.ts [RATES=100,250,500,750,1000,1250,1500] [SECONDS=10] [HOLD_MS=500]
 * Environment: CALLS_CPS_PROFILE=DIR runs Herald with `node --cpu-prof
 * --cpu-prof-dir DIR` (one profile per rate, written when Herald exits;
 * bench/cpu-profile-top.ts reads it); CALLS_CPS_NODE_ARGS='--heap-prof
 * --heap-prof-dir DIR' (any node flags for Herald); CALLS_CPS_NICE=-10 renices Herald's
 * main thread (root only), for a machine shared with other work;
 * CALLS_CPS_WIRE=off skips the capture; CALLS_CPS_KEEP_PCAP=1 keeps it (path printed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startHerald, type HeraldProcess } from '../test/helpers/herald-process.js';
import { canPin, cpuSeconds, LOAD_CORE, onCore, pinSelf, runOnCore, SERVER_CORE, serverCoreUnit, sippOutcome, type SippOutcome } from './bench-process.js';
import { wireSpans, type WireSpans } from './calls-wire-timing.js';
import { canCapture, captureLoopback, readCapture } from './loopback-capture.js';

const rates = (process.argv[2] ?? '100,250,500,750,1000,1250,1500').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 10);
const holdMs = Number(process.argv[4] ?? 500);
const profileDir = process.env.CALLS_CPS_PROFILE;
/** More flags for Herald's node (e.g. `--heap-prof --heap-prof-dir DIR`, `--trace-gc`). */
const extraNodeArgs = (process.env.CALLS_CPS_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
/** On a shared machine: Herald's main thread gets this nice value (e.g. -10; root only), so neighbours on its core delay it less. */
const heraldNice = process.env.CALLS_CPS_NICE;
/** Time the calls on the wire too (tcpdump on lo, on the load core): on unless CALLS_CPS_WIRE=off or tcpdump is missing. */
const onWire = canCapture && process.env.CALLS_CPS_WIRE !== 'off';
const WARMUP_S = 3;
/** A rate is sustained when fewer than this share of calls fail and the median second is within 5 % of it. */
const MAX_FAILED_PERCENT = 0.1;
const MIN_MEDIAN_SHARE = 0.95;
const GOAL = { cps: 1000, addedP99Ms: 5, atCps: 500 };
/** The ladder stops after a rate where this share of calls failed: Herald is past collapse, higher rates say nothing more. */
const STOP_FAILED_PERCENT = 10;

const ROOT = resolve(import.meta.dirname, '..');
const SCENARIO = join(ROOT, 'bench', 'sipp', 'trunk-call-timed.xml');
const UA = join(ROOT, 'bench', 'calls-cps-ua.ts');
const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
const APP = 'AP0123456789abcdef0123456789abcdef';
const NUMBER = '+15550001111';
const DOMAIN = 'bench.sip.localhost';
const ALICE = { user: 'alice', password: 'alice-bench-secret' };
const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Client>alice</Client></Dial></Response>';
const dir = mkdtempSync(join(tmpdir(), 'herald-bench-calls-'));

/** The caller name sipp gives each call (r<run>c<n>), as it appears in From. */
const CALLER = /r\d+c\d+/;

// ---------------------------------------------------------------- the webhook

/** Caller → µs from the request's arrival in the handler to the response handed to the socket. */
const hookSpans = new Map<string, number>();
const hookLoopDelay = monitorEventLoopDelay({ resolution: 1 });
const hook = createServer((req, res) => {
  const start = performance.now();
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(TWIML);
    const caller = CALLER.exec(new URLSearchParams(body).get('From') ?? '')?.[0];
    if (caller !== undefined) hookSpans.set(caller, Math.round((performance.now() - start) * 1000));
  });
});
// Many concurrent requests from one client: keep-alive sockets stay open across rates.
hook.keepAliveTimeout = 60_000;
await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
const hookPort = (hook.address() as AddressInfo).port;
const hookUrl = `http://127.0.0.1:${hookPort}/voice`;

function heraldConfig(): string {
  const file = join(dir, 'herald.yaml');
  writeFileSync(
    file,
    `accounts:
  - sid: ${ACCOUNT}
    authToken: ${AUTH_TOKEN}
    apiKeys: [{ sid: SK0123456789abcdef0123456789abcdef, secret: a-long-api-key-secret }]
    limits: { calls: 1000000, api: 20, devicesPerClient: 10 }
    sipDomain: ${DOMAIN}
    credentials: [{ username: ${ALICE.user}, password: ${ALICE.password} }]
    applications:
      - { sid: ${APP}, voiceUrl: "${hookUrl}" }
    numbers:
      - { number: "${NUMBER}", application: ${APP} }
trunks:
  - { name: bench-trunk, account: ${ACCOUNT}, from: ["127.0.0.1/32"] }
`,
  );
  return file;
}

// ---------------------------------------------------------------- the devices

interface Devices {
  /** Writes the timings since the last dump to `file` and resolves with the counters and loop delay. */
  dump(file: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

async function startDevices(heraldPort: number): Promise<Devices> {
  const [cmd, args] = onCore(LOAD_CORE, process.execPath, ['--import', 'tsx', UA, String(heraldPort), DOMAIN, ALICE.user, ALICE.password, '2']);
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<{ prefix: string; resolve: (rest: string) => void }> = [];
  lines.on('line', (line) => {
    const i = waiting.findIndex((w) => line.startsWith(w.prefix));
    if (i >= 0) waiting.splice(i, 1)[0]?.resolve(line);
  });
  const next = (prefix: string): Promise<string> =>
    Promise.race([
      new Promise<string>((resolve) => waiting.push({ prefix, resolve: (line) => resolve(line.slice(prefix.length)) })),
      exited.then(() => Promise.reject(new Error(`the devices exited: ${stderr}`))),
    ]);
  await next('registered ');
  return {
    async dump(file) {
      const answer = next('dumped ');
      child.stdin.write(`dump ${file}\n`);
      return JSON.parse(await answer) as Record<string, unknown>;
    },
    async stop() {
      child.stdin.end('quit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Caller → the device time of the first 200 (the device that won), from the devices' dump. */
function deviceSpans(file: string): Map<string, number> {
  const first = new Map<string, { sentAt: number; span: number }>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [caller, , sentAt, span] = line.split(';');
    if (caller === undefined || span === undefined) continue;
    const known = first.get(caller);
    if (known === undefined || Number(sentAt) < known.sentAt) first.set(caller, { sentAt: Number(sentAt), span: Number(span) });
  }
  return new Map([...first].map(([caller, v]) => [caller, v.span]));
}

// ---------------------------------------------------------------- one rate

interface Result extends SippOutcome {
  offered: number;
  heraldCpuUsPerCall: number;
  /** The server core's speed around the run (bench/host-speed.ts), µs per unit: CPU per call in these units compares runs minutes apart. */
  hostUnitUs: number;
  /** Over the measured calls with all three timings: ms. */
  setup: Percentiles;
  webhook: Percentiles;
  device: Percentiles;
  heraldAdded: Percentiles;
  matchedCalls: number;
  devices: Record<string, unknown>;
  webhookLoopDelayP99Ms: number;
  /** Herald: GC seconds by kind over the measured run; event-loop lag p99 and max (ms). */
  heraldGcSeconds: Record<string, number>;
  heraldLoopLagP99Ms: number;
  heraldLoopLagMaxMs: number;
  /**
   * Herald's own view, from its call records (`GET …/Calls`, the last 1,000 calls and legs):
   * the call's start (caller identified, gate slot taken) → the 200 to the caller, ms (whole ms:
   * the records' resolution). It leaves out the time the INVITE waited for Herald's loop before
   * that, and everything on the load core.
   */
  recordedSetup: { calls: number; p50: number; p90: number; p99: number; max: number };
  /** The same calls timed on the wire (calls-wire-timing.ts), ms; null when not captured. */
  wire: WireResult | null;
  sustained: boolean;
}

interface WireResult {
  calls: number;
  droppedPackets: number;
  added: Percentiles;
  toHook: Percentiles;
  toFork: Percentiles;
  toAnswer: Percentiles;
  setup: Percentiles;
}

function wireResult(spans: Map<string, WireSpans>, droppedPackets: number): WireResult {
  const of = (k: keyof WireSpans): Percentiles => percentiles([...spans.values()].map((s) => s[k]));
  return { calls: spans.size, droppedPackets, added: of('added'), toHook: of('toHook'), toFork: of('toFork'), toAnswer: of('toAnswer'), setup: of('setup') };
}

interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

function percentiles(us: number[]): Percentiles {
  const s = [...us].sort((a, b) => a - b);
  const at = (q: number): number => Number(((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0) / 1000).toFixed(3));
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

function sipp(target: string, run: number, rate: number, calls: number, files: { stat: string; log: string } | null) {
  const args = ['-sf', SCENARIO, '-s', NUMBER, '-key', 'run', String(run), '-m', String(calls), '-r', String(rate), '-rp', '1000', '-d', String(holdMs)];
  args.push('-l', String(Math.max(100, rate * 10)), '-t', 'u1', '-i', '127.0.0.1', '-p', '0', '-buff_size', '8388608', '-nostdin');
  args.push('-recv_timeout', '10000', '-timeout', `${Math.ceil(calls / rate) + 60}s`);
  if (files !== null) args.push('-trace_stat', '-stf', files.stat, '-fd', '1', '-trace_logs', '-log_file', files.log);
  args.push(target);
  return runOnCore(LOAD_CORE, 'sipp', args);
}

/** Caller → µs between sipp sending the INVITE and receiving the 200 (its -log_file lines). */
function setupTimes(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(';');
    if (f[0] !== 'call' || f.length < 6) continue;
    const us = (s: string | undefined, u: string | undefined): number => Number(s) * 1e6 + Number(u);
    out.set(f[1] as string, us(f[4], f[5]) - us(f[2], f[3]));
  }
  return out;
}

/** Herald's own view (prom-client default metrics): seconds spent in GC, by kind, and the event-loop lag's p99 and max since the last scrape. */
async function heraldRuntime(herald: HeraldProcess): Promise<{ gc: Record<string, number>; lagP99Ms: number; lagMaxMs: number }> {
  const text = await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/metrics`)).text();
  const gc: Record<string, number> = {};
  for (const m of text.matchAll(/^herald_nodejs_gc_duration_seconds_sum\{kind="(\w+)"\} ([0-9.e+-]+)$/gm)) gc[m[1] as string] = Number(m[2]);
  const gauge = (name: string): number => Number(new RegExp(`^herald_nodejs_eventloop_lag_${name}_seconds ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { gc, lagP99Ms: Number(gauge('p99').toFixed(1)), lagMaxMs: Number(gauge('max').toFixed(1)) };
}

async function recordedSetup(herald: HeraldProcess): Promise<Result['recordedSetup']> {
  const auth = `Basic ${Buffer.from(`${ACCOUNT}:${AUTH_TOKEN}`).toString('base64')}`;
  const res = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Calls?limit=1000`, { headers: { authorization: auth } });
  const { calls } = (await res.json()) as { calls: Array<{ startTime: string; answerTime: string | null; parentCallSid?: string | null }> };
  const ms = calls
    .filter((c) => c.answerTime !== null && (c.parentCallSid ?? null) === null)
    .map((c) => Date.parse(c.answerTime as string) - Date.parse(c.startTime))
    .sort((a, b) => a - b);
  const at = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0;
  return { calls: ms.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: ms[ms.length - 1] ?? 0 };
}

/** GC seconds per kind between two scrapes. */
function gcSpent(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Number((v - (before[k] ?? 0)).toFixed(3))]));
}

let runNumber = 0;

async function measure(rate: number): Promise<Result> {
  const unitBefore = await serverCoreUnit();
  const result = await measureHerald(rate);
  result.hostUnitUs = Number(((unitBefore + (await serverCoreUnit())) / 2).toFixed(3));
  return result;
}

async function measureHerald(rate: number): Promise<Result> {
  const herald: HeraldProcess = await startHerald({
    config: heraldConfig(),
    env: { HERALD_LOG_LEVEL: 'warn', HERALD_SIP_TCP: 'off', HERALD_SIP_WS: 'off', HERALD_MEDIA: 'off' },
    pinCpu: canPin ? SERVER_CORE : undefined,
    nodeArgs: [...(profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), ...extraNodeArgs],
  });
  if (heraldNice !== undefined) spawnSync('renice', ['-n', heraldNice, '-p', String(herald.proc.pid)], { stdio: 'ignore' });
  const target = `127.0.0.1:${herald.listeners.udp!.port}`;
  const devices = await startDevices(herald.listeners.udp!.port);
  try {
    await sipp(target, ++runNumber, rate, rate * WARMUP_S, null);
    await devices.dump(join(dir, 'warmup.csv'));
    hookSpans.clear();
    hookLoopDelay.reset();
    hookLoopDelay.enable();

    const run = ++runNumber;
    const files = { stat: join(dir, `stat-${run}.csv`), log: join(dir, `calls-${run}.log`) };
    const pcap = join(dir, `calls-${run}.pcap`);
    const capture = onWire ? await captureLoopback(pcap, `udp port ${herald.listeners.udp!.port} or tcp port ${hookPort}`, LOAD_CORE) : null;
    const runtime0 = await heraldRuntime(herald);
    const cpu0 = cpuSeconds(herald.proc.pid as number);
    const r = await sipp(target, run, rate, rate * seconds, files);
    const cpu = cpuSeconds(herald.proc.pid as number) - cpu0;
    const captured = await capture?.stop();
    const runtime = await heraldRuntime(herald);
    hookLoopDelay.disable();
    const deviceFile = join(dir, `devices-${run}.csv`);
    const deviceCounts = await devices.dump(deviceFile);

    const outcome = sippOutcome([r], [files.stat]);
    const wire = captured === undefined ? null : wireResult(wireSpans(readCapture(pcap), herald.listeners.udp!.port, hookPort, CALLER), captured.dropped);
    if (process.env.CALLS_CPS_KEEP_PCAP === undefined) rmSync(pcap, { force: true });
    else console.log(`    (capture kept: ${pcap})`);
    const setup = setupTimes(files.log);
    const device = deviceSpans(deviceFile);
    const all = { setup: [] as number[], webhook: [] as number[], device: [] as number[], added: [] as number[] };
    for (const [caller, us] of setup) {
      const h = hookSpans.get(caller);
      const d = device.get(caller);
      if (h === undefined || d === undefined) continue;
      all.setup.push(us);
      all.webhook.push(h);
      all.device.push(d);
      all.added.push(us - h - d);
    }
    return {
      offered: rate,
      ...outcome,
      heraldCpuUsPerCall: outcome.ok === 0 ? 0 : Math.round((cpu * 1e6) / outcome.ok),
      hostUnitUs: 0,
      setup: percentiles(all.setup),
      webhook: percentiles(all.webhook),
      device: percentiles(all.device),
      heraldAdded: percentiles(all.added),
      matchedCalls: all.added.length,
      devices: deviceCounts,
      webhookLoopDelayP99Ms: Number((hookLoopDelay.percentile(99) / 1e6).toFixed(2)),
      heraldGcSeconds: gcSpent(runtime0.gc, runtime.gc),
      heraldLoopLagP99Ms: runtime.lagP99Ms,
      heraldLoopLagMaxMs: runtime.lagMaxMs,
      recordedSetup: await recordedSetup(herald),
      wire,
      sustained: outcome.failedPercent < MAX_FAILED_PERCENT && outcome.median >= MIN_MEDIAN_SHARE * rate,
    };
  } finally {
    await devices.stop();
    await herald.stop();
  }
}

// ---------------------------------------------------------------- the ladder

pinSelf(LOAD_CORE);
if (!canCapture) console.log('tcpdump is not installed (apt-get install tcpdump): the calls are timed by the peers only, not on the wire');
console.log(
  `Calls per second, trunk (sipp) → Herald → webhook → 2 devices of alice, HERALD_MEDIA=off: ${seconds} s per rate after ${WARMUP_S} s warm-up, hold ${holdMs} ms ` +
    `(${canPin ? 'Herald on core 0; sipp, devices and webhook on core 1' : 'unpinned'})${heraldNice !== undefined ? `, Herald at nice ${heraldNice}` : ''}` +
    `${profileDir !== undefined ? `; CPU profiles in ${profileDir}` : ''}`,
);
console.log('| offered/s | completed/s (median) | min / max second | failed | sipp retrans. | Herald CPU per call (host units) | setup p50 / p99 | webhook p50 / p99 | device p50 / p99 | **Herald adds p50 / p99** | sustained |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
const results: Result[] = [];
try {
  for (const rate of rates) {
    const r = await measure(rate);
    results.push(r);
    const ms = (p: Percentiles): string => `${p.p50.toFixed(2)} / ${p.p99.toFixed(2)} ms`;
    console.log(
      `| ${rate} | ${r.median} | ${r.min} / ${r.max} | ${r.failed} of ${r.ok + r.failed} (${r.failedPercent.toFixed(2)} %) | ${r.retransmissions} | ${r.heraldCpuUsPerCall} µs (${(r.heraldCpuUsPerCall / r.hostUnitUs).toFixed(0)}) | ` +
        `${ms(r.setup)} | ${ms(r.webhook)} | ${ms(r.device)} | **${ms(r.heraldAdded)}** | ${r.sustained ? 'yes' : 'no'} |`,
    );
    if (r.failedPercent >= STOP_FAILED_PERCENT) console.log(`    (${r.failedPercent} % of the calls failed: the higher rates are not run)`);
    console.log(
      `    (${r.matchedCalls} calls timed; Herald GC ${JSON.stringify(r.heraldGcSeconds)} s, loop lag p99 ${r.heraldLoopLagP99Ms} ms max ${r.heraldLoopLagMaxMs} ms; ` +
        `devices ${JSON.stringify(r.devices)}; webhook loop delay p99 ${r.webhookLoopDelayP99Ms} ms; ` +
        `inside Herald (call records, last ${r.recordedSetup.calls} calls) start → 200 p50 ${r.recordedSetup.p50} / p90 ${r.recordedSetup.p90} / p99 ${r.recordedSetup.p99} / max ${r.recordedSetup.max} ms)`,
    );
    if (r.wire !== null) {
      const w = r.wire;
      console.log(
        `    on the wire (${w.calls} calls, ${w.droppedPackets} packets dropped by the capture): **Herald adds p50 ${w.added.p50} / p99 ${w.added.p99} / max ${w.added.max} ms** ` +
          `= INVITE in → webhook request out ${ms(w.toHook)} + webhook response in → fork out ${ms(w.toFork)} + device's 200 in → 200 out ${ms(w.toAnswer)} ` +
          `(p50 / p99; INVITE in → 200 out ${ms(w.setup)})`,
      );
    }
    if (r.failedPercent >= STOP_FAILED_PERCENT) break;
  }
} finally {
  hook.closeAllConnections();
  hook.close();
}
const top = results.filter((r) => r.sustained).reduce((m, r) => Math.max(m, r.offered), 0);
const atGoal = results.find((r) => r.offered === GOAL.atCps);
const addedAt = (label: string, p99: number): string => `; Herald adds p99 ${p99} ms at ${GOAL.atCps}/s ${label} (goal ≤ ${GOAL.addedP99Ms} ms: ${p99 <= GOAL.addedP99Ms ? 'met' : 'not met'})`;
console.log(
  `  highest offered rate sustained (< ${MAX_FAILED_PERCENT} % failed, median ≥ ${MIN_MEDIAN_SHARE * 100} % of offered): ${top === 0 ? 'none' : `${top}/s`}; goal ≥ ${GOAL.cps}/s ${top >= GOAL.cps ? 'met' : 'not met'}` +
    (atGoal === undefined ? '' : addedAt('timed by the peers', atGoal.heraldAdded.p99)) +
    (atGoal?.wire == null ? '' : addedAt('on the wire', atGoal.wire.added.p99)),
);
console.log(JSON.stringify({ bench: 'calls-cps', seconds, holdMs, pinned: canPin, heraldNice: heraldNice ?? null, results, maxSustained: top }));
