/**
 * One TCP or TLS connection flow (RFC 3261 §18.3): Content-Length framing,
 * CRLF keep-alives (RFC 5626 §4.4.1), idle timeout, and the error paths that
 * must still answer the sender: a message whose framing is lost gets its
 * 400/513 and then the connection closes, since nothing after it can be framed.
 */
import net from 'node:net';
import tls from 'node:tls';
import { findHeaderEnd, skipLeadingNewlines } from '../sip/parser.js';
import { StreamFramer } from '../sip/stream-framer.js';
import {
  CLOSE_GRACE_MS,
  CloseWaiters,
  MAX_WRITE_BACKLOG,
  UNBOUND,
  failLater,
  newConnectionId,
  remoteKey,
  type Connection,
} from './connection.js';
import type { ConnectionHost } from './connection-host.js';
import type { Address, SendErrorHandler } from './types.js';
import { normalizeIp } from './via-received.js';

const PONG = Buffer.from('\r\n', 'latin1');

export type StreamProtocol = 'tcp' | 'tls';

/** Client-side TLS settings for connections we open. */
export interface TlsClientSettings {
  ca: string | undefined;
  rejectUnauthorized: boolean;
}

interface PendingWrite {
  bytes: Buffer;
  onError: SendErrorHandler | undefined;
}

export class StreamConnection implements Connection {
  readonly reliable = true;
  readonly id: string;
  local: Address;
  remote: Address;
  readonly remoteKeys: string[];
  private readonly framer: StreamFramer;
  private readonly idle: NodeJS.Timeout;
  private grace: NodeJS.Timeout | null = null;
  /** Writes queued while an outbound connection is being opened; null once connected. */
  private pending: PendingWrite[] | null;
  private closing = false;
  private lastError: Error | null = null;
  private readonly closed = new CloseWaiters();

