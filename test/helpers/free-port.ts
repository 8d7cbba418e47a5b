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
