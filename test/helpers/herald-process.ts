/**
 * Starts a real `herald serve` process (the built dist/, as users run it) on
 * free ports of 127.0.0.1 and waits for its ready line. Tests talk to it only
 * through its sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export interface HostPort {
  host: string;
  port: number;
}

export interface HeraldProcess {
  proc: ChildProcess;
  listeners: Record<'udp' | 'tcp' | 'tls' | 'ws' | 'wss' | 'http', HostPort | null>;
  /** Every log line printed so far (parsed JSON). */
  logs: Array<Record<string, unknown>>;
  /** stderr text so far. */
  stderr(): string;
  /**
   * The first log line (so far or to come) that `match` accepts. A log line
   * may reach the test after the SIP message Herald sent at the same moment
   * (stdout is another pipe), so a test that checks a log waits for it.
   */
  logged(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

const ROOT = resolve(import.meta.dirname, '..', '..');

export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cfg-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

export async function startHerald(
  options: {
    env?: Record<string, string>;
    config?: string;
    timeoutMs?: number;
    /** taskset CPU list (benchmarks) */ pinCpu?: string | undefined;
    /** node options before the script, e.g. `--cpu-prof` (benchmarks; NODE_OPTIONS refuses it) */ nodeArgs?: string[];
  } = {},
): Promise<HeraldProcess> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HERALD_SIP_UDP: '127.0.0.1:0',
    HERALD_SIP_TCP: '127.0.0.1:0',
    HERALD_SIP_WS: '127.0.0.1:0',
    HERALD_HTTP: '127.0.0.1:0',
    HERALD_PUBLIC_HOST: '127.0.0.1',
    HERALD_MEDIA: 'off',
    HERALD_LOG_LEVEL: 'info',
    ...(options.env ?? {}),
  };
  const args = [...(options.nodeArgs ?? []), join(ROOT, 'bin', 'herald.js'), 'serve'];
  if (options.config !== undefined) args.push('--config', options.config);
  const proc =
    options.pinCpu === undefined
      ? spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', options.pinCpu, process.execPath, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const logWaiters = new Set<(line: Record<string, unknown>) => void>();
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const ready = new Promise<HeraldProcess['listeners']>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`herald not ready in time; stderr: ${stderr}`)), options.timeoutMs ?? 20000);
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      for (const waiter of [...logWaiters]) waiter(entry);
      if (entry.msg === 'ready') {
        clearTimeout(timer);
        res(entry.listeners as HeraldProcess['listeners']);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`herald exited with ${code} before ready; stderr: ${stderr}`));
    });
  });
  const listeners = await ready;
  return {
    proc,
    listeners,
    logs,
    stderr: () => stderr,
    logged(match, timeoutMs = 10_000) {
      const found = logs.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (entry: Record<string, unknown>) => {
          if (!match(entry)) return;
          done();
          resolve(entry);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no such log line within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          logWaiters.delete(waiter);
        };
        logWaiters.add(waiter);
      });
    },
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
