/**
 * Registrations per second over UDP with Digest, Herald against Kamailio 5.6
 * in the same run. sipp (Debian sip-tester) runs bench/sipp/register-digest-users.xml:
 * each call is REGISTER → 401 → REGISTER with the MD5 response → 200, two
 * transactions per registration, for USERS distinct users (user0 … with
 * password secret-userN) cycled from an injection file, so every binding is
 * its own. For each offered rate, Herald (`herald serve` with a generated
 * config that adds the users to the demo account) and then Kamailio
 * (bench/kamailio/kamailio.cfg: in-memory usrloc, auth against an htable;
 * `kamailio` keeps a transaction per REGISTER and checks nonce-counts as
 * Herald does, `kamailio-stateless` answers statelessly like the stock
 * kamailio.cfg) are started fresh on core 0, warmed up for 3 s at that rate,
 * then measured for SECONDS with sipp on core 1. sipp's per-second statistics
 * (-trace_stat) give the successful registrations each second; the
 * steady-state median is reported with the share of failed calls, and the CPU
 * time the server's processes used over the measured calls (from /proc) as
 * microseconds per successful registration. A server sustains a rate when
 * fewer than 0.1 % of the calls fail and its median second is within 5 % of
 * the offered rate (sipp does not count calls it could not start as failed);
 * a server leaves the ladder at the first rate it does not sustain. The CPU
 * cost is also given in host units (bench/host-speed.ts, measured on the
 * server's core before and after each run): this VM's core speed varies by up
 * to 2× between minutes, and the unit puts runs minutes apart on one scale. Usage:
 *   node --import tsx bench/register-udp-digest.ts [RATES=2000,3000,4000,5000,6000,8000,10000,12000] [SECONDS=15] [SIPP_PROCESSES=2] [USERS=10000]
 * Environment: REGISTER_BENCH_SERVERS=herald,kamailio,kamailio-stateless (which to run),
 * KAMAILIO_CHILDREN=1 (UDP worker processes of Kamailio; see the config),
 * KAMAILIO_ARGS (more kamailio arguments, e.g. "-x tlsf"),
 * REGISTER_BENCH_LIMIT=N (at most N registrations in flight per sipp process, default 20 s worth:
 * with a small N the rate falls instead of sipp retransmitting when the machine is busy, so
 * the CPU per registration of two builds can be compared on a loaded machine),
 * REGISTER_BENCH_PROFILE=DIR (Herald runs with `node --cpu-prof --cpu-prof-dir DIR`, one
 * profile per rate, written when it exits; bench/cpu-profile-top.ts reads it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { configWithDigestUsers, digestPassword, DIGEST_DOMAIN } from './digest-users.js';
import { startHerald } from '../test/helpers/herald-process.js';
import { canPin as pin, cpuSeconds, LOAD_CORE, onCore, runOnCore, SERVER_CORE, serverCoreUnit, sippOutcome, type SippOutcome } from './bench-process.js';

const rates = (process.argv[2] ?? '2000,3000,4000,5000,6000,8000,10000,12000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 15);
const processes = Number(process.argv[4] ?? 2);
const users = Number(process.argv[5] ?? 10000);
const servers = (process.env.REGISTER_BENCH_SERVERS ?? 'herald,kamailio,kamailio-stateless').split(',').filter((s) => s !== '');
const kamailioChildren = Number(process.env.KAMAILIO_CHILDREN ?? 1);
/** More kamailio command-line arguments, space-separated (e.g. "-x tlsf"). */
const kamailioArgs = (process.env.KAMAILIO_ARGS ?? '').split(' ').filter((a) => a !== '');
const profileDir = process.env.REGISTER_BENCH_PROFILE;
const inFlightLimit = process.env.REGISTER_BENCH_LIMIT ? Number(process.env.REGISTER_BENCH_LIMIT) : null;
if (inFlightLimit !== null && !(Number.isInteger(inFlightLimit) && inFlightLimit > 0)) throw new Error('REGISTER_BENCH_LIMIT must be a positive integer');
for (const s of servers) if (!['herald', 'kamailio', 'kamailio-stateless'].includes(s)) throw new Error(`unknown server ${s}`);

