/**
 * OPTIONS round trips per second over UDP: sipp (Debian sip-tester) as the
 * load generator against a real `herald serve` process. sipp keeps up to
 * LIMIT transactions in flight and runs TOTAL calls as fast as answers come;
 * rate = successful calls / elapsed seconds. Usage:
 *   node --import tsx bench/options-udp.ts [TOTAL=200000] [LIMIT=400]
 */
import { resolve } from 'node:path';
import { startHerald } from '../test/helpers/herald-process.js';
import { run } from '../test/helpers/run.js';

const total = Number(process.argv[2] ?? 200000);
const limit = Number(process.argv[3] ?? 400);
const scenario = resolve(import.meta.dirname, '..', 'test', 'fixtures', 'sipp', 'options-uac.xml');

const herald = await startHerald({ env: { HERALD_LOG_LEVEL: 'warn' } });
try {
  const target = `127.0.0.1:${herald.listeners.udp!.port}`;
  // Warm-up: let V8 optimise the hot path before measuring.
  await run('sipp', ['-sf', scenario, '-m', '20000', '-r', '100000', '-l', String(limit), '-t', 'u1', '-i', '127.0.0.1', '-nostdin', '-timeout', '60s', target], { timeoutMs: 120000 });
  const started = process.hrtime.bigint();
  const r = await run(
    'sipp',
    ['-sf', scenario, '-m', String(total), '-r', '1000000', '-l', String(limit), '-t', 'u1', '-i', '127.0.0.1', '-nostdin', '-timeout', '120s', target],
    { timeoutMs: 300000 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const failed = /Failed call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? '?';
  const ok = /Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? '?';
  const rate = Number(ok) / seconds;
  console.log(`OPTIONS over UDP (sipp -t u1, ${limit} in flight): ${ok} ok, ${failed} failed in ${seconds.toFixed(2)} s = ${Math.round(rate)} round trips/s`);
  console.log(JSON.stringify({ bench: 'options-udp', total, inFlight: limit, ok: Number(ok), failed: Number(failed), seconds, perSecond: Math.round(rate) }));
} finally {
  await herald.stop();
}
