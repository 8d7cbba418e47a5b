/**
 * OPTIONS round trips per second over UDP: sipp (Debian sip-tester) offers a
 * fixed rate against a real `herald serve` process. With `taskset` available
 * the server is pinned to core 0 and sipp to core 1, so the number is what one
 * core of Herald does. sipp's per-second statistics (-trace_stat) give the
 * answered rate each second; the steady-state median is reported with the
 * share of requests that got no answer. Usage:
 *   node --import tsx bench/options-udp.ts [RATE=20000] [SECONDS=15] [SIPP_PROCESSES=2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHerald } from '../test/helpers/herald-process.js';
import { run } from '../test/helpers/run.js';

const rate = Number(process.argv[2] ?? 20000);
const seconds = Number(process.argv[3] ?? 15);
const processes = Number(process.argv[4] ?? 2);
const scenario = resolve(import.meta.dirname, '..', 'test', 'fixtures', 'sipp', 'options-uac.xml');
const pin = spawnSync('taskset', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));

const herald = await startHerald({ env: { HERALD_LOG_LEVEL: 'warn', HERALD_SIP_TCP: 'off', HERALD_SIP_WS: 'off' }, pinCpu: pin ? '0' : undefined });
try {
  const target = `127.0.0.1:${herald.listeners.udp!.port}`;
  const perProcess = Math.round(rate / processes);
  const sipp = (k: number, calls: number, stat: string | null) => {
    const args = ['-sf', scenario, '-m', String(calls), '-r', String(perProcess), '-rp', '1000', '-l', '5000', '-buff_size', '4194304', '-t', 'u1', '-i', `127.0.0.${k + 1}`, '-p', '0', '-nostdin', '-timeout', '120s'];
    if (stat !== null) args.push('-trace_stat', '-stf', stat, '-fd', '1');
    args.push(target);
    return pin ? run('taskset', ['-c', '1', 'sipp', ...args], { timeoutMs: 300000 }) : run('sipp', args, { timeoutMs: 300000 });
  };
  // Warm-up: 3 s at the same rate, so V8 has optimised the hot path.
  await Promise.all(Array.from({ length: processes }, (_, k) => sipp(k, perProcess * 3, null)));
  const stats = Array.from({ length: processes }, (_, k) => join(dir, `stat${k}.csv`));
  const results = await Promise.all(stats.map((stat, k) => sipp(k, perProcess * seconds, stat)));
  const ok = results.reduce((n, r) => n + Number(/Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? 0), 0);
  const failed = results.reduce((n, r) => n + Number(/Failed call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? 0), 0);
  // Per-second answered counts, summed over the sipp processes; the steady state drops the first and last second.
  const columns = stats.map((f) => {
    const lines = readFileSync(f, 'utf8').trim().split('\n');
    const col = (lines[0] as string).split(';').indexOf('SuccessfulCall(P)');
    return lines.slice(1).map((l) => Number(l.split(';')[col]));
  });
  const perSecond = (columns[0] ?? []).map((_, i) => columns.reduce((n, c) => n + (c[i] ?? 0), 0)).filter((n) => n > 0);
  const steady = perSecond.slice(1, -1).sort((a, b) => a - b);
  const median = steady[Math.floor(steady.length / 2)] ?? 0;
  const lost = (100 * failed) / (ok + failed);
  console.log(`OPTIONS over UDP: offered ${rate}/s for ${seconds} s by ${processes} sipp (${pin ? 'server on core 0, sipp on core 1' : 'unpinned'})`);
  console.log(`  answered per second (steady state): median ${median}, min ${steady[0] ?? 0}, max ${steady[steady.length - 1] ?? 0}; unanswered ${failed} of ${ok + failed} (${lost.toFixed(3)} %)`);
  console.log(JSON.stringify({ bench: 'options-udp', offered: rate, seconds, pinned: pin, medianPerSecond: median, minPerSecond: steady[0] ?? 0, ok, failed, lostPercent: Number(lost.toFixed(3)) }));
} finally {
  await herald.stop();
}
