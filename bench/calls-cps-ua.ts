/**
 * The called party of bench/calls-cps.ts: DEVICES devices of one Digest user
 * (alice) over UDP, each its own socket and binding, that answer every
 * INVITE at once with 200 + SDP (resent until the ACK, RFC 3261 §13.3.1.4),
 * and answer BYE, CANCEL and anything else with 200. A real UA as far as
 * Herald can tell: it REGISTERs (401 → Digest MD5 → 200) and keeps to the
 * transaction rules the bench needs; it is not a full SIP stack.
 *
 * For the bench it times its own part of each call: from the INVITE's
 * arrival in the socket callback to the 200 handed to the socket, per device,
 * on its own monotonic clock, keyed by the caller (the From user, which sipp
 * makes unique per call). It also samples its event-loop delay: the time a
 * datagram can wait before that callback runs is not in its timings.
 *
 *   node --import tsx bench/calls-cps-ua.ts HERALD_PORT DOMAIN USER PASSWORD DEVICES
 *
 * stdin commands: `dump FILE` writes the timings so far as CSV
 * (`caller;device;µs at which the 200 left;µs from INVITE to 200`) and forgets them, then prints
 * `dumped {…counts, loop delay}`; `quit` exits. Prints `registered N` once
 * every device holds a binding.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseMessage } from '../src/sip/parser.js';
import type { SipRequest, SipResponse } from '../src/sip/message.js';

const [portArg, domain, user, password, devicesArg] = process.argv.slice(2);
if (portArg === undefined || domain === undefined || user === undefined || password === undefined) {
  throw new Error('usage: HERALD_PORT DOMAIN USER PASSWORD [DEVICES=2]');
}
const heraldPort = Number(portArg);
const deviceCount = Number(devicesArg ?? 2);
const HOST = '127.0.0.1';
/** §17.2.1: a 2xx is resent at T1, doubling to T2, until the ACK, for at most 64·T1. */
const T1 = 500;
const T2 = 4000;

/** Per-call timings, flushed by `dump`. */
const timings: string[] = [];
const counts = { invites: 0, retransmittedInvites: 0, acks: 0, byes: 0, cancels: 0, other: 0, resent2xx: 0 };
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

interface Answered {
  response: Buffer;
  timer: NodeJS.Timeout | null;
  interval: number;
  sentAt: number;
  address: string;
  port: number;
}

class Device {
  readonly socket: Socket = createSocket('udp4');
  /** Call-ID → the 2xx being resent until its ACK (and kept a while after for INVITE retransmissions). */
  private readonly answered = new Map<string, Answered>();
  private registered: ((status: number) => void) | null = null;
  private lastResponse: SipResponse | null = null;
  private tagSeq = 0;

  constructor(readonly index: number) {
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
  }

