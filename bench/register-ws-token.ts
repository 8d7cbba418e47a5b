/**
 * Registrations per second over SIP-over-WebSocket with access tokens
 * (RFC 8898 Bearer), Herald only. A Node load generator (a child process on
 * core 1; Herald on core 0 when taskset is there) mints a token for each of
 * CONNECTIONS × PER_CONNECTION distinct identities, opens CONNECTIONS
 * WebSockets (subprotocol `sip`) and keeps PER_CONNECTION REGISTERs in flight
 * on each: one per identity, shaped like SIP.js 0.21's (Bearer token,
 * +sip.instance, reg-id), each identity with its own Call-ID and a CSeq that
 * grows with every refresh, sent again as soon as its answer arrives. The
 * 200s are counted per second for SECONDS after a 2 s warm-up; Herald's CPU
 * time over the same window (from /proc) gives microseconds per registration.
 * Usage:
 *   node --import tsx bench/register-ws-token.ts [CONNECTIONS=50] [PER_CONNECTION=8] [SECONDS=10]
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mintAccessToken } from '../src/auth/access-token.js';
import { startHerald } from '../test/helpers/herald-process.js';

const connections = Number(process.argv[2] ?? 50);
const perConnection = Number(process.argv[3] ?? 8);
const seconds = Number(process.argv[4] ?? 10);

// The demo account of config/default.yaml.
const ACCOUNT_SID = 'AC00000000000000000000000000de0001';
const API_KEY_SID = 'SK00000000000000000000000000de0001';
const API_KEY_SECRET = 'demo-api-key-secret-change-me';

interface Outcome {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  perSecond: number[];
  elapsed: number;
}

if (process.env.HERALD_BENCH_CHILD === '1') {
  const { WebSocket } = await import('ws');
  const url = process.env.HERALD_BENCH_URL as string;

  interface Identity {
    name: string;
    token: string;
    callId: string;
    tag: string;
    instance: string;
    host: string;
    cseq: number;
  }
  // Distinct identities, tokens minted before anything is measured.
  const identities: Identity[][] = Array.from({ length: connections }, (_, c) =>
    Array.from({ length: perConnection }, (_, k) => {
      const name = `bench-${c}-${k}`;
      const hex = (c * perConnection + k).toString(16).padStart(12, '0');
      return {
        name,
        token: mintAccessToken({ accountSid: ACCOUNT_SID, apiKeySid: API_KEY_SID, apiKeySecret: API_KEY_SECRET, identity: name, incoming: true, ttl: 3600 }),
        callId: `reg-${process.pid}-${c}-${k}`,
        tag: `t${c}x${k}`,
        instance: `<urn:uuid:3f2b1f8e-6b1a-4d8e-9a43-${hex}>`,
        host: `ws${c}.invalid`,
        cseq: 0,
      };
    }),
  );
  const byCallId = new Map(identities.flat().map((id) => [id.callId, id]));
  const register = (id: Identity) => {
    id.cseq++;
    return (
      `REGISTER sip:herald.invalid SIP/2.0\r\nVia: SIP/2.0/WS ${id.host};branch=z9hG4bK-${id.tag}-${id.cseq}\r\n` +
      `To: <sip:${id.name}@herald.invalid>\r\nFrom: <sip:${id.name}@herald.invalid>;tag=${id.tag}\r\n` +
      `CSeq: ${id.cseq} REGISTER\r\nCall-ID: ${id.callId}\r\nMax-Forwards: 70\r\nAuthorization: Bearer ${id.token}\r\n` +
      `Contact: <sip:${id.name}@${id.host};transport=ws>;+sip.ice;reg-id=1;+sip.instance="${id.instance}";expires=600\r\n` +
      `Expires: 600\r\nAllow: ACK,CANCEL,INVITE,MESSAGE,BYE,OPTIONS,INFO,NOTIFY,REFER\r\nSupported: outbound, path, gruu\r\n` +
      `User-Agent: herald-bench\r\nContent-Length: 0\r\n\r\n`
    );
  };

  let measuring = false;
  let ok = 0;
  let failed = 0;
  let thisSecond = 0;
  const statuses: Record<string, number> = {};
  const sockets = await Promise.all(
    identities.map(
      (ids) =>
        new Promise<InstanceType<typeof WebSocket>>((res, rej) => {
          const ws = new WebSocket(url, 'sip');
          ws.on('open', () => res(ws));
          ws.on('error', rej);
          ws.on('message', (data: Buffer) => {
            const text = data.toString('latin1');
            const status = text.slice(8, 11);
            const callId = /\r\nCall-ID:\s*([^\r]+)/i.exec(text)?.[1]?.trim();
            const id = callId === undefined ? undefined : byCallId.get(callId);
            if (id === undefined || !ids.includes(id)) return;
            if (measuring) {
              if (status === '200') {
                ok++;
                thisSecond++;
              } else {
                failed++;
                statuses[status] = (statuses[status] ?? 0) + 1;
              }
            }
            ws.send(register(id));
          });
        }),
    ),
  );
  sockets.forEach((ws, c) => identities[c]?.forEach((id) => ws.send(register(id))));
  await new Promise((r) => setTimeout(r, 2000));
  measuring = true;
  process.send?.({ kind: 'start' });
  const perSecond: number[] = [];
  const tick = setInterval(() => {
    perSecond.push(thisSecond);
    thisSecond = 0;
  }, 1000);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  measuring = false;
  clearInterval(tick);
  const outcome: Outcome = { ok, failed, statuses, perSecond, elapsed };
  process.send?.({ kind: 'done', outcome });
  sockets.forEach((ws) => ws.terminate());
  process.exit(0);
} else {
  const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  /** CPU seconds (user + system) used so far by one process. */
  const cpuSeconds = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  };
  // Server on core 0 and load generator on core 1 when taskset is there: one core of Herald.
  const pin = spawnSync('taskset', ['--version']).status === 0;
  const herald = await startHerald({ env: { HERALD_LOG_LEVEL: 'warn', HERALD_SIP_UDP: 'off', HERALD_SIP_TCP: 'off' }, pinCpu: pin ? '0' : undefined });
  try {
    const pid = herald.proc.pid as number;
    const argv = [process.execPath, '--import', 'tsx', import.meta.filename, ...process.argv.slice(2)];
    const child = spawn(pin ? 'taskset' : (argv.shift() as string), pin ? ['-c', '1', ...argv] : argv, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, HERALD_BENCH_CHILD: '1', HERALD_BENCH_URL: `ws://127.0.0.1:${herald.listeners.ws!.port}` },
    });
    let cpu0 = 0;
    const result = await new Promise<Outcome>((res, rej) => {
      child.on('message', (m: { kind: 'start' } | { kind: 'done'; outcome: Outcome }) => {
        if (m.kind === 'start') cpu0 = cpuSeconds(pid);
        else res(m.outcome);
      });
      child.once('exit', (code) => rej(new Error(`load generator exited ${code}`)));
    });
    const cpu = cpuSeconds(pid) - cpu0;
    const rate = result.ok / result.elapsed;
    const sorted = [...result.perSecond].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    const cpuMicros = result.ok === 0 ? 0 : Math.round((cpu * 1e6) / result.ok);
    const failures = Object.entries(result.statuses).map(([s, n]) => `${n} × ${s}`).join(', ');
    console.log(
      `REGISTER with Bearer tokens over WS (${connections} connections x ${perConnection} identities in flight = ${connections * perConnection} identities, ${pin ? 'server on core 0, load on core 1' : 'unpinned'}):`,
    );
    console.log(
      `  ${result.ok} registrations in ${result.elapsed.toFixed(2)} s = ${Math.round(rate)} registrations/s; per second median ${median}, min ${sorted[0] ?? 0}, max ${sorted[sorted.length - 1] ?? 0}; ` +
        `not 200: ${result.failed}${failures === '' ? '' : ` (${failures})`}; Herald CPU ${cpuMicros} µs per registration`,
    );
    console.log(
      JSON.stringify({
        bench: 'register-ws-token',
        connections,
        perConnection,
        identities: connections * perConnection,
        pinned: pin,
        ok: result.ok,
        failed: result.failed,
        seconds: result.elapsed,
        perSecond: Math.round(rate),
        medianPerSecond: median,
        minPerSecond: sorted[0] ?? 0,
        maxPerSecond: sorted[sorted.length - 1] ?? 0,
        cpuMicros,
      }),
    );
  } finally {
    await herald.stop();
  }
}
