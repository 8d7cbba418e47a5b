/**
 * OPTIONS round trips per second over SIP-over-WebSocket: a Node load
 * generator (in a child process, so it does not share the server's core)
 * opens CONNECTIONS WebSockets with subprotocol `sip`, keeps DEPTH OPTIONS in
 * flight on each, and counts answers for SECONDS. Usage:
 *   node --import tsx bench/options-ws.ts [CONNECTIONS=50] [DEPTH=8] [SECONDS=10]
 */
import { spawn, spawnSync } from 'node:child_process';
import { startHerald } from '../test/helpers/herald-process.js';

const connections = Number(process.argv[2] ?? 50);
const depth = Number(process.argv[3] ?? 8);
const seconds = Number(process.argv[4] ?? 10);

if (process.env.HERALD_BENCH_CHILD === '1') {
  const { WebSocket } = await import('ws');
  const url = process.env.HERALD_BENCH_URL as string;
  let answered = 0;
  let measuring = false;
  let seq = 0;
  const options = (i: number) => {
    seq++;
    return (
      `OPTIONS sip:herald.invalid SIP/2.0\r\nVia: SIP/2.0/WS bench${i}.invalid;branch=z9hG4bK-b-${seq};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:bench@herald.invalid>;tag=b${i}\r\nTo: <sip:herald.invalid>\r\n` +
      `Call-ID: bench-${i}-${seq}\r\nCSeq: ${seq} OPTIONS\r\nContent-Length: 0\r\n\r\n`
    );
  };
  const sockets = await Promise.all(
    Array.from({ length: connections }, (_, i) => new Promise<InstanceType<typeof WebSocket>>((res, rej) => {
      const ws = new WebSocket(url, 'sip');
      ws.on('open', () => res(ws));
      ws.on('error', rej);
      ws.on('message', () => {
        if (measuring) answered++;
        ws.send(options(i));
      });
    })),
  );
  // Warm up for 2 s, then measure.
  sockets.forEach((ws, i) => { for (let k = 0; k < depth; k++) ws.send(options(i)); });
  await new Promise((r) => setTimeout(r, 2000));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  measuring = false;
  process.send?.({ answered, elapsed });
  sockets.forEach((ws) => ws.terminate());
  process.exit(0);
} else {
  // Server on core 0 and load generator on core 1 when taskset is there: one core of Herald.
  const pin = spawnSync('taskset', ['--version']).status === 0;
  const herald = await startHerald({ env: { HERALD_LOG_LEVEL: 'warn' }, pinCpu: pin ? '0' : undefined });
  try {
    const argv = [process.execPath, '--import', 'tsx', import.meta.filename, ...process.argv.slice(2)];
    const child = spawn(pin ? 'taskset' : (argv.shift() as string), pin ? ['-c', '1', ...argv] : argv, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, HERALD_BENCH_CHILD: '1', HERALD_BENCH_URL: `ws://127.0.0.1:${herald.listeners.ws!.port}` },
    });
    const result = await new Promise<{ answered: number; elapsed: number }>((res, rej) => {
      child.once('message', (m) => res(m as { answered: number; elapsed: number }));
      child.once('exit', (code) => rej(new Error(`load generator exited ${code}`)));
    });
    const rate = result.answered / result.elapsed;
    console.log(`OPTIONS over WS (${connections} connections x ${depth} in flight, ${pin ? 'server on core 0, load on core 1' : 'unpinned'}): ${result.answered} answers in ${result.elapsed.toFixed(2)} s = ${Math.round(rate)} round trips/s`);
    console.log(JSON.stringify({ bench: 'options-ws', connections, depth, answered: result.answered, seconds: result.elapsed, perSecond: Math.round(rate) }));
  } finally {
    await herald.stop();
  }
}
