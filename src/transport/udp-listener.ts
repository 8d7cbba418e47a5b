/**
 * The UDP listener (RFC 3261 §18.1.1, §18.2.1). Datagrams are messages; flows
 * are virtual (socket + peer address:port) and cached so that the hot path
 * allocates no Flow or id string per datagram. Keep-alives: a CRLFCRLF
 * datagram gets a CRLF (RFC 5626 §4.4.1 framing reused on UDP by many UAs);
 * other runts (lone CRLFs, STUN-like binary) are dropped, not reported as
 * malformed, since no SIP message can be that small or start with a control byte.
 */
import { failLater } from './connection.js';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import type { InboundDispatcher } from './inbound.js';
import type { HostPort, TransportLogger } from './options.js';
import type { Address, Flow, ListenerInfo, SendErrorHandler } from './types.js';
import { normalizeIp } from './via-received.js';

const CR = 0x0d;
const LF = 0x0a;
const PONG = Buffer.from('\r\n', 'latin1');
/** Peers cached before the cache is reset; bounds memory under address-spraying traffic. */
const MAX_CACHED_FLOWS = 65536;

class UdpFlow implements Flow {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  readonly id: string;
  readonly remote: Address;
  constructor(
    readonly local: Address,
    address: string,
    port: number,
  ) {
    this.remote = { address, port };
    this.id = `udp:${local.port}:${address}:${port}`;
  }
}

/**
 * dgram resolves every destination, and dns.lookup answers even an IP literal
 * on the next tick: a closure and a tick per datagram sent, a fifth of the CPU
 * of an OPTIONS round trip. Responses go to IP addresses (Via received), so
 * answer those at once and leave names to dns.lookup.
 */
function lookupNow(
  hostname: string,
  options: dns.LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dns.lookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}

export class UdpListener {
  private readonly socket: dgram.Socket;
  private local: Address = { address: '', port: 0 };
  private open = false;
  private closed = false;
  private readonly flows = new Map<string, Map<number, UdpFlow>>();
  private cached = 0;

  constructor(
    private readonly bindTo: HostPort,
    private readonly inbound: InboundDispatcher,
    private readonly maxMessageBytes: number,
    private readonly log: TransportLogger,
  ) {
    this.socket = dgram.createSocket({ type: isIPv6(bindTo.host) ? 'udp6' : 'udp4', lookup: lookupNow });
    this.socket.on('message', (buf, rinfo) => {
      try {
        this.onDatagram(buf, rinfo.address, rinfo.port);
      } catch (err) {
        this.log.error({ err, remote: `${rinfo.address}:${rinfo.port}` }, 'UDP datagram handling failed');
      }
    });
  }

  get port(): number {
    return this.local.port;
  }

  get isOpen(): boolean {
    return this.open;
  }

  start(): Promise<ListenerInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.open = false;
        reject(err);
      };
      this.socket.once('error', onError);
      this.socket.bind({ address: this.bindTo.host, port: this.bindTo.port, exclusive: true }, () => {
        this.socket.off('error', onError);
        // Send failures without a callback and ICMP errors land here: log, never crash.
        this.socket.on('error', (err) => this.log.warn({ err }, 'UDP socket error'));
        const a = this.socket.address();
        this.local = { address: a.address, port: a.port };
        this.open = true;
        this.tuneBuffers();
        resolve({ protocol: 'udp', address: a.address, port: a.port });
      });
    });
  }

  /** Bigger kernel buffers absorb bursts (a load test, a REGISTER storm) instead of dropping them. */
  private tuneBuffers(): void {
    try {
      this.socket.setRecvBufferSize(8 * 1024 * 1024);
      this.socket.setSendBufferSize(8 * 1024 * 1024);
    } catch (err) {
      this.log.debug({ err }, 'could not enlarge UDP socket buffers');
    }
  }

  /** The flow for a peer, reused across datagrams. */
  flowFor(rawIp: string, port: number): Flow {
    let byPort = this.flows.get(rawIp);
    if (byPort === undefined) {
      if (this.cached >= MAX_CACHED_FLOWS) {
        this.flows.clear();
        this.cached = 0;
      }
      byPort = new Map();
      this.flows.set(rawIp, byPort);
    }
    let flow = byPort.get(port);
    if (flow === undefined) {
      flow = new UdpFlow(this.local, normalizeIp(rawIp), port);
      byPort.set(port, flow);
      this.cached++;
    }
    return flow;
  }

  private onDatagram(buf: Buffer, ip: string, port: number): void {
    const c0 = buf[0];
    if (buf.length < 4) return;
    if (c0 === CR || c0 === LF) {
      let i = 1;
      while (i < buf.length && (buf[i] === CR || buf[i] === LF)) i++;
      if (i === buf.length) {
        // Only newlines: a keep-alive, not a message.
        if (buf.length === 4 && buf[1] === LF && buf[2] === CR && buf[3] === LF && c0 === CR) {
          this.socket.send(PONG, port, ip);
        }
        return;
      }
      // Otherwise a message preceded by CRLFs, which the parser skips (§7.5).
    } else if (c0 === undefined || c0 < 0x20) {
      return; // STUN (RFC 5389: first two bits 0) or binary noise
    }
    const flow = this.flowFor(ip, port);
    if (buf.length > this.maxMessageBytes) {
      this.inbound.fail(513, 'Message Too Large', buf, flow, false);
      return;
    }
    this.inbound.deliver(buf, flow, false);
  }

  /** sendto from this socket: responses leave from the port the request reached (§18.2.2, RFC 3581 §4). */
  send(bytes: Buffer, address: string, port: number, onError?: SendErrorHandler): void {
    // dgram throws synchronously on a bad port or address: that must reach the
    // caller as a send error, never unwind through a transaction half-way.
    try {
      if (onError === undefined) this.socket.send(bytes, port, address);
      else {
        this.socket.send(bytes, port, address, (err) => {
          if (err) onError(err);
        });
      }
    } catch (err) {
      failLater(onError, err instanceof Error ? err : new Error(String(err)), (e) =>
        this.log.warn({ err: e, address, port }, 'UDP send refused'),
      );
    }
  }


  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.open = false;
    this.flows.clear();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
