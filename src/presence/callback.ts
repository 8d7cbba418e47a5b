/**
 * The account's `presenceCallback` (CONTRACT §2): one POST per real change
 * of a client's effective status (tracker.ts), form-encoded and signed like
 * Twilio's webhooks (`X-Twilio-Signature`, HMAC-SHA1 with the auth token),
 * so an application checks it with the same helper it uses for voice
 * webhooks. Fire and forget: the POST never delays SIP, is bounded by a
 * timeout, and a failure is logged, not retried (the next change brings the
 * current state anyway).
 */
import type { Log } from '../log.js';
import type { PresenceTransition } from './tracker.js';

export type SignRequest = (authToken: string, url: string, params: Readonly<Record<string, string>>) => string;

export interface PresenceCallbackOptions {
  log: Log;
  sign: SignRequest;
  userAgent: string;
  /** Whole request, ms (default 5000). */
  timeoutMs?: number;
}

/** The parameters of one callback. */
export function presenceCallbackParams(t: PresenceTransition): Record<string, string> {
  const s = t.snapshot;
  return {
    AccountSid: s.accountSid,
    Identity: s.identity,
    Status: s.status,
    PreviousStatus: t.previous?.status ?? 'offline',
    Devices: String(s.bindings.length),
    ActiveCalls: String(s.activeCalls),
    Timestamp: new Date(s.at).toISOString(),
  };
}

export function presenceCallbackPoster(o: PresenceCallbackOptions): (t: PresenceTransition) => void {
  const timeoutMs = o.timeoutMs ?? 5000;
  return (t) => {
    const url = t.account.presenceCallback;
    if (url === undefined) return;
    const params = presenceCallbackParams(t);
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': o.userAgent,
        'x-twilio-signature': o.sign(t.account.authToken, url, params),
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    }).then(
      async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) o.log.warn({ url, status: res.status, identity: params.Identity }, 'presence callback answered with an error');
      },
      (err: unknown) => o.log.warn({ url, err: err instanceof Error ? err.message : String(err), identity: params.Identity }, 'presence callback failed'),
    );
  };
}
