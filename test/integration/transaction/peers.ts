/**
 * Raw SIP peers for the transaction integration tests: real UDP and TCP
 * sockets that send SIP text and collect every parsed message they receive.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { StreamFramer } from '../../../src/sip/stream-framer.js';
import { EventLog } from '../../unit/transaction/fake-transport.js';

export const LOCAL = '127.0.0.1';

export abstract class Peer {
  readonly received = new EventLog<SipMessage>();

  protected accept(bytes: Buffer): void {
    const r = parseMessage(bytes);
    if (r.ok) this.received.push(r.message);
  }

  responses(status?: number, method?: string): SipResponse[] {
    return this.received.items.filter(
      (m): m is SipResponse =>
        m.type === 'response' &&
        (status === undefined || m.status === status) &&
        (method === undefined || (m.headers.get('cseq') ?? '').endsWith(` ${method}`)),
    );
  }

  requests(method?: string): SipRequest[] {
    return this.received.items.filter(
      (m): m is SipRequest => m.type === 'request' && (method === undefined || m.method === method),
    );
  }

  /** Resolves once `count` responses with `status` (and CSeq method) have arrived. */
  async waitResponses(
    status: number,
    count = 1,
    method?: string,
    ms = 5000,
  ): Promise<SipResponse[]> {
    await this.received.waitFor(
      (m) =>
        m.type === 'response' &&
        m.status === status &&
        (method === undefined || (m.headers.get('cseq') ?? '').endsWith(` ${method}`)),
      count,
      ms,
    );
    return this.responses(status, method);
  }

  async waitRequests(method: string, count = 1, ms = 5000): Promise<SipRequest[]> {
    await this.received.waitFor((m) => m.type === 'request' && m.method === method, count, ms);
    return this.requests(method);
  }

  abstract readonly port: number;
  abstract send(text: string): void;
  abstract close(): Promise<void>;
}

export class UdpPeer extends Peer {
  private constructor(
    private readonly socket: UdpSocket,
    private readonly serverPort: number,
  ) {
    super();
    socket.on('message', (msg) => this.accept(msg));
  }

  static async open(serverPort: number): Promise<UdpPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, LOCAL, () => resolve()));
    return new UdpPeer(s, serverPort);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string): void {
    this.socket.send(Buffer.from(text, 'utf8'), this.serverPort, LOCAL);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export class TcpPeer extends Peer {
  private readonly framer = new StreamFramer(65535);

  private constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (chunk: Buffer) => {
      for (const ev of this.framer.push(chunk)) if (ev.kind === 'message') this.accept(ev.bytes);
    });
    socket.on('error', () => {});
  }

  static async open(serverPort: number): Promise<TcpPeer> {
    const socket = connect(serverPort, LOCAL);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new TcpPeer(socket);
  }

  get port(): number {
    return this.socket.localPort ?? 0;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      this.socket.destroySoon();
    });
  }
}

export interface SipText {
  method: string;
  transport: 'UDP' | 'TCP';
  port: number;
  branch: string;
  callId: string;
  cseq?: number;
  toTag?: string;
  cseqMethod?: string;
}

/** A request as a peer UA would write it. */
export function sipRequest(r: SipText): string {
  const to = `<sip:bob@${LOCAL}>${r.toTag !== undefined ? `;tag=${r.toTag}` : ''}`;
  return [
    `${r.method} sip:bob@${LOCAL} SIP/2.0`,
    `Via: SIP/2.0/${r.transport} ${LOCAL}:${r.port};branch=${r.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@${LOCAL}>;tag=peer-tag`,
    `To: ${to}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq ?? 1} ${r.cseqMethod ?? r.method}`,
    `Contact: <sip:alice@${LOCAL}:${r.port}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The peer's reply to a request it received (copies Via, From, To, Call-ID, CSeq). */
export function sipResponseTo(
  req: SipRequest,
  status: number,
  reason: string,
  toTag = 'peer-uas',
): string {
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const f of req.headers.all()) {
    if (f.key === 'via' || f.key === 'from' || f.key === 'call-id' || f.key === 'cseq')
      lines.push(`${f.name}: ${f.value}`);
    else if (f.key === 'to')
      lines.push(`To: ${f.value}${/;tag=/.test(f.value) ? '' : `;tag=${toTag}`}`);
  }
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}
