/**
 * Fuzzing one running `herald serve` through its sockets (fast-check):
 *  1. UDP: batches of ~50 datagrams (random bytes, SIP-looking text, mutated
 *     RFC 4475 torture and real-world messages); after every batch a probe
 *     OPTIONS over UDP must get its 200.
 *  2. TCP: several connections per run, each writing several such messages in
 *     random segments, then half-closing, closing, or being destroyed (also
 *     mid-message); every connection must be closed by the server once we are
 *     done, a probe OPTIONS on a new connection must get its 200, and at the
 *     end /v1/Node must count no open flow.
 *  3. WS: the same with `ws` clients sending text, binary and ping frames.
 *  4. The fuzz reached the parser (herald_sip_malformed_total rose on every
 *     transport), the process never exited and never logged an error (a
 *     caught exception is a bug too).
 * A run that fails is not shrunk (the server it ran against may be dead):
 * the counterexample is the input that did it, also dumped to a directory
 * named in the error. FUZZ_RUNS scales the number of runs (default 1 = the
 * numbers below); FUZZ_SEED replays a seed that fast-check reported.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, type RawData } from 'ws';
import { parseMessage } from '../../src/sip/parser.js';
import { StreamFramer } from '../../src/sip/stream-framer.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { request } from '../helpers/sip-socket.js';

const SCALE = Number(process.env.FUZZ_RUNS ?? 1) || 1;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

function params(n: number): fc.Parameters<unknown> {
  // endOnFailure: shrinking against a server that may have died would only
  // "minimise" to inputs that fail because nothing answers any more.
  return {
    numRuns: Math.max(1, Math.round(n * SCALE)),
    endOnFailure: true,
    ...(SEED !== undefined && Number.isFinite(SEED) ? { seed: SEED } : {}),
  };
}

/** Largest UDP payload we can send over IPv4 (65,535 − IP and UDP headers), rounded down. */
const MAX_DATAGRAM = 65000;
/** Bounded waits for things that must happen (an answer, a close). */
const ANSWER_MS = 5000;
const CLOSE_MS = 5000;

// --- Seeds -----------------------------------------------------------------------

const TORTURE_DIR = new URL('../fixtures/rfc4475/', import.meta.url);
/** Methods of the well-formed seed requests; OPTIONS first. */
const WELL_FORMED = [
  'OPTIONS',
  'INVITE',
  'REGISTER',
  'BYE',
  'CANCEL',
  'ACK',
  'MESSAGE',
  'SUBSCRIBE',
];
const SEEDS: Buffer[] = [
  ...readdirSync(TORTURE_DIR)
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((f) => readFileSync(new URL(f, TORTURE_DIR))),
  readFileSync(new URL('../../bench/fixtures/sipjs-register.sip', import.meta.url)),
  readFileSync(new URL('../../bench/fixtures/trunk-invite.sip', import.meta.url)),
  // Well-formed requests with rport (answers come back to the sender) that get past the parser.
  ...WELL_FORMED.map((m) =>
    Buffer.from(
      request(m, {
        transport: 'UDP',
        port: 5060,
        extra: m === 'MESSAGE' ? ['Content-Type: text/plain'] : [],
        body: m === 'MESSAGE' ? 'hello "<world>": \u00e9\r\n' : '',
      }),
    ),
  ),
];
const OPTIONS_SEED = SEEDS.length - WELL_FORMED.length;

// --- Inputs --------------------------------------------------------------------------

const SPECIAL = [
  0x0d, 0x0a, 0x00, 0x22, 0x3c, 0x3e, 0x3a, 0x20, 0x09, 0x3b, 0x2c, 0x5c, 0x25, 0xff,
];
const MANY_LINES = [
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKmany',
  'v: SIP/2.0/TCP [::1];rport;branch=z9hG4bK2',
  'Route: <sip:192.0.2.2;lr>',
  'Record-Route: <sip:a.example;lr>, <sip:b.example;lr>',
  'Contact: *',
  'Require: foo',
  'X-Empty:',
  'X-Folded: a\r\n b',
  'l: 0',
  'CSeq: 1 OPTIONS',
  ':',
  'constructor: x',
  '__proto__: y',
];

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; len: number; to: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; len: number }
  | { op: 'crlf'; at: number }
  | { op: 'huge'; at: number; len: number; unit: string }
  | { op: 'many'; at: number; count: number; line: number }
  | { op: 'viaPort'; port: string; rport: string | null };

