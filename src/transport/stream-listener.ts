/**
 * The TCP and TLS listeners (RFC 3261 §18, §26.2.1): the same code on a
 * net.Server or a tls.Server. Every accepted socket is counted against its
 * remote IP before anything else happens (for TLS before the handshake, which
 * is the expensive part), so one address cannot exhaust the server.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectionHost } from './connection-host.js';
import type { HostPort } from './options.js';
import { StreamConnection, type StreamProtocol } from './stream-connection.js';
import type { ListenerInfo } from './types.js';
import { normalizeIp } from './via-received.js';
import { listenServer, serverClosed } from './listen.js';

export interface ServerCredentials {
  cert: string;
  key: string;
}

export class StreamListener {
  private readonly server: net.Server;
  /** Accepted sockets still open, handshaking ones included (for stop()). */
  private readonly sockets = new Set<net.Socket>();
  private info: ListenerInfo | null = null;

  constructor(
    readonly protocol: StreamProtocol,
    private readonly bindTo: HostPort,
    private readonly host: ConnectionHost,
    credentials: ServerCredentials | null,
  ) {
    // allowHalfOpen: a peer's FIN must not close our side before we answered
    // what it sent (see StreamConnection.onEnd).
    const opts = { allowHalfOpen: true, noDelay: true };
    if (protocol === 'tls') {
      if (credentials === null) throw new Error('TLS listener without a certificate');
      const server = tls.createServer({ ...opts, cert: credentials.cert, key: credentials.key });
      server.on('secureConnection', (socket) => this.accept(socket));
      server.on('tlsClientError', (err, socket) => {
        host.log.debug({ err, remote: socket.remoteAddress }, 'TLS handshake failed');
      });
      this.server = server;
    } else {
      this.server = net.createServer(opts);
    }
    // Registered after tls.Server's own listener: the raw socket, before any handshake.
    this.server.on('connection', (raw: net.Socket) => this.admit(raw));
  }

  private admit(raw: net.Socket): void {
    try {
      const ip = normalizeIp(raw.remoteAddress ?? '');
      if (!this.host.table.admit(ip)) {
        raw.destroy();
        return;
      }
      this.sockets.add(raw);
      raw.once('close', () => {
        this.sockets.delete(raw);
        this.host.table.release(ip);
      });
      if (this.protocol === 'tcp') this.accept(raw);
    } catch (err) {
      this.host.log.error({ err }, 'accepting a connection failed');
      raw.destroy();
    }
  }

  private accept(socket: net.Socket): void {
    try {
      new StreamConnection(this.protocol, socket, this.host, null);
    } catch (err) {
      this.host.log.error({ err }, 'accepting a connection failed');
      socket.destroy();
    }
  }

  async start(): Promise<ListenerInfo> {
    this.info = await listenServer(this.server, this.bindTo, this.protocol, this.host.log);
    return this.info;
  }

  listenerInfo(): ListenerInfo | null {
    return this.info;
  }

  /** Stops accepting and destroys every socket it accepted; resolves once the server has closed. */
  close(): Promise<void> {
    const closed = serverClosed(this.server);
    for (const s of this.sockets) s.destroy();
    return closed;
  }
}
