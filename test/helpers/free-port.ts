/** A UDP port of 127.0.0.1 the kernel just handed out (bound on port 0, then released), for a peer that must be named in a config before it starts. */
import { createSocket } from 'node:dgram';

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