/** Sent-by ports and rport values at and past the edges of their range. */
const PORTS = ['0', '00000', '1', '5060', '65535', '65536', '99999', '4294967296', ''];

const mutationArb = (hugeMax: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('flip' as const),
        at: fc.nat(),
        bit: fc.integer({ min: 0, max: 7 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('duplicate' as const),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 300 }),
        to: fc.nat(),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.array(fc.constantFrom(...SPECIAL), { minLength: 1, maxLength: 6 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('delete' as const),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 60 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('crlf' as const), at: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('huge' as const),
        at: fc.nat(),
        len: fc.integer({ min: 1000, max: hugeMax }),
        unit: fc.constantFrom('a', ' ', ';', ',', '"', '<', '%', 'z9hG4bK;', 'sip:a@b;'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('many' as const),
        at: fc.nat(),
        count: fc.integer({ min: 10, max: 1500 }),
        line: fc.integer({ min: 0, max: MANY_LINES.length - 1 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('viaPort' as const),
        port: fc.constantFrom(...PORTS),
        rport: fc.option(fc.constantFrom(...PORTS), { nil: null }),
      }),
    },
  );

const TOP_VIA =
  /^((?:Via|v)[ \t]*:[ \t]*SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*[A-Za-z]+[ \t]+)(\[[^\]\r\n]*\]|[^\s:;,]+)(?::[0-9]*)?([^\r\n,]*)/im;

/** Rewrites the port of the top Via's sent-by, and its rport (dropped when null). */
function setViaPort(b: Buffer, port: string, rport: string | null): Buffer {
  const text = b.toString('latin1');
  const m = TOP_VIA.exec(text);
  if (m === null) return b;
  const params = (m[3] as string).replace(/;[ \t]*rport(=[^;]*)?/gi, '');
  const via = `${m[1]}${m[2]}${port === '' ? '' : ':' + port}${params}${rport === null ? '' : rport === '' ? ';rport' : `;rport=${rport}`}`;
  return Buffer.from(text.slice(0, m.index) + via + text.slice(m.index + m[0].length), 'latin1');
}

/** The start of the line at or after `at` (never the start line). */
function lineStart(b: Buffer, at: number): number {
  const nl = b.indexOf(0x0a, Math.min(at, b.length));
  const first = b.indexOf(0x0a);
  if (nl < 0) return first < 0 ? b.length : first + 1;
  return nl + 1;
}

function mutate(seed: Buffer, mutations: Mutation[]): Buffer {
  let b: Buffer = Buffer.from(seed);
  for (const m of mutations) {
    const at = 'at' in m ? m.at % (b.length + 1) : 0;
    switch (m.op) {
      case 'flip':
        if (at < b.length) b[at] = (b[at] as number) ^ (1 << m.bit);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'duplicate': {
        const to = m.to % (b.length + 1);
        b = Buffer.concat([b.subarray(0, to), b.subarray(at, at + m.len), b.subarray(to)]);
        break;
      }
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'crlf': {
        const pos = lineStart(b, at);
        b = Buffer.concat([
          b.subarray(0, pos),
          Buffer.from(at % 2 === 0 ? '\r\n' : ' '),
          b.subarray(pos),
        ]);
        break;
      }
      case 'huge': {
        const pos = lineStart(b, at);
        const value = m.unit.repeat(Math.ceil(m.len / m.unit.length)).slice(0, m.len);
        const line =
          at % 3 === 0
            ? `Subject: ${value}\r\n`
            : at % 3 === 1
              ? `X-Huge: ${value}\r\n`
              : `Via: SIP/2.0/UDP ${value}\r\n`;
        b = Buffer.concat([b.subarray(0, pos), Buffer.from(line, 'latin1'), b.subarray(pos)]);
        break;
      }
      case 'many': {
        const pos = lineStart(b, at);
        const lines = Buffer.from(`${MANY_LINES[m.line] as string}\r\n`.repeat(m.count), 'latin1');
        b = Buffer.concat([b.subarray(0, pos), lines, b.subarray(pos)]);
        break;
      }
      case 'viaPort':
        b = setViaPort(b, m.port, m.rport);
        break;
    }
  }
  return b;
}

const SIPISH = ' \t:;,=<>"@/.\\%?&*+-_~!\'`()[]{}\r\n\0' + 'SIPsipviaVIAtagbranchz9hG4bK0123456789';
const sipishChars = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...SIPISH), minLength: min, maxLength: max });

