/**
 * What the benchmarks that run a server and a load generator share: pinning
 * them to different cores (server on core 0, load on core 1, when `taskset`
 * is there, so a number is what one core of the server does) and the CPU
 * time a process tree has used, from /proc.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunResult } from '../test/helpers/run.js';

/** True when `taskset` can pin processes to cores. */
export const canPin = spawnSync('taskset', ['--version']).status === 0;

/** Core of the server under test, and of everything that loads it. */
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';

/** `cmd args` as an argv for spawn: behind `taskset -c core` when pinning is possible. */
export function onCore(core: string, cmd: string, args: string[]): [string, string[]] {
  return canPin ? ['taskset', ['-c', core, cmd, ...args]] : [cmd, args];
}

/** Runs `cmd args` to its end on `core` (see `onCore`). */
export function runOnCore(core: string, cmd: string, args: string[], timeoutMs = 300_000): Promise<RunResult> {
  const [c, a] = onCore(core, cmd, args);
  return run(c, a, { timeoutMs });
}

/** Moves this process, all its threads, to `core` (when pinning is possible): a bench that serves part of the load itself. */
export function pinSelf(core: string): void {
  if (canPin) spawnSync('taskset', ['-a', '-cp', core, String(process.pid)], { stdio: 'ignore' });
}

/** The server core's speed right now: µs per unit of bench/host-speed.ts, run on that core. */
export async function serverCoreUnit(): Promise<number> {
  const r = await runOnCore(SERVER_CORE, process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'host-speed.ts')]);
  return (JSON.parse(r.stdout.trim()) as { hostUnitUs: number }).hostUnitUs;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) used so far by `root` and every process below it. */
export function cpuSeconds(root: number): number {
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm)": state ppid … utime(14) stime(15), numbered from pid = 1.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    procs.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  let ticks = 0;
  for (const [pid, p] of procs) {
    for (let q: number | undefined = pid; q !== undefined && q > 1; q = procs.get(q)?.ppid) {
      if (q === root) {
        ticks += p.ticks;
        break;
      }
    }
  }
  return ticks / CLK_TCK;
}

/** What sipp processes that ran side by side did: calls per second (steady median of their summed seconds), calls ok and failed, retransmissions. */
export interface SippOutcome {
  median: number;
  min: number;
  max: number;
  ok: number;
  failed: number;
  failedPercent: number;
  /** Requests sipp sent again because no answer came in time (-trace_stat, cumulative). */
  retransmissions: number;
}

/** Reads sipp's final screen (`runs`' stdout) and its -trace_stat files (`stats`, one per process). */
export function sippOutcome(runs: RunResult[], stats: string[]): SippOutcome {
  const total = (pattern: RegExp): number => runs.reduce((n, r) => n + Number(pattern.exec(r.stdout)?.[1] ?? 0), 0);
  const ok = total(/Successful call\s*\|\s*\d+\s*\|\s*(\d+)/);
  const failed = total(/Failed call\s*\|\s*\d+\s*\|\s*(\d+)/);
  let retransmissions = 0;
  const columns = stats.map((file) => {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const header = (lines[0] as string).split(';');
    const col = header.indexOf('SuccessfulCall(P)');
    retransmissions += Number(lines[lines.length - 1]?.split(';')[header.indexOf('Retransmissions(C)')] ?? 0);
    return lines.slice(1).map((l) => Number(l.split(';')[col]));
  });
  const perSecond = (columns[0] ?? []).map((_, i) => columns.reduce((n, c) => n + (c[i] ?? 0), 0));
  // The first and last second of a run are partial, and seconds with nothing are dropped.
  const steady = perSecond.filter((n) => n > 0).slice(1, -1).sort((a, b) => a - b);
  const failedPercent = ok + failed === 0 ? 100 : (100 * failed) / (ok + failed);
  return {
    median: steady[Math.floor(steady.length / 2)] ?? 0,
    min: steady[0] ?? 0,
    max: steady[steady.length - 1] ?? 0,
    ok,
    failed,
    failedPercent: Number(failedPercent.toFixed(3)),
    retransmissions,
  };
}
