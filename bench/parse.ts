/**
 * Throughput of the SIP message parser and serializer on two realistic
 * messages (bench/fixtures/): a SIP.js 0.21 REGISTER over WebSocket and a
 * trunk INVITE with an SDP offer. For each: parse only; parse plus the header
 * accessors every request goes through (top Via, CSeq, Call-ID, From, To);
 * serialize a parsed message; parse and serialize.
 *
 *   node --import tsx bench/parse.ts [seconds-per-case]     (default 3)
 *
 * Prints a table (the median of interleaved rounds, and the spread between the
 * slowest and fastest round) and one JSON line (prefixed `BENCH_JSON `) for
 * scripts. Single-threaded: the numbers are for one core.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { callIdOf, cseqOf, fromOf, toOf, topViaOf } from '../src/sip/fields.js';
import type { SipMessage } from '../src/sip/message.js';
import { parseMessage } from '../src/sip/parser.js';
import { serialize } from '../src/sip/serializer.js';

const seconds = Number(process.argv[2] ?? process.env.BENCH_SECONDS ?? 3);
if (!(seconds > 0)) throw new Error(`bad duration: ${process.argv[2]}`);
const WARMUP_SECONDS = Math.min(1, seconds / 3);

const fixtures = {
  'REGISTER (SIP.js/WSS)': readFileSync(new URL('./fixtures/sipjs-register.sip', import.meta.url)),
  'INVITE (trunk+SDP)': readFileSync(new URL('./fixtures/trunk-invite.sip', import.meta.url)),
};

function parsed(buf: Buffer): SipMessage {
  const r = parseMessage(buf);
  if (!r.ok) throw new Error(`fixture does not parse: ${r.reason}`);
  return r.message;
}

/** Each case returns a number so that the work cannot be optimized away. */
type Case = () => number;

function casesFor(buf: Buffer): Record<string, Case> {
  const message = parsed(buf);
  // Sanity: the accessors must succeed on the fixture, or the case would measure the failure path.
  if (
    !topViaOf(message) ||
    !cseqOf(message) ||
    !callIdOf(message) ||
    !fromOf(message) ||
    !toOf(message)
  ) {
    throw new Error('fixture has a malformed mandatory header');
  }
  return {
    parse: () => {
      const r = parseMessage(buf);
      return r.ok ? r.message.headers.size : -1;
    },
    'parse+accessors': () => {
      const r = parseMessage(buf);
      if (!r.ok) return -1;
      const m = r.message;
      const via = topViaOf(m);
      const cseq = cseqOf(m);
      const callId = callIdOf(m);
      const from = fromOf(m);
      const to = toOf(m);
      return (
        (via?.params.size ?? 0) +
        (cseq?.seq ?? 0) +
        (callId?.length ?? 0) +
        (from?.params.size ?? 0) +
        (to ? 1 : 0)
      );
    },
    serialize: () => serialize(message).length,
    'parse+serialize': () => {
      const r = parseMessage(buf);
      return r.ok ? serialize(r.message).length : -1;
    },
  };
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Runs `fn` in batches until `duration` seconds have passed; returns calls per second. */
function run(fn: Case, duration: number): { perSecond: number; sink: number } {
  let calls = 0;
  let sink = 0;
  const start = now();
  let elapsed: number;
  do {
    for (let i = 0; i < 256; i++) sink += fn();
    calls += 256;
    elapsed = now() - start;
  } while (elapsed < duration);
  return { perSecond: calls / elapsed, sink };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

// Every case is warmed up first, then the cases run in interleaved rounds and
// the median round counts: a GC pause, a JIT tier-up or a neighbour's burst of
// load then moves one round, not the result.
const ROUNDS = 5;
const cases: { message: string; case: string; fn: Case; rates: number[] }[] = [];
for (const [name, buf] of Object.entries(fixtures)) {
  for (const [caseName, fn] of Object.entries(casesFor(buf)))
    cases.push({ message: name, case: caseName, fn, rates: [] });
}
let sink = 0;
for (const c of cases) sink += run(c.fn, WARMUP_SECONDS).sink;
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    const r = run(c.fn, seconds / ROUNDS);
    sink += r.sink;
    c.rates.push(r.perSecond);
  }
}
const rows = cases.map((c) => {
  const perSecond = Math.round(median(c.rates));
  return {
    message: c.message,
    case: c.case,
    perSecond,
    nsPerMessage: Math.round(1e9 / perSecond),
    spread: Math.round((100 * (Math.max(...c.rates) - Math.min(...c.rates))) / perSecond),
  };
});

const cpu = cpus()[0]?.model ?? 'unknown';
console.log(
  `node ${process.version}, ${cpu}, ${cpus().length} CPUs, ${seconds} s per case in ${ROUNDS} rounds, median round (sink ${sink % 10})`,
);
const widths = [24, 18, 14, 10, 10];
const line = (cells: string[]): string =>
  cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' ');
console.log(line(['message', 'case', 'messages/s', 'ns/msg', 'spread']));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) {
  console.log(
    line([
      r.message,
      r.case,
      r.perSecond.toLocaleString('en-US'),
      String(r.nsPerMessage),
      `±${r.spread}%`,
    ]),
  );
}
console.log(
  'BENCH_JSON ' +
    JSON.stringify({
      bench: 'sip-parse',
      node: process.version,
      cpu,
      seconds,
      rounds: ROUNDS,
      results: rows,
    }),
);