type Input =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'text'; text: string }
  | { kind: 'sipish'; start: string; lines: Array<[string, string]>; end: string; body: string }
  /** `fresh` > 0 makes branches and Call-IDs new, so that the request is not absorbed as a retransmission. */
  | { kind: 'mutated'; seed: number; fresh: number; mutations: Mutation[] }
  | { kind: 'ping' };

const randomArb: fc.Arbitrary<Input> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      bytes: fc.uint8Array({ maxLength: 1500 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      text: fc.string({ unit: 'binary', maxLength: 500 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('sipish' as const),
      start: fc.constantFrom(
        'INVITE sip:a@b SIP/2.0',
        'OPTIONS sip:bob@example.com SIP/2.0',
        'SIP/2.0 200 OK',
        'REGISTER sips:[::1]:5061 SIP/2.0',
        'ACK sip:x SIP/2.0',
        'CANCEL sip:x SIP/2.0',
        'X tel:+1 SIP/2.0',
      ),
      lines: fc.array(
        fc.tuple(
          fc.constantFrom(
            'Via',
            'v',
            'From',
            'f',
            'To',
            't',
            'Call-ID',
            'i',
            'CSeq',
            'Contact',
            'm',
            'Max-Forwards',
            'Content-Length',
            'l',
            'Route',
            'Require',
            'Expires',
            ' ',
            'X',
            '__proto__',
          ),
          sipishChars(0, 40),
        ),
        { maxLength: 12 },
      ),
      end: fc.constantFrom('\r\n\r\n', '\r\n', '\n\n', ''),
      body: sipishChars(0, 60),
    }),
  },
);

const mutatedArb = (hugeMax: number): fc.Arbitrary<Input> =>
  fc.record({
    kind: fc.constant('mutated' as const),
    seed: fc.integer({ min: 0, max: SEEDS.length - 1 }),
    fresh: fc.nat(),
    mutations: fc.array(mutationArb(hugeMax), { minLength: 1, maxLength: 5 }),
  });

function freshen(seed: Buffer, fresh: number): Buffer {
  if (fresh === 0) return seed;
  const tag = fresh.toString(36);
  const text = seed
    .toString('latin1')
    .replace(/z9hG4bK/g, `z9hG4bK${tag}.`)
    .replace(/^((?:Call-ID|i)[ \t]*:[ \t]*)/gim, `$1${tag}.`);
  return Buffer.from(text, 'latin1');
}

function render(input: Input): Buffer {
  switch (input.kind) {
    case 'bytes':
      return Buffer.from(input.bytes);
    case 'text':
      return Buffer.from(input.text, 'utf8');
    case 'sipish':
      return Buffer.from(
        `${input.start}\r\n${input.lines.map(([n, v]) => `${n}: ${v}`).join('\r\n')}${input.end}${input.body}`,
        'utf8',
      );
    case 'mutated':
      return mutate(freshen(SEEDS[input.seed] as Buffer, input.fresh), input.mutations);
    case 'ping':
      return Buffer.from('\r\n\r\n');
  }
}

// --- Server access ---------------------------------------------------------------------

let herald: HeraldProcess;

function port(kind: 'udp' | 'tcp' | 'ws' | 'http'): number {
  const l = herald.listeners[kind];
  if (l === null) throw new Error(`no ${kind} listener`);
  return l.port;
}

async function nodeInfo(): Promise<{
  connections: number;
  transactions: { server: number; client: number };
}> {
  const res = await fetch(`http://127.0.0.1:${port('http')}/v1/Node`);
  expect(res.status).to.equal(200);
  return (await res.json()) as {
    connections: number;
    transactions: { server: number; client: number };
  };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port('http')}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
  if (m === null) throw new Error(`${name} not in /metrics`);
  return Number(m[1]);
}