  async bind(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, HOST, resolve));
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** REGISTER, answer the Digest challenge, resolve with the final status. */
  async register(): Promise<number> {
    const first = await this.registerOnce(1, null);
    if (first.status !== 401) return first.status;
    const challenge = (first.headers.getAll('WWW-Authenticate').find((c) => /^Digest\b/i.test(c) && !/algorithm=SHA-256/i.test(c)) ?? '').slice(7);
    const field = (name: string): string | undefined => new RegExp(`${name}="?([^",]*)"?`, 'i').exec(challenge)?.[1];
    const realm = field('realm') ?? domain!;
    const nonce = field('nonce') ?? '';
    const opaque = field('opaque');
    const uri = `sip:${domain}`;
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    const cnonce = md5(String(Math.random())).slice(0, 16);
    const nc = '00000001';
    const response = md5(`${md5(`${user}:${realm}:${password}`)}:${nonce}:${nc}:${cnonce}:auth:${md5(`REGISTER:${uri}`)}`);
    const auth =
      `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"` +
      (opaque !== undefined ? `, opaque="${opaque}"` : '');
    return (await this.registerOnce(2, auth)).status;
  }

  private registerOnce(cseq: number, authorization: string | null): Promise<SipResponse> {
    const instance = `00000000-0000-4000-8000-${String(this.index + 1).padStart(12, '0')}`;
    const lines = [
      `REGISTER sip:${domain} SIP/2.0`,
      `Via: SIP/2.0/UDP ${HOST}:${this.port};branch=z9hG4bK-reg-${this.index}-${cseq};rport`,
      `From: <sip:${user}@${domain}>;tag=reg${this.index}`,
      `To: <sip:${user}@${domain}>`,
      `Call-ID: bench-ua-register-${process.pid}-${this.index}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:${user}@${HOST}:${this.port};transport=udp>;+sip.instance="<urn:uuid:${instance}>"`,
      'Max-Forwards: 70',
      'Expires: 3600',
      ...(authorization !== null ? [`Authorization: ${authorization}`] : []),
      'Content-Length: 0',
    ];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`device ${this.index}: no answer to REGISTER`)), 10_000);
      this.registered = () => {
        clearTimeout(timer);
        resolve(this.lastResponse as SipResponse);
      };
      this.socket.send(lines.join('\r\n') + '\r\n\r\n', heraldPort, HOST);
    });
  }

  private onMessage(buf: Buffer, address: string, port: number): void {
    const received = performance.now();
    const parsed = parseMessage(buf);
    if (!parsed.ok) return;
    const msg = parsed.message;
    if (msg.type === 'response') {
      if (msg.status >= 200 && this.registered !== null) {
        this.lastResponse = msg;
        const done = this.registered;
        this.registered = null;
        done(msg.status);
      }
      return;
    }
    const callId = msg.headers.get('Call-ID') ?? '';
    switch (msg.method) {
      case 'INVITE':
        return this.onInvite(msg, callId, received, address, port);
      case 'ACK': {
        counts.acks += 1;
        const a = this.answered.get(callId);
        if (a?.timer) clearTimeout(a.timer);
        if (a) a.timer = null;
        return;
      }
      case 'BYE':
        counts.byes += 1;
        this.answered.delete(callId);
        return this.reply(msg, 200, address, port);
      case 'CANCEL':
        // Every INVITE is answered at once, so a CANCEL always finds its transaction completed: 200, no 487 (§9.2).
        counts.cancels += 1;
        return this.reply(msg, 200, address, port);
      default:
        counts.other += 1;
        return this.reply(msg, 200, address, port);
    }
  }

  private onInvite(invite: SipRequest, callId: string, received: number, address: string, port: number): void {
    const known = this.answered.get(callId);
    if (known !== undefined) {
      counts.retransmittedInvites += 1;
      this.socket.send(known.response, known.port, known.address);
      return;
    }
    counts.invites += 1;
    const sdp =
      `v=0\r\no=${user} ${this.index + 1} 1 IN IP4 ${HOST}\r\ns=-\r\nc=IN IP4 ${HOST}\r\nt=0 0\r\n` + `m=audio ${20000 + 2 * this.index} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
    const tag = `d${this.index}t${++this.tagSeq}`;
    const response = this.response(invite, 200, tag, [`Contact: <sip:${user}@${HOST}:${this.port};transport=udp>`, 'Content-Type: application/sdp'], sdp);
    this.socket.send(response, port, address);
    const sentAt = performance.now();
    const entry: Answered = { response, timer: null, interval: T1, sentAt, address, port };
    entry.timer = setTimeout(() => this.resend(callId), T1);
    this.answered.set(callId, entry);
    const from = /<sip:([^@>]+)@/.exec(invite.headers.get('From') ?? '')?.[1] ?? '?';
    timings.push(`${from};${this.index};${Math.round(sentAt * 1000)};${Math.round((sentAt - received) * 1000)}`);
  }

  private resend(callId: string): void {
    const a = this.answered.get(callId);
    if (a === undefined) return;
    if (performance.now() - a.sentAt >= 64 * T1) {
      this.answered.delete(callId);
      return;
    }
    counts.resent2xx += 1;
    this.socket.send(a.response, a.port, a.address);
    a.interval = Math.min(2 * a.interval, T2);
    a.timer = setTimeout(() => this.resend(callId), a.interval);
  }

  private reply(req: SipRequest, status: number, address: string, port: number): void {
    this.socket.send(this.response(req, status, null, [], ''), port, address);
  }

  /** A response to `req` (§8.2.6): its Vias, From, To (with `tag` added when it has none), Call-ID and CSeq. */
  private response(req: SipRequest, status: number, tag: string | null, extra: string[], body: string): Buffer {
    const h = req.headers;
    const to = h.get('To') ?? '';
    const lines = [`SIP/2.0 ${status} ${status === 200 ? 'OK' : 'Other'}`];
    for (const via of h.getAll('Via')) lines.push(`Via: ${via}`);
    lines.push(`From: ${h.get('From') ?? ''}`, `To: ${tag !== null && !/;\s*tag=/i.test(to) ? `${to};tag=${tag}` : to}`);
    lines.push(`Call-ID: ${h.get('Call-ID') ?? ''}`, `CSeq: ${h.get('CSeq') ?? ''}`, ...extra, `Content-Length: ${Buffer.byteLength(body)}`);
    return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);
  }

  close(): void {
    for (const a of this.answered.values()) if (a.timer) clearTimeout(a.timer);
    this.socket.close();
  }
}

const devices = Array.from({ length: deviceCount }, (_, i) => new Device(i));
for (const d of devices) await d.bind();
for (const d of devices) {
  const status = await d.register();
  if (status !== 200) throw new Error(`device ${d.index}: REGISTER answered ${status}`);
}
console.log(`registered ${devices.length}`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, arg] = line.trim().split(/\s+/, 2);
  if (command === 'dump' && arg !== undefined) {
    writeFileSync(arg, timings.join('\n') + '\n');
    timings.length = 0;
    const delay = { p50Us: Math.round(loopDelay.percentile(50) / 1000), p99Us: Math.round(loopDelay.percentile(99) / 1000), maxUs: Math.round(loopDelay.max / 1000) };
    console.log(`dumped ${JSON.stringify({ ...counts, loopDelay: delay })}`);
    loopDelay.reset();
    for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] = 0;
  } else if (command === 'quit') {
    for (const d of devices) d.close();
    lines.close();
    loopDelay.disable();
  }
});
