/**
 * sipp (Debian `sip-tester`, installed by scripts/install-test-deps.sh) as a
 * test peer: a scenario of test/sipp/ run as the trunk caller (UAC) or as the
 * callee Herald dials (UAS), in the foreground so that a test can await its
 * exit or kill it, and in a directory of its own so that its statistics
 * (`-trace_stat`, `-trace_counts`) can be read once it has ended.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPeer, type PeerExit, type PeerProcess } from './peer-process.js';

const SCENARIOS = resolve(import.meta.dirname, '..', 'sipp');

export interface SippReport {
  exit: PeerExit;
  /** Cumulative columns of the last `-trace_stat` line by name, e.g. `SuccessfulCall(C)`, `FailedUnexpectedMessage(C)`. */
  stats: Record<string, number>;
  /** The last `-trace_counts` line: per scenario step, e.g. `15_481_Recv`, `4_BYE_Timeout`. */
  counts: Record<string, number>;
  /** What sipp printed, and its error log (unexpected messages, timeouts). */
  output: string;
}

export interface Sipp {
  peer: PeerProcess;
  /** Resolves once sipp has exited, with what it counted. */
  report: Promise<SippReport>;
  /** Resolves once the per-step counts sipp dumps every second add up to `n` for steps ending with `suffix`. */
  counts(suffix: string, n: number, ms?: number): Promise<void>;
}

export interface SippOptions {
  /** A file of test/sipp/. */
  scenario: string;
  /** Calls to make (UAC) or to take (UAS) before exiting (`-m`). */
  calls: number;
  /** UAS: the UDP port to listen on (see `freeUdpPort`); UAC: any. */
  port?: number;
  /** UAC: Herald's UDP port; its scenarios dial +15550001111, the test account's number. */
  heraldPort?: number;
  /** UAC: new calls per second (`-r`) and at most this many at once (`-l`). */
  rate?: number;
  limit?: number;
  /** The whole run fails (sipp exits non-zero) after this long. */
  timeoutSeconds?: number;
}

/**
 * Starts sipp. Keepalive OPTIONS of Herald inside a dialog are answered 200
 * (`-aa`), so every scenario survives the liveness probes.
 */
export function startSipp(o: SippOptions): Sipp {
  const dir = mkdtempSync(join(tmpdir(), 'herald-sipp-'));
  const args = ['-sf', join(SCENARIOS, o.scenario), '-i', '127.0.0.1', '-p', String(o.port ?? 0), '-m', String(o.calls)];
  args.push('-aa', '-nostdin', '-trace_err', '-trace_counts', '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1');
  args.push('-timeout', `${o.timeoutSeconds ?? 60}s`, '-timeout_error');
  if (o.heraldPort !== undefined) {
    args.push('-s', '+15550001111', '-r', String(o.rate ?? 10), '-l', String(o.limit ?? o.calls), `127.0.0.1:${o.heraldPort}`);
  }
  const peer = startPeer('sipp', args, { cwd: dir });
  const report = peer.exited.then((exit) => {
    try {
      return { exit, stats: lastLine(join(dir, 'stat.csv')), counts: lastLine(findFile(dir, '_counts.csv')), output: `${peer.output()}\n${readAll(dir, '_errors.log')}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const counts = async (suffix: string, n: number, ms = 30_000): Promise<void> => {
    const deadline = Date.now() + ms;
    for (;;) {
      // Read only while sipp runs: its directory goes when it exits.
      const now = peer.proc.exitCode === null && peer.proc.signalCode === null ? sumOf(lastLine(findFile(dir, '_counts.csv')), suffix) : -1;
      if (now >= n) return;
      if (now < 0 || Date.now() > deadline) throw new Error(`sipp ${o.scenario}: ${suffix} did not reach ${n} (${now < 0 ? 'sipp exited' : `at ${now}`})\n${peer.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { peer, report, counts };
}

/** Sum of the `-trace_counts` columns whose name ends with `suffix`, e.g. `_481_Recv`. */
export function counted(report: SippReport, suffix: string): number {
  return sumOf(report.counts, suffix);
}

function sumOf(counts: Record<string, number>, suffix: string): number {
  return Object.entries(counts).reduce((n, [name, v]) => (name.endsWith(suffix) ? n + v : n), 0);
}

/** Throws, with sipp's output, unless every call of the run succeeded (exit 0, no failed call). */
export function expectAllSucceeded(report: SippReport, calls: number): void {
  const ok = report.exit.code === 0 && report.stats['SuccessfulCall(C)'] === calls && report.stats['FailedCall(C)'] === 0;
  if (!ok) throw new Error(`sipp: exit ${report.exit.code ?? report.exit.signal}, ${report.stats['SuccessfulCall(C)']} of ${calls} calls succeeded\n${report.output.slice(-6000)}`);
}

/** Resolves once something listens on UDP 127.0.0.1:`port` (a sipp UAS prints nothing when it is ready). */
export async function udpPortBound(port: number, ms = 10_000): Promise<void> {
  // /proc/net/udp lists bound sockets as HEXIP:HEXPORT; probing by binding ourselves could steal the port from sipp.
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + ms;
  while (!readFileSync('/proc/net/udp', 'latin1').includes(` ${local} `)) {
    if (Date.now() > deadline) throw new Error(`nothing bound UDP 127.0.0.1:${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A UDP port the kernel just handed out on 127.0.0.1 (bound, then released for sipp). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

function findFile(dir: string, suffix: string): string | null {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const name = names.find((f) => f.endsWith(suffix));
  return name === undefined ? null : join(dir, name);
}

function readAll(dir: string, suffix: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .map((f) => readFileSync(join(dir, f), 'latin1'))
    .join('\n');
}

/** A sipp CSV file (`;`-separated, header first) as its last line's numeric columns by name; empty if sipp wrote none. */
function lastLine(file: string | null): Record<string, number> {
  if (file === null) return {};
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return {};
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(';');
  const values = (lines.at(-1) ?? '').split(';');
  const out: Record<string, number> = {};
  header.forEach((name, i) => {
    const v = Number(values[i]);
    if (name !== '' && Number.isFinite(v)) out[name] = v;
  });
  return out;
}