/** Polls /v1/Node until no connection flow is open (at most 10 s, every 100 ms). */
async function expectNoConnections(): Promise<void> {
  const deadline = Date.now() + 10_000;
  let n = (await nodeInfo()).connections;
  while (n !== 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = (await nodeInfo()).connections;
  }
  expect(n, 'connection flows still open 10 s after every client socket closed').to.equal(0);
}

/** Log entries at level error (50) or fatal: a handler threw and a guard caught it, a bug all the same. */
function errorLogs(from = 0): Array<Record<string, unknown>> {
  return herald.logs.slice(from).filter((l) => typeof l.level === 'number' && l.level >= 50);
}

function serverState(): string {
  const errors = errorLogs().slice(-5);
  return (
    `server exitCode=${herald.proc.exitCode} signal=${herald.proc.signalCode}\n` +
    `last error logs: ${JSON.stringify(errors)}\nstderr (tail): ${herald.stderr().slice(-3000)}`
  );
}

/** Runs one fuzz run; on failure dumps its inputs to a directory and says where, with the server's state. */
async function attempt(label: string, inputs: Buffer[], body: () => Promise<void>): Promise<void> {
  try {
    if (herald.proc.exitCode !== null || herald.proc.signalCode !== null)
      throw new Error('server is not running');
    const logsBefore = herald.logs.length;
    await body();
    // The server logs synchronously before it answers the probe; one turn of the
    // event loop lets the log lines that were already in the pipe be read.
    await new Promise((r) => setImmediate(r));
    const errors = errorLogs(logsBefore);
    if (errors.length > 0)
      throw new Error(`the server logged an error: ${JSON.stringify(errors[0])}`);
  } catch (err) {
    const dir = mkdtempSync(join(tmpdir(), `herald-fuzz-${label}-`));
    inputs.forEach((b, i) => writeFileSync(join(dir, `${String(i).padStart(3, '0')}.bin`), b));
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `${e.message}\ninputs of this run (in sending order): ${dir}\n${serverState()}`;
    throw e;
  }
}

let probes = 0;
/**
 * A probe OPTIONS and its Call-ID, one that no fuzz input can carry (the seeds'
 * Call-IDs come from the same helper), so that only its own answer counts.
 */
