/** Binding and closing a net/http/https server: what the stream and WebSocket listeners share. */
import type * as net from 'node:net';
import type { HostPort } from './options.js';
import type { ListenerInfo, Protocol } from './types.js';

interface Log {
  error(obj: object, msg: string): void;
}

/** Listens on `bindTo`; after the bind, server errors are logged instead of crashing the process. */
export function listenServer(server: net.Server, bindTo: HostPort, protocol: Protocol, log: Log): Promise<ListenerInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host: bindTo.host, port: bindTo.port }, () => {
      server.off('error', onError);
      server.on('error', (err) => log.error({ err, protocol }, 'listener error'));
      const a = server.address() as net.AddressInfo;
      resolve({ protocol, address: a.address, port: a.port });
    });
  });
}

/** Resolves once the server has stopped listening (at once if it never did). */
export function serverClosed(server: net.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}