  /**
   * Wraps a socket: an accepted one (`target` null, already connected), or
   * one being opened to `target` (messages queue until it connects).
   */
  constructor(
    readonly protocol: StreamProtocol,
    private readonly socket: net.Socket,
    private readonly host: ConnectionHost,
    target: Address | null,
  ) {
    this.id = newConnectionId(protocol);
    this.framer = new StreamFramer(host.maxMessageBytes);
    this.idle = setTimeout(() => this.onIdle(), host.idleTimeoutMs);
    this.idle.unref();
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on('end', () => this.guard(() => this.onEnd()));
    socket.on('error', (err) => {
      this.lastError = err;
      host.log.debug({ err, flow: this.id }, 'connection error');
    });
    socket.on('close', () => this.guard(() => this.onClose()));
    if (target === null) {
      this.pending = null;
      this.local = { address: normalizeIp(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
      this.remote = { address: normalizeIp(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
      this.remoteKeys = [remoteKey(protocol, this.remote.address, this.remote.port)];
      host.table.add(this);
    } else {
      this.pending = [];
      this.local = UNBOUND;
      this.remote = { address: target.address, port: target.port };
      this.remoteKeys = [remoteKey(protocol, target.address, target.port)];
      host.table.index(this);
      socket.once(protocol === 'tls' ? 'secureConnect' : 'connect', () => this.guard(() => this.onConnect()));
    }
  }

  /** Opens a connection to send to (§18.1.1); it becomes a flow once connected. */
  static open(
    protocol: StreamProtocol,
    address: string,
    port: number,
    host: ConnectionHost,
    tlsSettings: TlsClientSettings,
  ): StreamConnection {
    const socket =
      protocol === 'tls'
        ? tls.connect({
            host: address,
            port,
            servername: net.isIP(address) === 0 ? address : undefined,
            ca: tlsSettings.ca,
            rejectUnauthorized: tlsSettings.rejectUnauthorized,
          })
        : net.connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    return new StreamConnection(protocol, socket, host, { address, port });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.host.log.error({ err, flow: this.id }, 'connection handler failed');
      this.destroy();
    }
  }

  private onConnect(): void {
    const s = this.socket;
    this.local = { address: normalizeIp(s.localAddress ?? ''), port: s.localPort ?? 0 };
    const remote = { address: normalizeIp(s.remoteAddress ?? this.remote.address), port: s.remotePort ?? this.remote.port };
    // Connected to a host name: also findable by the IP it resolved to.
    if (remote.address !== this.remote.address) {
      this.remoteKeys.push(remoteKey(this.protocol, remote.address, remote.port));
    }
    this.remote = remote;
    this.host.table.add(this);
    const queued = this.pending ?? [];
    this.pending = null;
    for (const w of queued) this.write(w.bytes, w.onError);
  }

  private onData(chunk: Buffer): void {
    this.idle.refresh();
    if (this.closing) return;
    const events = this.framer.push(chunk);
    for (let i = 0; i < events.length && !this.closing; i++) {
      const ev = events[i];
      if (ev === undefined) break;
      if (ev.kind === 'message') this.host.inbound.deliver(ev.bytes, this, true);
      else if (ev.kind === 'ping') {
        if (this.socket.writable) this.socket.write(PONG);
      } else {
        // Framing lost: answer what can be answered (the listener writes now), then close.
        this.host.inbound.fail(ev.status, ev.reason, ev.head, this, true);
        this.close();
      }
    }
  }

  /**
   * The peer half-closed. A message it left incomplete will never be finished:
   * if its header section arrived, say so with a 400 before closing our side.
   */
  private onEnd(): void {
    if (!this.closing) {
      const rest = this.framer.leftover();
      if (rest.length > 0) {
        const start = skipLeadingNewlines(rest, 0);
        if (start < rest.length && findHeaderEnd(rest, start) !== null) {
          this.host.inbound.fail(400, 'Content-Length larger than the message', rest, this, true);
        }
      }
    }
    this.close();
  }

  private onIdle(): void {
    this.host.log.debug({ flow: this.id, idleMs: this.host.idleTimeoutMs }, 'closing idle connection');
    this.destroy();
  }

  private onClose(): void {
    clearTimeout(this.idle);
    if (this.grace !== null) clearTimeout(this.grace);
    this.closing = true;
    const queued = this.pending;
    this.pending = null;
    if (queued !== null && queued.length > 0) {
      const err = new Error(
        `could not connect to ${this.remote.address}:${this.remote.port} over ${this.protocol}` +
          (this.lastError ? `: ${this.lastError.message}` : ''),
      );
      for (const w of queued) failLater(w.onError, err, this.logSendError);
    }
    this.host.table.remove(this);
    this.closed.settle();
  }

  private readonly logSendError = (err: Error): void => {
    this.host.log.warn({ err, flow: this.id }, 'send failed');
  };

  write(bytes: Buffer, onError?: SendErrorHandler): void {
    if (this.closing) {
      failLater(onError, new Error(`flow ${this.id} is closed`), this.logSendError);
      return;
    }
    if (this.pending !== null) {
      this.pending.push({ bytes, onError });
      return;
    }
    if (this.socket.writableLength > MAX_WRITE_BACKLOG) {
      // A peer that does not read would make us buffer without bound.
      this.host.log.warn({ flow: this.id, backlog: this.socket.writableLength }, 'dropping connection: peer not reading');
      this.destroy();
      failLater(onError, new Error(`flow ${this.id} is not draining`), this.logSendError);
      return;
    }
    if (onError === undefined) this.socket.write(bytes);
    else {
      this.socket.write(bytes, (err) => {
        if (err) onError(err);
      });
    }
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.pending !== null || !this.socket.writable) {
      this.socket.destroy();
      return;
    }
    // end() sends our FIN after the queued writes (the 400 just written) are flushed.
    this.socket.end();
    this.grace = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    this.grace.unref();
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  whenClosed(): Promise<void> {
    return this.closed.wait();
  }
}