function probeRequest(transport: 'UDP' | 'TCP' | 'WS', port: number): { req: string; id: string } {
  const id = `herald-fuzz-probe-${++probes}-${process.pid}`;
  const req = request('OPTIONS', { transport: transport === 'UDP' ? 'UDP' : 'TCP', port })
    .replace(/\r\nCall-ID: .*\r\n/, `\r\nCall-ID: ${id}\r\n`)
    .replace(/^Via: SIP\/2\.0\/TCP/m, `Via: SIP/2.0/${transport}`);
  return { req, id };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// --- UDP -------------------------------------------------------------------------------

class UdpEndpoint {
  /** Datagrams received that are not answers to a probe: the server's answers to the fuzz. */
  answers = 0;
  private readonly waiters = new Map<string, (status: number) => void>();
  private constructor(readonly socket: UdpSocket) {
    socket.on('message', (msg) => {
      const r = parseMessage(msg);
      const id = r.ok ? r.message.headers.get('call-id') : undefined;
      const w = id === undefined ? undefined : this.waiters.get(id);
      if (r.ok && r.message.type === 'response' && w !== undefined) w(r.message.status);
      else if (!id?.startsWith('herald-fuzz-probe-')) this.answers++;
    });
    socket.on('error', () => undefined);
  }

  static open(): Promise<UdpEndpoint> {
    return new Promise((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(new UdpEndpoint(s)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(bytes: Buffer): Promise<void> {
    return new Promise((resolve) =>
      this.socket.send(bytes, port('udp'), '127.0.0.1', () => resolve()),
    );
  }

  /**
   * OPTIONS → 200. UDP may lose a datagram, so the probe is retransmitted
   * (same branch: the server's transaction resends its 200) at most twice.
   */
  async probe(): Promise<void> {
    const { req, id } = probeRequest('UDP', this.port);
    const answered = new Promise<number>((resolve) => this.waiters.set(id, resolve));
    try {
      for (let i = 0; i < 3; i++) {
        await this.send(Buffer.from(req));
        const status = await Promise.race([
          answered,
          new Promise<null>((r) => setTimeout(() => r(null), 1500)),
        ]);
        if (status !== null) {
          expect(status, 'status of the probe OPTIONS over UDP').to.equal(200);
          return;
        }
      }
      throw new Error('probe OPTIONS over UDP: no answer in 3 tries (4.5 s)');
    } finally {
      this.waiters.delete(id);
    }
  }

  close(): void {
    this.socket.close();
  }
}

// --- TCP -------------------------------------------------------------------------------

type TcpEnding = 'end' | 'destroy' | 'destroy-early' | 'linger';
interface TcpConn {
  messages: Input[];
  cuts: number[];
  ending: TcpEnding;
  earlyAt: number;
}

function tcpOpen(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port: port('tcp'), host: '127.0.0.1', noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}

function closedPromise(s: Socket): Promise<void> {
  return s.closed ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

function writeChunk(s: Socket, chunk: Buffer): Promise<void> {
  if (s.destroyed || !s.writable) return Promise.resolve();
  return new Promise((resolve) => s.write(chunk, () => resolve()));
}

/** Cuts `b` at the given offsets (mod its length): the segments to write one by one. */
function segments(b: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, b.length]) {
    if (c > from) out.push(b.subarray(from, c));
    from = Math.max(from, c);
  }
  return out;
}

async function tcpProbe(): Promise<void> {
  const s = await tcpOpen();
  try {
    const { req, id } = probeRequest('TCP', s.localPort ?? 0);
    const framer = new StreamFramer(1 << 20);
    const status = new Promise<number>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        for (const ev of framer.push(d)) {
          if (ev.kind !== 'message') continue;
          const r = parseMessage(ev.bytes, { stream: true });
          if (r.ok && r.message.type === 'response' && r.message.headers.get('call-id') === id)
            resolve(r.message.status);
        }
      });
      s.once('close', () =>
        reject(new Error('probe connection closed by the server before an answer')),
      );
    });
    s.write(req);
    expect(
      await withTimeout(status, ANSWER_MS, 'probe OPTIONS over TCP'),
      'status of the probe OPTIONS over TCP',
    ).to.equal(200);
  } finally {
    s.destroy();
  }
}

// --- WS --------------------------------------------------------------------------------

type WsEnding = 'close' | 'terminate' | 'close-early' | 'none';
interface WsFrame {
  type: 'text' | 'binary' | 'ping';
  input: Input;
}
interface WsConn {
  frames: WsFrame[];
  ending: WsEnding;
  earlyAt: number;
}

