/**
 * CPU per Digest registration inside one Herald process, without the kernel:
 * a real `HeraldServer` (default config plus USERS Digest users, memory
 * store) whose UDP socket is fed the datagrams sipp would send
 * (bench/sipp/register-digest-users.xml: REGISTER → 401 → REGISTER with the
 * MD5 response → 200) by emitting them on the socket, and whose sends are
 * caught before they reach the kernel. What it measures is everything Herald
 * does between a datagram arriving and its answer leaving — parsing,
 * transactions, Digest, registrar, serializing, garbage collection — with
 * less noise than the open-loop sipp bench (bench/register-udp-digest.ts),
 * which remains the number that counts. For comparing builds, one core:
 *   taskset -c 0 node --import tsx bench/register-pipeline.ts [SECONDS=10] [USERS=10000] [ROUNDS=5]
 * Prints µs per registration per round, the median, and one JSON line; also
 * in host units (bench/host-speed.ts, timed around each round), to compare builds.
 * REGISTER_PIPELINE_WARMUP=SECONDS (default 35: the steady state, once Timer J's 32 s of
 * lingering answers are all there), REGISTER_PIPELINE_SNAPSHOT=FILE writes a heap snapshot after the last round.
 */
import dgram from 'node:dgram';
import { hash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { configWithDigestUsers, digestPassword, DIGEST_DOMAIN } from './digest-users.js';
import { configFromText } from '../src/config/load.js';
import { createHeraldServer } from '../src/server.js';
import { parseMessage } from '../src/sip/parser.js';
import { hostUnitMicros } from './host-speed.js';
import type { SipResponse } from '../src/sip/message.js';

const seconds = Number(process.argv[2] ?? 10);
const users = Number(process.argv[3] ?? 10000);
const rounds = Number(process.argv[4] ?? 5);
/** Warm-up seconds: 35 reaches the steady state (Timer J keeps 32 s of answers; the heap grows until then). */
const warmupSeconds = Number(process.env.REGISTER_PIPELINE_WARMUP ?? 35);
const DOMAIN = DIGEST_DOMAIN;
const password = digestPassword;

// Catch the server's UDP socket and what it sends, before it exists.
type MessageListener = (buf: Buffer, rinfo: dgram.RemoteInfo) => void;
let deliver: MessageListener | null = null;
let answered: ((bytes: Buffer) => void) | null = null;
const realOn = dgram.Socket.prototype.on;
dgram.Socket.prototype.on = function (this: dgram.Socket, event: string, listener: (...args: unknown[]) => void) {
  if (event === 'message') deliver = listener as unknown as MessageListener;
  return (realOn as (this: dgram.Socket, e: string, l: (...args: unknown[]) => void) => dgram.Socket).call(this, event, listener);
} as unknown as typeof dgram.Socket.prototype.on;
dgram.Socket.prototype.send = function (this: dgram.Socket, msg: unknown) {
  const waiting = answered;
  answered = null;
  if (waiting === null) throw new Error('Herald sent a datagram nobody waited for');
  waiting(msg as Buffer);
} as typeof dgram.Socket.prototype.send;


const config = configFromText('bench.json', JSON.stringify(configWithDigestUsers(users)), {
  HERALD_SIP_UDP: '127.0.0.1:0',
  HERALD_SIP_TCP: 'off',
  HERALD_SIP_WS: 'off',
  HERALD_HTTP: '127.0.0.1:0',
  HERALD_PUBLIC_HOST: '127.0.0.1',
  HERALD_MEDIA: 'off',
  HERALD_LOG_LEVEL: 'warn',
});
const server = await createHeraldServer(config);
const ready = await server.start();
const udp = ready.listeners.udp;
if (udp === null || deliver === null) throw new Error('no UDP listener');
const feed: MessageListener = deliver;
const rinfo: dgram.RemoteInfo = { address: '127.0.0.1', port: 5061, family: 'IPv4', size: 0 };
const md5 = (s: string): string => hash('md5', s, 'hex');
const ha1 = Array.from({ length: users }, (_, i) => md5(`user${i}:${DOMAIN}:${password(i)}`));
const HA2 = md5(`REGISTER:sip:${DOMAIN}`);

let call = 0;
async function register(user: number): Promise<void> {
  call++;
  const name = `user${user}`;
  const branch = `z9hG4bK-${call}-`;
  const head = (cseq: number, auth: string): Buffer =>
    Buffer.from(
      `REGISTER sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=${branch}${cseq};rport\r\n` +
        `From: <sip:${name}@${DOMAIN}>;tag=1SIPpTag${call}\r\nTo: <sip:${name}@${DOMAIN}>\r\nCall-ID: ${call}-1@127.0.0.1\r\n` +
        `CSeq: ${cseq} REGISTER\r\nContact: <sip:${name}@127.0.0.1:5061;transport=UDP>\r\n${auth}Max-Forwards: 70\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
      'latin1',
    );
  const challenge = await exchange(head(1, ''), 401);
  const nonce = /nonce="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1];
  if (nonce === undefined) throw new Error('401 without a nonce');
  const uri = `sip:${DOMAIN}`;
  const cnonce = (call * 2654435761 >>> 0).toString(16);
  const digest = md5(`${ha1[user] as string}:${nonce}:00000001:${cnonce}:auth:${HA2}`);
  const auth = `Authorization: Digest username="${name}",realm="${DOMAIN}",cnonce="${cnonce}",nc=00000001,qop=auth,uri="${uri}",nonce="${nonce}",response="${digest}",algorithm=MD5\r\n`;
  await exchange(head(2, auth), 200);
}

/** Feeds a request to Herald's socket and resolves with its answer (the registrar answers after a few microtasks). */
async function exchange(request: Buffer, status: number): Promise<SipResponse> {
  const sent = await new Promise<Buffer>((resolve) => {
    answered = resolve;
    feed(request, rinfo);
  });
  const r = parseMessage(sent);
  if (!r.ok || r.message.type !== 'response' || r.message.status !== status) throw new Error(`expected ${status}, got ${sent.toString('latin1', 0, 40)}`);
  return r.message;
}

/** The client's own work (building requests, MD5, reading the answers), measured alone to subtract it. */
function clientOnly(n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const b = Buffer.from(`REGISTER sip:${DOMAIN} SIP/2.0\r\nVia: x;branch=${i}\r\n\r\n`.repeat(8), 'latin1');
    md5(b.toString('latin1', 0, 40));
    parseMessage(b);
  }
  return ((performance.now() - t0) * 1000) / n;
}

let user = 0;
const units: number[] = [];
const results: number[] = [];
for (let round = 0; round <= rounds; round++) {
  const until = performance.now() + (round === 0 ? warmupSeconds : seconds) * 1000;
  const unitBefore = hostUnitMicros();
  const cpu0 = process.cpuUsage();
  let n = 0;
  while (performance.now() < until) {
    for (let k = 0; k < 100; k++) {
      await register(user);
      user = (user + 1) % users;
    }
    n += 100;
    // Let timers (Timer J sweeps, binding expiry) run as they would between datagrams.
    await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(cpu0);
  const us = (cpu.user + cpu.system) / n;
  const unit = (unitBefore + hostUnitMicros()) / 2;
  if (round > 0) {
    results.push(us);
    units.push(us / unit);
  }
  const heap = process.memoryUsage();
  console.log(
    `${round === 0 ? 'warm-up' : `round ${round}`}: ${n} registrations, ${us.toFixed(1)} µs CPU each (${(us / unit).toFixed(1)} units of ${unit.toFixed(2)} µs); ` +
      `${server.transactions.serverTransactionCount()} server transactions, heap ${(heap.heapUsed / 2 ** 20).toFixed(0)} MB, external ${(heap.external / 2 ** 20).toFixed(0)} MB, rss ${(heap.rss / 2 ** 20).toFixed(0)} MB`,
  );
}
if (process.env.REGISTER_PIPELINE_SNAPSHOT) console.log('heap snapshot', writeHeapSnapshot(process.env.REGISTER_PIPELINE_SNAPSHOT));
results.sort((a, b) => a - b);
units.sort((a, b) => a - b);
const median = results[Math.floor(results.length / 2)] as number;
const medianUnits = units[Math.floor(units.length / 2)] as number;
const client = clientOnly(20000);
console.log(`median ${median.toFixed(1)} µs per registration (including ~${client.toFixed(1)} µs of the bench's own client work); ${medianUnits.toFixed(1)} calibration units`);
console.log(JSON.stringify({ bench: 'register-pipeline', users, seconds, rounds: results, medianUs: median, medianUnits, clientUs: client }));
await server.stop();
process.exit(0);
