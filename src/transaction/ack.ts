/**
 * The ACK an INVITE client transaction sends for a 3xx–6xx response
 * (RFC 3261 §17.1.1.3). The ACK of a 2xx is the TU's business (§13.2.2.4)
 * and goes out through `TransactionLayer.sendAck`.
 */
import { Headers } from '../sip/headers.js';
import { SipRequest, type SipResponse } from '../sip/message.js';
import { cseqOf, tagOf, toOf } from '../sip/fields.js';
import { parseMessage } from '../sip/parser.js';

/** The first element of the top Via line: the Via this hop added. */
export function topViaValue(request: SipRequest): string | undefined {
  return request.headers.list('via')?.[0];
}

/**
 * §17.1.1.3: same Request-URI, Call-ID, From and CSeq number as the INVITE,
 * method ACK; To of the response (with its tag); a single Via equal to the
 * INVITE's top Via (so the ACK matches the server transaction); the INVITE's
 * Route headers.
 */
export function createNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const h = new Headers();
  const via = topViaValue(invite);
  if (via !== undefined) h.append('Via', via);
  h.append('Max-Forwards', '70');
  for (const route of invite.headers.getAll('route')) h.append('Route', route);
  const from = invite.headers.get('from');
  if (from !== undefined) h.append('From', from);
  const to = response.headers.get('to') ?? invite.headers.get('to');
  if (to !== undefined) h.append('To', to);
  const callId = invite.headers.get('call-id');
  if (callId !== undefined) h.append('Call-ID', callId);
  const cseq = cseqOf(invite);
  if (cseq !== null) h.append('CSeq', `${cseq.seq} ACK`);
  h.append('Content-Length', '0');
  return new SipRequest('ACK', invite.uri, h);
}

/**
 * Whether an ACK kept as bytes (`ack`, empty: none) answers `response`: a
 * final response of the same dialog, i.e. with the ACK's To tag — its
 * retransmission (§13.2.2.4, §17.1.1.2), not another fork's 2xx. Only for
 * a retransmitted final response, so the bytes are parsed here, not kept parsed.
 */
export function ackAnswers(ack: Buffer, response: SipResponse): boolean {
  if (ack.length === 0 || response.status < 200) return false;
  const parsed = parseMessage(ack);
  return parsed.ok && tagOf(toOf(parsed.message)) === tagOf(toOf(response));
}
