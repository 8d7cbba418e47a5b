/**
 * A long-running peer program (a softphone such as baresip or linphonec)
 * driven through its stdin, with everything it prints collected. Unlike
 * run.ts it does not wait for the program to end: tests wait for what it
 * prints, with a deadline, and stop it at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface PeerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PeerProcess {
  proc: ChildProcess;
  /** stdout and stderr so far, interleaved as received. */
  output(): string;
  /** Writes one command line to the program's stdin. */
  send(line: string): void;
  /**
   * Resolves with the first match of `pattern` in the output. Rejects, with
   * the output, when `failOn` matches first, when the program exits, or after
   * `timeoutMs`. `poll`, when given, is called at once and then every
   * `pollMs` (to ask the program for its state).
   */
  waitFor(
    pattern: RegExp,
    options?: { timeoutMs?: number; failOn?: RegExp; poll?: () => void; pollMs?: number },
  ): Promise<RegExpExecArray>;
  exited: Promise<PeerExit>;
  /** Sends `command` (if any) and waits up to `timeoutMs` for the exit; then SIGKILL. */
  stop(options?: { command?: string; timeoutMs?: number }): Promise<PeerExit>;
}

export function startPeer(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): PeerProcess {
  const proc = spawn(cmd, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let exit: PeerExit | null = null;
  const onData = (d: Buffer) => (output += d.toString());
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  // A program that exits while we still write to it must not crash the test run.
  proc.stdin!.on('error', () => undefined);
  const exited = new Promise<PeerExit>((resolve) => {
    proc.once('error', (err) => {
      output += `\n[spawn error: ${err.message}]`;
      exit = { code: null, signal: null };
      resolve(exit);
    });
    proc.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const running = () => exit === null && proc.exitCode === null && proc.signalCode === null;

  const peer: PeerProcess = {
    proc,
    output: () => output,
    send(line: string) {
      if (running() && proc.stdin!.writable) proc.stdin!.write(`${line}\n`);
    },
    waitFor(pattern, o = {}) {
      const timeoutMs = o.timeoutMs ?? 20000;
      return new Promise<RegExpExecArray>((resolve, reject) => {
        let settled = false;
        const cleanup = () => {
          settled = true;
          clearTimeout(timer);
          if (ticker !== undefined) clearInterval(ticker);
          proc.stdout!.off('data', check);
          proc.stderr!.off('data', check);
        };
        const fail = (why: string) => {
          cleanup();
          reject(
            new Error(`${cmd}: ${why} while waiting for ${pattern}\n--- output ---\n${output}`),
          );
        };
        function check() {
          if (settled) return;
          const m = pattern.exec(output);
          if (m !== null) {
            cleanup();
            resolve(m);
          } else if (o.failOn !== undefined && o.failOn.test(output)) {
            fail(`printed ${o.failOn}`);
          }
        }
        const timer = setTimeout(() => fail(`nothing matched in ${timeoutMs} ms`), timeoutMs);
        const ticker = o.poll === undefined ? undefined : setInterval(o.poll, o.pollMs ?? 250);
        proc.stdout!.on('data', check);
        proc.stderr!.on('data', check);
        void exited.then((e) => {
          // Let the last output chunks arrive before judging.
          setImmediate(() => {
            check();
            if (!settled) fail(`exited (code ${e.code}, signal ${e.signal})`);
          });
        });
        o.poll?.();
        check();
      });
    },
    exited,
    async stop(o = {}) {
      if (!running()) return exited;
      if (o.command !== undefined) peer.send(o.command);
      else proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs ?? 10000);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
  return peer;
}
