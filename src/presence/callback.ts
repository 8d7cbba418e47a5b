/**
 * The account's `presenceCallback` (CONTRACT §2): one POST per real change
 * of a client's effective status (tracker.ts), form-encoded and signed like
 * Twilio's webhooks (`X-Twilio-Signature`, HMAC-SHA1 with the auth token),
 * so an application checks it with the same helper it uses for voice
 * webhooks. Sent like a status callback (InstructionsClient.notify): fire
 * and forget, bounded by a timeout, a failure logged and not retried (the
 * next change brings the current state anyway).
 */
import type { InstructionsClient } from '../instructions/index.js';
import type { PresenceTransition } from './tracker.js';

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

export function presenceCallbackPoster(client: Pick<InstructionsClient, 'notify'>): (t: PresenceTransition) => void {
  return (t) => {
    const url = t.account.presenceCallback;
    if (url === undefined) return;
    void client.notify(url, 'POST', presenceCallbackParams(t), t.account.authToken, 'presenceCallback', { identity: t.snapshot.identity });
  };
}
