/**
 * Minimal raw SIP peers over UDP and TCP for tests: send bytes, await the
 * next parsed response. They use Herald's own parser only to read answers.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipResponse } from '../../src/sip/message.js';
import { StreamFramer } from '../../src/sip/stream-framer.js';

export class UdpPeer {
  private readonly queue: Buffer[] = [];
  private waiters: Array<(b: Buffer) => void> = [];

  /** Datagrams arriving on any of `sockets` land in one queue; the first one sends. */
  private constructor(private readonly sockets: UdpSocket[]) {
    for (const socket of sockets) {
      socket.on('message', (msg) => {
        const w = this.waiters.shift();
        if (w) w(msg);
        else this.queue.push(msg);
      });
    }
  }

  /**
   * Binds one socket per port (0 = any) on `host`. Messages whose Via has no
   * rport are answered at the Via's sent-by port (5060 by default, §18.2.2),
   * so a peer sending such messages listens there, on its own loopback address.
   */
  static async open(host = '127.0.0.1', ports: number[] = [0]): Promise<UdpPeer> {
    const sockets = await Promise.all(
      ports.map(
        (port) =>
          new Promise<UdpSocket>((resolve, reject) => {
            const s = createSocket('udp4');
            s.once('error', reject);
            s.bind(port, host, () => resolve(s));
          }),
      ),
    );
    return new UdpPeer(sockets);
  }

  get port(): number {
    return (this.sockets[0] as UdpSocket).address().port;
  }

  send(data: Buffer | string, port: number, host = '127.0.0.1'): void {
    (this.sockets[0] as UdpSocket).send(typeof data === 'string' ? Buffer.from(data) : data, port, host);
  }

  /** Next datagram, or null after `ms` without one. */
  next(ms = 5000): Promise<Buffer | null> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(null);
      }, ms);
      const waiter = (b: Buffer) => {
        clearTimeout(timer);
        resolve(b);
      };
      this.waiters.push(waiter);
    });
  }

  /** Next response; `skipProvisional` passes over 1xx (an INVITE gets 100 Trying first). */
  async nextResponse(ms = 5000, skipProvisional = false): Promise<SipResponse | null> {
    for (;;) {
      const b = await this.next(ms);
      if (b === null) return null;
      const r = parseMessage(b);
      if (!r.ok || r.message.type !== 'response') throw new Error(`not a response: ${b.toString()}`);
      if (skipProvisional && r.message.status < 200) continue;
      return r.message;
    }
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

export class TcpPeer {
  private readonly framer = new StreamFramer(1 << 20);
  private readonly queue: SipResponse[] = [];
  private waiters: Array<(m: SipResponse | null) => void> = [];
  readonly closed: Promise<void>;
  raw = '';

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.raw += d.toString('latin1');
      for (const ev of this.framer.push(d)) {
        if (ev.kind !== 'message') continue;
        const r = parseMessage(ev.bytes, { stream: true });
        if (!r.ok || r.message.type !== 'response') continue;
        const w = this.waiters.shift();
        if (w) w(r.message);
        else this.queue.push(r.message);
      }
    });
    this.closed = new Promise((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
  }

  static async open(port: number, host = '127.0.0.1'): Promise<TcpPeer> {
    const s = connect(port, host);
    await new Promise<void>((r, j) => {
      s.once('connect', () => r());
      s.once('error', j);
    });
    return new TcpPeer(s);
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  send(data: Buffer | string): void {
    this.socket.write(data);
  }

  nextResponse(ms = 5000): Promise<SipResponse | null> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(null);
      }, ms);
      const waiter = (m: SipResponse | null) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(waiter);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

let seq = 0;
/** A well-formed request; `via` defaults to the peer's real address so responses come back. */
export function request(method: string, o: { transport: 'UDP' | 'TCP'; port: number; extra?: string[]; body?: string; uri?: string }): string {
  seq++;
  const body = o.body ?? '';
  return [
    `${method} ${o.uri ?? 'sip:herald@127.0.0.1'} SIP/2.0`,
    `Via: SIP/2.0/${o.transport} 127.0.0.1:${o.port};branch=z9hG4bK-test-${process.pid}-${seq};rport`,
    'Max-Forwards: 70',
    `From: <sip:tester@127.0.0.1>;tag=t${seq}`,
    'To: <sip:herald@127.0.0.1>',
    `Call-ID: call-${process.pid}-${seq}@test`,
    `CSeq: 1 ${method}`,
    ...(o.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}
