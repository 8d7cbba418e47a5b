/**
 * Starts a real `redis-server` (scripts/install-test-deps.sh installs it) on
 * a free port of 127.0.0.1, persisting nothing, and waits until it answers
 * PING. Tests talk to it with the real node-redis client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  url: string;
  port: number;
  /** Terminates the server and resolves once it has exited. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** Servers still running: killed when the test process exits, even if an after() hook never ran (mocha --exit). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startRedis(options: { timeoutMs?: number; attempts?: number } = {}): Promise<RedisServer> {
  const attempts = options.attempts ?? 5;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(await freePort(), options.timeoutMs ?? 10_000);
    } catch (err) {
      last = err;
      // The port was taken between our probe and redis-server's bind: try another.
      if (!(err instanceof PortInUseError)) throw err;
    }
  }
  throw new Error(`redis-server: no free port after ${attempts} attempts`, { cause: last });
}

class PortInUseError extends Error {}

/** A port the kernel just handed out for 127.0.0.1 (bound on port 0, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

async function startOnce(port: number, timeoutMs: number): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(proc);
  let output = '';
  const collect = (d: Buffer): void => {
    output = (output + d.toString()).slice(-4000);
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exitCode = code ?? (signal === null ? null : -1);
      live.delete(proc);
      rmSync(dir, { recursive: true, force: true });
      resolve();
    });
  });
  let spawnError: Error | undefined;
  proc.once('error', (err) => (spawnError = err));

  const stop = async (): Promise<void> => {
    if (exitCode === undefined) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError !== undefined) {
      await stop();
      throw new Error(`cannot run redis-server (scripts/install-test-deps.sh installs it): ${spawnError.message}`);
    }
    if (exitCode !== undefined) {
      if (/address already in use/i.test(output)) throw new PortInUseError(`port ${port} in use`);
      throw new Error(`redis-server exited with ${exitCode} before answering PING: ${output}`);
    }
    const pid = await ping(port);
    // Answered by our server, not by whatever else took the port between the probe and the bind.
    if (pid === proc.pid) return { url: `redis://${HOST}:${port}`, port, stop };
    if (pid !== null) {
      await stop();
      throw new PortInUseError(`port ${port} answered by another redis-server (pid ${pid})`);
    }
    if (Date.now() >= deadline) {
      await stop();
      throw new Error(`redis-server did not answer PING within ${timeoutMs} ms: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * PING (and INFO server, for its process id): the pid of the redis-server
 * that answered PONG on `port`, or null when nothing answered within 1 s.
 */
function ping(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const done = (pid: number | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(null), 1000);
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n') && !reply.startsWith('+PONG')) return done(null); // e.g. -LOADING
      const pid = /process_id:(\d+)\r\n/.exec(reply);
      if (pid?.[1] !== undefined) done(Number(pid[1]));
    });
    socket.once('error', () => done(null));
    socket.once('close', () => done(null));
  });
}
