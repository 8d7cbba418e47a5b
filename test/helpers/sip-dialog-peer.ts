/**
 * A raw SIP user agent over UDP on 127.0.0.1 for one call at a time, as a
 * trunk caller (UAC: INVITE, ACK, re-INVITE, BYE) or a dialed device (UAS:
 * answers an INVITE with a body of the test's choosing). It writes its
 * messages as text, copies header lines from requests into its responses
 * (as sipp does), and uses Herald's parser only to read what comes in.
 */
import dgram from 'node:dgram';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipMessage, SipRequest, SipResponse } from '../../src/sip/message.js';

interface Received {
  message: SipMessage;
  raw: string;
  from: { address: string; port: number };
}

let counter = 0;

export class SipDialogPeer {
  private readonly inbox: Received[] = [];
  private waiters: Array<() => void> = [];
  /** The dialog of the current call (UAC side). */
  private callId = '';
  private fromTag = '';
  private toTag: string | null = null;
  private cseq = 0;
  private remotePort = 0;
  private requestUri = '';
  /** Every message received, in order (tests read the SDP each side saw). */
  readonly log: Received[] = [];

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg, rinfo) => {
      const parsed = parseMessage(msg);
      if (!parsed.ok) return;
      const r: Received = { message: parsed.message, raw: msg.toString('latin1'), from: { address: rinfo.address, port: rinfo.port } };
      this.log.push(r);
      this.inbox.push(r);
      for (const w of this.waiters) w();
    });
  }

  static open(): Promise<SipDialogPeer> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(new SipDialogPeer(s)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  close(): void {
    this.socket.close();
  }

  /** The next request of `method` (others stay queued), with its raw text. */
  async nextRequest(method: string, timeoutMs = 10_000): Promise<{ request: SipRequest; raw: string; from: Received['from'] }> {
    const r = await this.take((m) => m.message.type === 'request' && m.message.method === method, `${method} request`, timeoutMs);
    return { request: r.message as SipRequest, raw: r.raw, from: r.from };
  }

  /** The next response with `status` to the current call's INVITE (a provisional one, e.g. 183). */
  async nextResponse(status: number, timeoutMs = 10_000): Promise<SipResponse> {
    const r = await this.take(
      (m) => m.message.type === 'response' && m.message.status === status && m.message.headers.get('call-id') === this.callId,
      `${status} response`,
      timeoutMs,
    );
    return r.message as SipResponse;
  }

  /** The next final response (1xx skipped) to a request of `method` of the current call. */
  async finalResponse(method: string, timeoutMs = 10_000): Promise<SipResponse> {
    for (;;) {
      const r = await this.take(
        (m) => m.message.type === 'response' && (m.message.headers.get('cseq') ?? '').endsWith(` ${method}`) && m.message.headers.get('call-id') === this.callId,
        `response to ${method}`,
        timeoutMs,
      );
      const res = r.message as SipResponse;
      if (res.status >= 200) return res;
    }
  }

  // ------------------------------------------------------------ as a caller (UAC)

  /** Sends an INVITE for `user` at Herald with `sdp` as its offer ('' for none: a late offer). */
  invite(heraldPort: number, user: string, sdp: string): void {
    counter += 1;
    this.callId = `media-${process.pid}-${counter}@test`;
    this.fromTag = `f${process.pid}x${counter}`;
    this.toTag = null;
    this.cseq = 1;
    this.remotePort = heraldPort;
    this.requestUri = `sip:${user}@127.0.0.1:${heraldPort}`;
    this.sendRequest('INVITE', sdp);
  }

  /**
   * ACKs the final response to the INVITE: a 2xx end to end (and learns the
   * dialog's To tag; `sdp` answers an offer in it), a failure in the INVITE's
   * own transaction (RFC 3261 §17.1.1.3: same branch, the response's To).
   */
  ack(final: SipResponse, sdp = ''): void {
    const toTag = /;tag=([^;\s]+)/.exec(final.headers.get('to') ?? '')?.[1] ?? null;
    if (final.status < 300) {
      this.toTag = toTag;
      return this.send(this.requestText('ACK', this.cseq, sdp));
    }
    const dialogTag = this.toTag;
    this.toTag = toTag;
    this.send(this.requestText('ACK', this.cseq, '', 'application/sdp', `z9hG4bK-${this.fromTag}-INVITE-${this.cseq}`));
    this.toTag = dialogTag;
  }

  /** A request inside the dialog (re-INVITE, UPDATE, BYE); returns its CSeq. */
  inDialog(method: string, body = '', contentType = 'application/sdp'): number {
    this.cseq += 1;
    this.send(this.requestText(method, this.cseq, body, contentType));
    return this.cseq;
  }

  private sendRequest(method: string, body: string): void {
    this.send(this.requestText(method, this.cseq, body));
  }

  private requestText(method: string, cseq: number, body: string, contentType = 'application/sdp', branch = `z9hG4bK-${this.fromTag}-${method}-${cseq}`): string {
    return [
      `${method} ${this.requestUri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:+15557770000@127.0.0.1>;tag=${this.fromTag}`,
      `To: <${this.requestUri}>${this.toTag !== null ? `;tag=${this.toTag}` : ''}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:caller@127.0.0.1:${this.port}>`,
      ...(body !== '' ? [`Content-Type: ${contentType}`] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  // ------------------------------------------------------------ as a dialed device (UAS)

  /** Answers `raw` (a request received) with `status`, our To tag, and `sdp` when given. */
  respond(raw: string, from: Received['from'], status: number, reason: string, sdp?: string): void {
    const lines = raw.split('\r\n');
    const copy = lines.filter((l) => /^(Via|v|From|f|Call-ID|i|CSeq):/i.test(l));
    const to = lines.find((l) => /^(To|t):/i.test(l)) ?? 'To: <sip:device@127.0.0.1>';
    const body = sdp ?? '';
    const msg = [
      `SIP/2.0 ${status} ${reason}`,
      ...copy,
      /;tag=/.test(to) ? to : `${to};tag=uas${process.pid}`,
      `Contact: <sip:device@127.0.0.1:${this.port}>`,
      ...(body !== '' ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    this.socket.send(Buffer.from(msg, 'latin1'), from.port, from.address);
  }

  private send(text: string): void {
    this.socket.send(Buffer.from(text, 'latin1'), this.remotePort, '127.0.0.1');
  }

  private take(match: (r: Received) => boolean, what: string, timeoutMs: number): Promise<Received> {
    const found = () => {
      const i = this.inbox.findIndex(match);
      return i < 0 ? null : this.inbox.splice(i, 1)[0]!;
    };
    const now = found();
    if (now !== null) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = () => {
        const r = found();
        if (r === null) return;
        cleanup();
        resolve(r);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
    });
  }
}

/** A plain RTP/AVP audio offer or answer at 127.0.0.1:`port`. */
export function audioSdp(port: number, codecs: string[], direction = 'sendrecv'): string {
  const pts = codecs.map((c) => c.split(' ')[0]).join(' ');
  return ['v=0', `o=test ${port} 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP ${pts}`, ...codecs.map((c) => `a=rtpmap:${c}`), `a=${direction}`, ''].join('\r\n');
}
