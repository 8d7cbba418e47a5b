/**
 * A SIP.js client placing one call through Herald with an access token in
 * `Authorization: Bearer` (CONTRACT §5.1, a token with an outgoing grant):
 * the final status the caller got, its Warning, and the Inviter to hang up with.
 */
import type { Inviter as InviterType } from 'sip.js';
import { startPhone, type Phone } from './sipjs-phone.js';

export interface PlacedCall {
  status: number;
  inviter: InviterType;
  phone: Phone;
  warning: string | undefined;
  /** Resolves when the session has ended (either side hung up). */
  terminated: Promise<void>;
}

export async function placeCall(o: {
  wsUrl: string;
  identity: string;
  to: string;
  token: string;
  sdpPort: number;
  /** CANCEL as soon as a 180/183 arrives. */
  cancelAfterRinging?: boolean;
}): Promise<PlacedCall> {
  const { Inviter, UserAgent } = await import('sip.js');
  const phone = await startPhone({ identity: o.identity, wsUrl: o.wsUrl, sdpPort: o.sdpPort });
  const inviter = new Inviter(phone.ua, UserAgent.makeURI(`sip:${o.to}@herald.test`)!, { extraHeaders: [`Authorization: Bearer ${o.token}`] });
  const terminated = new Promise<void>((r) => inviter.stateChange.addListener((s) => s === 'Terminated' && r()));
  let warning: string | undefined;
  const status = await new Promise<number>((resolve, reject) => {
    inviter
      .invite({
        requestDelegate: {
          onAccept: (r) => resolve(r.message.statusCode ?? 0),
          onReject: (r) => {
            warning = r.message.getHeader('warning');
            resolve(r.message.statusCode ?? 0);
          },
          onProgress: (r) => {
            if (o.cancelAfterRinging === true && (r.message.statusCode ?? 0) >= 180) void inviter.cancel();
          },
        },
      })
      .catch(reject);
  });
  return { status, inviter, phone, warning, terminated };
}