function wsOpen(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port('ws')}`, 'sip');
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => undefined);
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

function wsClosed(ws: WebSocket): Promise<void> {
  return ws.readyState === WebSocket.CLOSED
    ? Promise.resolve()
    : new Promise((r) => ws.once('close', () => r()));
}

function wsSend(ws: WebSocket, frame: WsFrame, bytes: Buffer): Promise<void> {
  if (ws.readyState !== WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => resolve();
    if (frame.type === 'ping') ws.ping(bytes.subarray(0, 125), undefined, done);
    else ws.send(bytes, { binary: frame.type === 'binary' }, done);
  });
}

async function wsProbe(): Promise<void> {
  const ws = await wsOpen();
  try {
    const { req, id } = probeRequest('WS', 5060);
    const status = new Promise<number>((resolve, reject) => {
      ws.on('message', (data: RawData) => {
        const r = parseMessage(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
        if (r.ok && r.message.type === 'response' && r.message.headers.get('call-id') === id)
          resolve(r.message.status);
      });
      ws.once('close', () =>
        reject(new Error('probe WebSocket closed by the server before an answer')),
      );
    });
    ws.send(req);
    expect(
      await withTimeout(status, ANSWER_MS, 'probe OPTIONS over WS'),
      'status of the probe OPTIONS over WS',
    ).to.equal(200);
  } finally {
    ws.close(1000);
    await withTimeout(wsClosed(ws), CLOSE_MS, 'probe WebSocket close handshake');
  }
}

// --- The properties ----------------------------------------------------------------------

describe('fuzzing a running server over UDP, TCP and WebSocket', function () {
  this.timeout(180_000);
  let udp: UdpEndpoint;
  let malformedAtStart = 0;

  before(async () => {
    herald = await startHerald();
    udp = await UdpEndpoint.open();
    malformedAtStart = await metric('herald_sip_malformed_total');
  });

  after(async () => {
    udp?.close();
    await herald?.stop();
  });

  describe('UDP: batches of datagrams, a probe OPTIONS after each', () => {
    const batch = (arb: fc.Arbitrary<Input>): fc.Arbitrary<Input[]> =>
      fc.array(arb, { minLength: 25, maxLength: 50 });

    async function sendBatch(label: string, inputs: Input[]): Promise<void> {
      const bytes = inputs.map((i) => {
        const b = render(i);
        return b.length > MAX_DATAGRAM ? b.subarray(0, MAX_DATAGRAM) : b;
      });
      await attempt(label, bytes, async () => {
        for (const b of bytes) await udp.send(b);
        await udp.probe();
      });
    }

    it('random bytes, random strings and SIP-looking text', async () => {
      const before = await metric('herald_sip_malformed_total');
      await fc.assert(
        fc.asyncProperty(batch(randomArb), (inputs) => sendBatch('udp-random', inputs)),
        params(400),
      );
      expect(
        await metric('herald_sip_malformed_total'),
        'malformed count after the random datagrams',
      ).to.be.greaterThan(before);
      expect(herald.proc.exitCode).to.equal(null);
    });

    it('mutated torture and real-world messages (flips, cuts, CR/LF/NUL/quote/</>/: inserts, huge values, many headers)', async () => {
      const before = await metric('herald_sip_malformed_total');
      const answersBefore = udp.answers;
      const settings = params(500);
      await fc.assert(
        fc.asyncProperty(
          batch(
            fc.oneof(
              { weight: 6, arbitrary: mutatedArb(20_000) },
              { weight: 1, arbitrary: randomArb },
            ),
          ),
          (inputs) => sendBatch('udp-mutated', inputs),
        ),
        settings,
      );
      expect(
        await metric('herald_sip_malformed_total'),
        'malformed count after the mutated datagrams',
      ).to.be.greaterThan(before);
      // Much of it was read well enough to be answered (400, 405, 501, 200…): the
      // fuzz reached the transaction layer and the router too, not only the parser.
      expect(udp.answers - answersBefore, 'answers to the fuzz').to.be.greaterThan(
        5 * (settings.numRuns ?? 0),
      );
      expect(herald.proc.exitCode).to.equal(null);
    });
  });

  describe('TCP: random segmentation, half-close and abrupt close', () => {
    const streamInputArb: fc.Arbitrary<Input> = fc.oneof(
      { weight: 6, arbitrary: mutatedArb(80_000) },
      { weight: 2, arbitrary: randomArb },
      { weight: 1, arbitrary: fc.constant<Input>({ kind: 'ping' }) },
      {
        weight: 1,
        // A well-formed OPTIONS among the garbage: it must still be framed and answered.
        arbitrary: fc.nat().map<Input>((n) => ({
          kind: 'mutated',
          seed: OPTIONS_SEED,
          fresh: n + 1,
          mutations: [],
        })),
      },
    );
    const connArb: fc.Arbitrary<TcpConn> = fc.record({
      messages: fc.array(streamInputArb, { minLength: 1, maxLength: 5 }),
      cuts: fc.array(fc.nat(), { maxLength: 10 }),
      ending: fc.constantFrom<TcpEnding>('end', 'destroy', 'destroy-early', 'linger'),
      earlyAt: fc.nat(),
    });

    it('never brings the server down or leaves a flow open', async () => {
      const before = await metric('herald_sip_malformed_total');
      await fc.assert(
        fc.asyncProperty(fc.array(connArb, { minLength: 1, maxLength: 3 }), async (conns) => {
          const streams = conns.map((c) => Buffer.concat(c.messages.map(render)));
          await attempt('tcp', streams, async () => {
            const sockets = await Promise.all(conns.map(() => tcpOpen()));
            for (const s of sockets) s.on('data', () => undefined);
            const closed = sockets.map(closedPromise);
            await Promise.all(
              conns.map(async (c, i) => {
                const s = sockets[i] as Socket;
                const segs = segments(streams[i] as Buffer, c.cuts);
                const stopAt =
                  c.ending === 'destroy-early' ? c.earlyAt % (segs.length + 1) : segs.length;
                for (const seg of segs.slice(0, stopAt)) await writeChunk(s, seg);
                if (c.ending === 'end') s.end();
                else if (c.ending !== 'linger') s.destroy();
              }),
            );
            // Lingering connections are half-closed last, after the others did their worst.
            conns.forEach((c, i) => {
              if (c.ending === 'linger') (sockets[i] as Socket).end();
            });
            // After our FIN the server must finish and close its side too.
            await withTimeout(
              Promise.all(closed),
              CLOSE_MS,
              'server closing the connections after our FIN',
            );
            await tcpProbe();
          });
        }),
        params(600),
      );
      expect(
        await metric('herald_sip_malformed_total'),
        'malformed count after the TCP runs',
      ).to.be.greaterThan(before);
      expect(herald.proc.exitCode).to.equal(null);
      await expectNoConnections();
    });
  });

  describe('WebSocket: text, binary and ping frames, then close', () => {
    const frameInputArb: fc.Arbitrary<Input> = fc.oneof(
      { weight: 6, arbitrary: mutatedArb(140_000) },
      { weight: 2, arbitrary: randomArb },
      { weight: 1, arbitrary: fc.constant<Input>({ kind: 'ping' }) },
    );
    const wsConnArb: fc.Arbitrary<WsConn> = fc.record({
      frames: fc.array(
        fc.record({
          type: fc.constantFrom<WsFrame['type']>('text', 'text', 'binary', 'ping'),
          input: frameInputArb,
        }),
        { minLength: 1, maxLength: 6 },
      ),
      ending: fc.constantFrom<WsEnding>('close', 'terminate', 'close-early', 'none'),
      earlyAt: fc.nat(),
    });

    it('never brings the server down or leaves a flow open', async () => {
      const before = await metric('herald_sip_malformed_total');
      await fc.assert(
        fc.asyncProperty(fc.array(wsConnArb, { minLength: 1, maxLength: 3 }), async (conns) => {
          const frames = conns.map((c) => c.frames.map((f) => render(f.input)));
          await attempt('ws', frames.flat(), async () => {
            const sockets = await Promise.all(conns.map(() => wsOpen()));
            const closed = sockets.map(wsClosed);
            await Promise.all(
              conns.map(async (c, i) => {
                const ws = sockets[i] as WebSocket;
                const bytes = frames[i] as Buffer[];
                const stopAt =
                  c.ending === 'close-early' ? c.earlyAt % (bytes.length + 1) : bytes.length;
                for (let k = 0; k < stopAt; k++)
                  await wsSend(ws, c.frames[k] as WsFrame, bytes[k] as Buffer);
                if (c.ending === 'terminate') ws.terminate();
                else if (c.ending !== 'none') ws.close(1000);
              }),
            );
            // The rest close after the others did their worst.
            conns.forEach((c, i) => {
              if (c.ending === 'none') (sockets[i] as WebSocket).close(1000);
            });
            await withTimeout(Promise.all(closed), CLOSE_MS, 'WebSocket close handshakes');
            await wsProbe();
          });
        }),
        params(400),
      );
      expect(
        await metric('herald_sip_malformed_total'),
        'malformed count after the WS runs',
      ).to.be.greaterThan(before);
      expect(herald.proc.exitCode).to.equal(null);
      await expectNoConnections();
    });
  });

  describe('afterwards', () => {
    it('the fuzz reached the parser, and the server is alive, did not exit and logged no error', async () => {
      expect(await metric('herald_sip_malformed_total')).to.be.greaterThan(malformedAtStart);
      expect(await metric('herald_sip_connections')).to.equal(0);
      await udp.probe();
      await tcpProbe();
      await expectNoConnections();
      expect(herald.proc.exitCode).to.equal(null);
      expect(herald.proc.signalCode).to.equal(null);
      const errors = errorLogs();
      expect(errors, JSON.stringify(errors.slice(0, 5))).to.deep.equal([]);
      expect(herald.stderr()).to.equal('');
    });
  });
});
