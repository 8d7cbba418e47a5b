/**
 * A NOTIFY inside a subscription's dialog (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1):
 * Request-URI = the remote target, Route = the route set, From = our URI
 * with our tag, To = the subscriber's URI with its tag, the dialog's Call-ID
 * and our next CSeq; Event and Subscription-State (RFC 6665 §8.2.3) and the
 * PIDF body. Via and Max-Forwards are added by the transaction layer.
 */
import { Headers } from '../sip/headers.js';
import { SipRequest, setBody } from '../sip/message.js';
import type { Subscription } from '../store/subscription-store.js';
import { PIDF_CONTENT_TYPE } from './pidf.js';

export type SubscriptionState = { state: 'active'; expiresIn: number } | { state: 'terminated'; reason: 'timeout' | 'noresource' | 'deactivated' | 'rejected' };

export function subscriptionStateValue(s: SubscriptionState): string {
  return s.state === 'active' ? `active;expires=${s.expiresIn}` : `terminated;reason=${s.reason}`;
}

export function eventValue(eventId: string | null): string {
  return eventId === null ? 'presence' : `presence;id=${eventId}`;
}

export function buildNotify(sub: Subscription, cseq: number, contact: string, state: SubscriptionState, body: string): SipRequest {
  const h = new Headers();
  for (const r of sub.routeSet) h.append('Route', r);
  h.append('From', `<${sub.localUri}>;tag=${sub.localTag}`);
  h.append('To', `${sub.remoteUri};tag=${sub.remoteTag}`);
  h.append('Call-ID', sub.callId);
  h.append('CSeq', `${cseq} NOTIFY`);
  h.append('Contact', contact);
  h.append('Event', eventValue(sub.eventId));
  h.append('Subscription-State', subscriptionStateValue(state));
  h.append('User-Agent', 'Herald');
  const request = new SipRequest('NOTIFY', sub.remoteTarget, h);
  setBody(request, body, PIDF_CONTENT_TYPE);
  return request;
}
