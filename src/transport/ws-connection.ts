/**
 * One SIP-over-WebSocket flow (RFC 7118): each text or binary frame carries
 * exactly one message (§5), so there is no stream framing; messages we send
 * go out as text frames. A frame holding only CRLFCRLF is the RFC 5626 ping
 * that some clients send in-band; it gets a CRLF frame back. WebSocket ping
 * frames are answered by the `ws` package itself (autoPong).
 */
import WebSocket, { type RawData } from 'ws';
import {
  CLOSE_GRACE_MS,
  CloseWaiters,
  MAX_WRITE_BACKLOG,
  failLater,
  newConnectionId,
  remoteKey,
  type Connection,
} from './connection.js';
import type { ConnectionHost } from './connection-host.js';
import type { Address, SendErrorHandler } from './types.js';
import { normalizeIp } from './via-received.js';

export type WsProtocol = 'ws' | 'wss';

const TEXT = { binary: false } as const;
const PONG = '\r\n';

function frameBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** 0: not only newlines; 1: exactly CRLFCRLF; 2: other newline noise. */
function keepAliveKind(buf: Buffer): 0 | 1 | 2 {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c !== 0x0d && c !== 0x0a) return 0;
  }
  return buf.length === 4 && buf[0] === 0x0d && buf[1] === 0x0a && buf[2] === 0x0d ? 1 : 2;
}

export class WsConnection implements Connection {
  readonly reliable = true;
  readonly id: string;
  readonly local: Address;
  readonly remote: Address;
  readonly remoteKeys: string[];
  private readonly idle: NodeJS.Timeout;
  private grace: NodeJS.Timeout | null = null;
  private closing = false;
  private readonly closed = new CloseWaiters();

  constructor(
    readonly protocol: WsProtocol,
    private readonly ws: WebSocket,
    local: Address,
    remote: Address,
    private readonly host: ConnectionHost,
  ) {
    this.id = newConnectionId(protocol);
    this.local = { address: normalizeIp(local.address), port: local.port };
    this.remote = { address: normalizeIp(remote.address), port: remote.port };
    this.remoteKeys = [remoteKey(protocol, this.remote.address, this.remote.port)];
    this.idle = setTimeout(() => this.onIdle(), host.idleTimeoutMs);
    this.idle.unref();
    const refresh = (): void => {
      this.idle.refresh();
    };
    ws.on('message', (data: RawData) => this.guard(() => this.onFrame(data)));
    ws.on('ping', refresh);
    ws.on('pong', refresh);
    ws.on('error', (err) => host.log.debug({ err, flow: this.id }, 'WebSocket error'));
    ws.on('close', () => this.guard(() => this.onClose()));
    host.table.add(this);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.host.log.error({ err, flow: this.id }, 'WebSocket handler failed');
      this.destroy();
    }
  }

  private onFrame(data: RawData): void {
    this.idle.refresh();
    if (this.closing) return;
    const buf = frameBytes(data);
    const ka = keepAliveKind(buf);
    if (ka !== 0) {
      if (ka === 1 && this.ws.readyState === WebSocket.OPEN) this.ws.send(PONG);
      return;
    }
    if (buf.length > this.host.maxMessageBytes) {
      this.host.inbound.fail(513, 'Message Too Large', buf, this, false);
      return;
    }
    // One frame is one whole message: parsed as a datagram (RFC 7118 §5: Content-Length optional).
    this.host.inbound.deliver(buf, this, false);
  }

  private onIdle(): void {
    this.host.log.debug({ flow: this.id, idleMs: this.host.idleTimeoutMs }, 'closing idle WebSocket');
    this.close();
  }

  private onClose(): void {
    this.closing = true;
    clearTimeout(this.idle);
    if (this.grace !== null) clearTimeout(this.grace);
    this.host.table.remove(this);
    this.closed.settle();
  }

  private readonly logSendError = (err: Error): void => {
    this.host.log.warn({ err, flow: this.id }, 'send failed');
  };

  write(bytes: Buffer, onError?: SendErrorHandler): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) {
      failLater(onError, new Error(`flow ${this.id} is closed`), this.logSendError);
      return;
    }
    if (this.ws.bufferedAmount > MAX_WRITE_BACKLOG) {
      this.host.log.warn({ flow: this.id, backlog: this.ws.bufferedAmount }, 'dropping WebSocket: peer not reading');
      this.destroy();
      failLater(onError, new Error(`flow ${this.id} is not draining`), this.logSendError);
      return;
    }
    if (onError === undefined) this.ws.send(bytes, TEXT);
    else {
      this.ws.send(bytes, TEXT, (err) => {
        if (err) onError(err);
      });
    }
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(1000);
    this.grace = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.grace.unref();
  }

  destroy(): void {
    this.closing = true;
    this.ws.terminate();
  }

  whenClosed(): Promise<void> {
    return this.closed.wait();
  }
}