const ROOT = resolve(import.meta.dirname, '..');
const scenario = join(ROOT, 'bench', 'sipp', 'register-digest-users.xml');
const kamailioCfg = join(ROOT, 'bench', 'kamailio', 'kamailio.cfg');
const DOMAIN = DIGEST_DOMAIN;
const MAX_FAILED_PERCENT = 0.1;
const MIN_MEDIAN_SHARE = 0.95;
const dir = mkdtempSync(join(tmpdir(), 'herald-bench-register-'));

const password = digestPassword;

/** One injection file per sipp process, each with its own slice of the users (SEQUENTIAL, cycled). */
const injection = Array.from({ length: processes }, (_, k) => {
  const from = Math.floor((users * k) / processes);
  const to = Math.floor((users * (k + 1)) / processes);
  const lines = ['SEQUENTIAL'];
  for (let i = from; i < to; i++) lines.push(`user${i};[authentication username=user${i} password=${password(i)}];`);
  const file = join(dir, `users${k}.csv`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
});

/** Herald's config: config/default.yaml with the bench users added to the demo account's credentials. */
function heraldConfig(): string {
  const file = join(dir, 'herald.yaml');
  writeFileSync(file, stringifyYaml(configWithDigestUsers(users)));
  return file;
}

interface Server {
  target: string;
  /** the server's root process; CPU is summed over it and its descendants. */
  pid: number;
  stop(): Promise<void>;
}

async function startHeraldServer(): Promise<Server> {
  const herald = await startHerald({
    config: heraldConfig(),
    // BENCH_HERALD_NODE_OPTIONS reaches Herald only (e.g. an --import hook that profiles it).
    env: { HERALD_LOG_LEVEL: 'warn', HERALD_SIP_TCP: 'off', HERALD_SIP_WS: 'off', ...(process.env.BENCH_HERALD_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_HERALD_NODE_OPTIONS } : {}) },
    pinCpu: pin ? SERVER_CORE : undefined,
    ...(profileDir !== undefined ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir] } : {}),
  });
  return {
    target: `127.0.0.1:${herald.listeners.udp!.port}`,
    pid: herald.proc.pid as number,
    async stop() {
      await herald.stop();
    },
  };
}

/** A UDP port that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

/** Resolves once something answers an OPTIONS on 127.0.0.1:port (Kamailio answers 405). */
async function waitForSip(port: number, timeoutMs: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  try {
    await new Promise<void>((res, rej) => {
      const deadline = Date.now() + timeoutMs;
      let n = 0;
      const timer = setInterval(() => {
        if (Date.now() > deadline) {
          clearInterval(timer);
          rej(new Error(`nothing answers SIP on 127.0.0.1:${port}`));
          return;
        }
        n++;
        const probe =
          `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${s.address().port};branch=z9hG4bK-probe-${n};rport\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p${n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe-${n}@bench\r\nCSeq: ${n} OPTIONS\r\nContent-Length: 0\r\n\r\n`;
        s.send(probe, port, '127.0.0.1');
      }, 100);
      s.once('message', () => {
        clearInterval(timer);
        res();
      });
    });
  } finally {
    s.close();
  }
}

