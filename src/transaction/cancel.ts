/** Building a CANCEL (RFC 3261 §9.1). Send it with `TransactionLayer.sendRequest` to the INVITE's target. */
import { Headers } from '../sip/headers.js';
import { SipRequest } from '../sip/message.js';
import { cseqOf } from '../sip/fields.js';
import { topViaValue } from './ack.js';

/**
 * §9.1: the CANCEL has the Request-URI, Call-ID, To, From and CSeq number of
 * the request it cancels (method CANCEL), a single Via equal to that request's
 * top Via (so it reaches the same server transaction branch), and the same
 * Route headers. `reason` is an optional Reason header value (RFC 3326), e.g.
 * `SIP;cause=200;text="Call completed elsewhere"`.
 *
 * §9.1 also says a CANCEL should not be sent before a provisional response
 * arrived; that is for the caller to respect.
 */
export function createCancel(invite: SipRequest, reason?: string): SipRequest {
  const h = new Headers();
  const via = topViaValue(invite);
  if (via !== undefined) h.append('Via', via);
  h.append('Max-Forwards', '70');
  for (const route of invite.headers.getAll('route')) h.append('Route', route);
  for (const name of ['from', 'to', 'call-id'] as const) {
    const v = invite.headers.get(name);
    if (v !== undefined)
      h.append(name === 'call-id' ? 'Call-ID' : name === 'from' ? 'From' : 'To', v);
  }
  const cseq = cseqOf(invite);
  if (cseq !== null) h.append('CSeq', `${cseq.seq} CANCEL`);
  if (reason !== undefined) h.append('Reason', reason);
  h.append('Content-Length', '0');
  return new SipRequest('CANCEL', invite.uri, h);
}
