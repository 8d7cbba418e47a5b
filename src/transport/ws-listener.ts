/**
 * The WS and WSS listeners (RFC 7118 §4): a `ws` WebSocketServer in noServer
 * mode behind our own http/https server, so that the upgrade can be refused
 * with a proper status before any WebSocket exists: 403 for an Origin not on
 * the allow-list (RFC 6455 §10.2), 400 when the client does not offer the
 * `sip` subprotocol (RFC 7118 §4.1 makes it mandatory; `ws` alone would just
 * accept the connection without one).
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ConnectionHost } from './connection-host.js';
import type { HostPort } from './options.js';
import type { ServerCredentials } from './stream-listener.js';
import type { ListenerInfo } from './types.js';
import { normalizeIp } from './via-received.js';
import { WsConnection, type WsProtocol } from './ws-connection.js';
import { listenServer, serverClosed } from './listen.js';

const SUBPROTOCOL = 'sip';

function offersSip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const p of header.split(',')) if (p.trim() === SUBPROTOCOL) return true;
  return false;
}

function refuse(socket: Duplex, status: 400 | 403, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export class WsListener {
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<net.Socket>();
  private info: ListenerInfo | null = null;

  constructor(
    readonly protocol: WsProtocol,
    private readonly bindTo: HostPort,
    private readonly host: ConnectionHost,
    private readonly allowedOrigins: ReadonlySet<string> | null,
    credentials: ServerCredentials | null,
  ) {
    if (protocol === 'wss') {
      if (credentials === null) throw new Error('WSS listener without a certificate');
      this.server = https.createServer({ cert: credentials.cert, key: credentials.key });
    } else {
      this.server = http.createServer();
    }
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      autoPong: true,
      // Frames a bit larger than a message may be are still read, to answer them 513;
      // beyond that `ws` closes the connection (1009).
      maxPayload: host.maxMessageBytes * 2,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.wss.on('error', (err) => host.log.warn({ err }, 'WebSocket server error'));
    this.server.on('connection', (raw: net.Socket) => this.admit(raw));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.upgrade(req, socket, head);
      } catch (err) {
        host.log.error({ err }, 'WebSocket upgrade failed');
        socket.destroy();
      }
    });
    // Plain HTTP on a SIP WebSocket port: tell the client what this port speaks.
    this.server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': SUBPROTOCOL, 'Content-Length': '0' });
      res.end();
    });
    this.server.on('clientError', (_err: Error, socket: Duplex) => socket.destroy());
  }

  private admit(raw: net.Socket): void {
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
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.allowedOrigins !== null) {
      const origin = req.headers.origin;
      if (origin === undefined || !this.allowedOrigins.has(origin.toLowerCase())) {
        this.host.log.info({ origin, remote: req.socket.remoteAddress }, 'WebSocket refused: origin not allowed');
        refuse(socket, 403, 'Forbidden');
        return;
      }
    }
    if (!offersSip(req.headers['sec-websocket-protocol'])) {
      refuse(socket, 400, 'Bad Request');
      return;
    }
    const raw = req.socket;
    const local = { address: raw.localAddress ?? '', port: raw.localPort ?? 0 };
    const remote = { address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 };
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      try {
        new WsConnection(this.protocol, ws, local, remote, this.host);
      } catch (err) {
        this.host.log.error({ err }, 'WebSocket setup failed');
        ws.terminate();
      }
    });
  }

  async start(): Promise<ListenerInfo> {
    this.info = await listenServer(this.server, this.bindTo, this.protocol, this.host.log);
    return this.info;
  }

  listenerInfo(): ListenerInfo | null {
    return this.info;
  }

  close(): Promise<void> {
    const closed = serverClosed(this.server);
    this.wss.close();
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    return closed;
  }
}
