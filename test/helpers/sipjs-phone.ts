/**
 * SIP.js 0.21 user agents in Node for call tests: a fixed-SDP session
 * description handler (Node has no WebRTC; with HERALD_MEDIA=off Herald
 * passes SDP between the legs unchanged, so any valid SDP will do),
 * registration with an access token, and a record of incoming calls with
 * the CANCELs they got.
 */
import { WebSocket } from 'ws';
import type { Invitation, SessionDescriptionHandler, UserAgent as UserAgentType } from 'sip.js';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

export function sdp(port: number, address = '127.0.0.1'): string {
  return ['v=0', `o=- ${port} 1 IN IP4 ${address}`, 's=-', `c=IN IP4 ${address}`, 't=0 0', `m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
}

/** Answers every offer with a fixed SDP and remembers what the other side sent. */
class FixedSdh implements SessionDescriptionHandler {
  remote: string | null = null;
  constructor(private readonly local: string) {}
  close(): void {}
  async getDescription() {
    return { body: this.local, contentType: 'application/sdp' };
  }
  hasDescription(contentType: string): boolean {
    return contentType === 'application/sdp';
  }
  async setDescription(body: string): Promise<void> {
    this.remote = body;
  }
  sendDtmf(): boolean {
    return false;
  }
}

export interface IncomingCall {
  invitation: Invitation;
  /** CANCEL requests received for it (their Reason headers). */
  cancelReasons: string[];
  canceled: Promise<void>;
}

export interface Phone {
  ua: UserAgentType;
  incoming: IncomingCall[];
  /** Resolves with the next incoming call. */
  nextCall(ms?: number): Promise<IncomingCall>;
  stop(): Promise<void>;
}

export async function startPhone(o: { identity: string; wsUrl: string; sdpPort: number; instanceId?: string }): Promise<Phone> {
  const { UserAgent } = await import('sip.js');
  const incoming: IncomingCall[] = [];
  const waiting: Array<(c: IncomingCall) => void> = [];
  const ua = new UserAgent({
    uri: UserAgent.makeURI(`sip:${o.identity}@herald.test`),
    transportOptions: { server: o.wsUrl },
    logLevel: 'error',
    ...(o.instanceId !== undefined ? { instanceId: o.instanceId } : {}),
    sessionDescriptionHandlerFactory: () => new FixedSdh(sdp(o.sdpPort)),
    delegate: {
      onInvite: (invitation) => {
        const cancelReasons: string[] = [];
        let resolveCanceled!: () => void;
        const canceled = new Promise<void>((r) => (resolveCanceled = r));
        // SIP.js hands a CANCEL to this internal method; recording it lets a test read the Reason.
        const inv = invitation as unknown as { _onCancel(m: { getHeader(n: string): string | undefined }): void };
        const original = inv._onCancel.bind(invitation);
        inv._onCancel = (m) => {
          cancelReasons.push(m.getHeader('reason') ?? '');
          original(m);
          resolveCanceled();
        };
        const call = { invitation, cancelReasons, canceled };
        incoming.push(call);
        const w = waiting.shift();
        if (w) w(call);
      },
    },
  });
  await ua.start();
  let read = 0;
  return {
    ua,
    incoming,
    nextCall: (ms = 10_000) => {
      if (read < incoming.length) return Promise.resolve(incoming[read++] as IncomingCall);
      return new Promise<IncomingCall>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${o.identity}: no incoming call within ${ms} ms`)), ms);
        waiting.push((c) => {
          clearTimeout(t);
          read++;
          resolve(c);
        });
      });
    },
    stop: async () => {
      await Promise.race([ua.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}

/** Registers the phone's user agent with an access token. */
export async function registerPhone(phone: Phone, token: string): Promise<number> {
  const { Registerer } = await import('sip.js');
  const registerer = new Registerer(phone.ua, { extraHeaders: [`Authorization: Bearer ${token}`], expires: 600, regId: 1 });
  return new Promise<number>((res, rej) => {
    registerer
      .register({ requestDelegate: { onAccept: (r) => res(r.message.statusCode ?? 0), onReject: (r) => res(r.message.statusCode ?? 0) } })
      .catch(rej);
  });
}
