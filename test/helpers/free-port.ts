/** A UDP port of 127.0.0.1 the kernel just handed out (bound on port 0, then released), for a peer that must be named in a config before it starts. */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A TCP port of 127.0.0.1 the kernel just handed out, for a listener whose URL must be in a config before it starts. */
export async function freeTcpPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once some process has bound UDP `port` (a peer program is ready); there is no event for another process binding, so /proc/net/udp is polled. */
export async function udpPortBound(port: number, timeoutMs = 10_000): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const deadline = Date.now() + timeoutMs;
  while (!readFileSync('/proc/net/udp', 'utf8').includes(hex)) {
    if (Date.now() > deadline) throw new Error(`nothing bound UDP port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