async function startKamailio(stateless: boolean): Promise<Server> {
  const port = await freeUdpPort();
  const args = ['-DD', '-E', '-f', kamailioCfg, '-l', `udp:127.0.0.1:${port}`, '-m', '1024', '-M', '16', '-A', `NUSERS=${users}`, '-A', `CHILDREN=${kamailioChildren}`];
  if (stateless) args.push('-A', 'STATELESS');
  args.push(...kamailioArgs);
  const [cmd, argv] = onCore(SERVER_CORE, 'kamailio', args);
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  };
  try {
    await Promise.race([waitForSip(port, 20000), exited.then(() => Promise.reject(new Error(`kamailio exited: ${stderr}`)))]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { target: `127.0.0.1:${port}`, pid: proc.pid as number, stop };
}

interface Result extends SippOutcome {
  server: string;
  offered: number;
  /** server CPU time per successful registration over the measured run, µs. */
  cpuMicros: number;
  /** the core's speed around the run (bench/host-speed.ts), µs per unit */
  hostUnitUs: number;
  sustained: boolean;
}

function sipp(target: string, k: number, rate: number, calls: number, stat: string | null) {
  const args = ['-sf', scenario, '-inf', injection[k] as string, '-key', 'domain', DOMAIN, '-m', String(calls), '-r', String(rate), '-rp', '1000'];
  args.push('-l', String(inFlightLimit ?? rate * 20), '-buff_size', '4194304', '-t', 'u1', '-i', `127.0.0.${k + 1}`, '-p', '0', '-nostdin', '-timeout', '120s');
  if (stat !== null) args.push('-trace_stat', '-stf', stat, '-fd', '1');
  args.push(target);
  return runOnCore(LOAD_CORE, 'sipp', args);
}

async function measure(name: string, rate: number): Promise<Result> {
  const unitBefore = await serverCoreUnit();
  const result = await measureServer(name, rate);
  result.hostUnitUs = Number(((unitBefore + (await serverCoreUnit())) / 2).toFixed(3));
  return result;
}

async function measureServer(name: string, rate: number): Promise<Result> {
  const server = name === 'herald' ? await startHeraldServer() : await startKamailio(name === 'kamailio-stateless');
  try {
    const perProcess = Math.round(rate / processes);
    // Warm-up: 3 s at the same rate (V8 optimises, usrloc and the binding store fill up).
    await Promise.all(Array.from({ length: processes }, (_, k) => sipp(server.target, k, perProcess, perProcess * 3, null)));
    const stats = Array.from({ length: processes }, (_, k) => join(dir, `${name}-${rate}-stat${k}.csv`));
    const cpu0 = cpuSeconds(server.pid);
    const results = await Promise.all(stats.map((stat, k) => sipp(server.target, k, perProcess, perProcess * seconds, stat)));
    const cpu = cpuSeconds(server.pid) - cpu0;
    const outcome = sippOutcome(results, stats);
    return {
      server: name,
      offered: rate,
      ...outcome,
      cpuMicros: outcome.ok === 0 ? 0 : Math.round((cpu * 1e6) / outcome.ok),
      hostUnitUs: 0,
      sustained: outcome.failedPercent < MAX_FAILED_PERCENT && outcome.median >= MIN_MEDIAN_SHARE * rate,
    };
  } finally {
    await server.stop();
  }
}

if (servers.some((s) => s.startsWith('kamailio')) && spawnSync('kamailio', ['-v']).status !== 0) {
  console.log('kamailio is not installed (apt-get install kamailio): measuring Herald only');
  servers.splice(0, servers.length, ...servers.filter((s) => !s.startsWith('kamailio')));
}
console.log(
  `REGISTER with Digest over UDP: ${users} users, ${seconds} s per rate after 3 s warm-up, ${processes} sipp (${pin ? 'server on core 0, sipp on core 1' : 'unpinned'}); Kamailio children=${kamailioChildren}`,
);
console.log('| server | offered/s | registrations/s (median) | min / max second | failed | sipp retransmissions | server CPU per registration | the same in host units | sustained |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
const results: Result[] = [];
const active = new Set(servers);
for (const rate of rates) {
  for (const name of servers) {
    if (!active.has(name)) continue;
    const r = await measure(name, rate);
    results.push(r);
    console.log(`| ${name} | ${rate} | ${r.median} | ${r.min} / ${r.max} | ${r.failed} of ${r.ok + r.failed} (${r.failedPercent.toFixed(3)} %) | ${r.retransmissions} | ${r.cpuMicros} µs | ${(r.cpuMicros / r.hostUnitUs).toFixed(0)} (unit ${r.hostUnitUs} µs) | ${r.sustained ? 'yes' : 'no'} |`);
    if (!r.sustained) active.delete(name);
  }
  if (active.size === 0) break;
}
const maxSustained = Object.fromEntries(
  servers.map((s) => [s, results.filter((r) => r.server === s && r.sustained).reduce((m, r) => Math.max(m, r.offered), 0)]),
);
for (const s of servers) {
  const top = maxSustained[s] as number;
  console.log(`  ${s}: highest offered rate sustained (< ${MAX_FAILED_PERCENT} % failed) ${top === 0 ? 'none' : `${top}/s`}${active.has(s) ? ' (still sustaining at the highest rate tried)' : ''}`);
}
console.log(JSON.stringify({ bench: 'register-udp-digest', users, seconds, processes, pinned: pin, kamailioChildren, results, maxSustained }));
