/**
 * Transaction matching keys (RFC 3261 §17.1.3, §17.2.3). A message is matched
 * with one Map lookup on a string computed from its (memoized) Via and CSeq.
 */
import { callIdOf, cseqOf, fromOf, tagOf, toOf, topViaOf } from '../sip/fields.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { BRANCH_COOKIE, type Via } from '../sip/via.js';

/** sent-by as compared in §17.2.3: host (case-insensitive) and port as written. */
function sentBy(via: Via): string {
  return via.port === null ? via.host.toLowerCase() : `${via.host.toLowerCase()}:${via.port}`;
}

/** True when the branch carries the RFC 3261 magic cookie, i.e. is globally unique (§8.1.1.7). */
export function isRfc3261Branch(branch: string | null | undefined): branch is string {
  return typeof branch === 'string' && branch.startsWith(BRANCH_COOKIE);
}

/**
 * Server transaction key of a request, as if its method were `method`.
 *
 * §17.2.3: with a magic-cookie branch, a request matches when branch, sent-by
 * and method match (ACK is looked up with method INVITE; a CANCEL with method
 * CANCEL finds its own transaction and with method INVITE the INVITE it
 * cancels, §9.2). Without the cookie (RFC 2543 peers) the Request-URI, To tag,
 * From tag, Call-ID, CSeq number, method and top Via are compared instead.
 * `toTag` overrides the request's To tag for the RFC 2543 ACK lookup, where the
 * ACK carries the tag of our response but the INVITE had none.
 *
 * Returns null when the request lacks the fields (it then failed validation).
 */
export function serverKey(req: SipRequest, method: string, toTag?: string): string | null {
  const via = topViaOf(req);
  if (via === null) return null;
  const branch = via.params.get('branch');
  // Built by concatenation, then flattened by the slice: the key lives as long as
  // the transaction and must not hold the request's header text (V8 cons and
  // sliced strings keep what they were built from).
  if (isRfc3261Branch(branch)) return `|${branch}|${sentBy(via)}|${method}`.slice(1);
  const cseq = cseqOf(req);
  const callId = callIdOf(req);
  if (cseq === null || callId === null) return null;
  const to = toTag ?? tagOf(toOf(req)) ?? '';
  const from = tagOf(fromOf(req)) ?? '';
  const viaId = `${via.transport} ${sentBy(via)};${branch ?? ''}`;
  // Spaces cannot occur unescaped in any of these fields, so the key is unambiguous.
  return ` 2543 ${req.uri} ${to} ${from} ${callId} ${cseq.seq} ${method} ${viaId}`.slice(1);
}

/** Client transaction key (§17.1.3): the branch of our Via plus the CSeq method. */
export function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** The client key a response matches, or null when it has no branch or CSeq. */
export function responseKey(res: SipResponse): string | null {
  const via = topViaOf(res);
  const cseq = cseqOf(res);
  if (via === null || cseq === null) return null;
  const branch = via.params.get('branch');
  if (typeof branch !== 'string') return null;
  return clientKey(branch, cseq.method);
}

/**
 * Key tying a 2xx to its ACK (RFC 6026 §7.1, §13.3.1.4): the ACK of a 2xx is a
 * new transaction, recognised by Call-ID, CSeq number and To tag.
 */
export function ackKey(callId: string, cseq: number, toTag: string): string {
  return `${callId} ${cseq} ${toTag}`;
}

/** The `ackKey` an ACK carries, or null when it has no To tag. */
export function ackKeyOfAck(ack: SipRequest): string | null {
  const callId = callIdOf(ack);
  const cseq = cseqOf(ack);
  const tag = tagOf(toOf(ack));
  if (callId === null || cseq === null || tag === null) return null;
  return ackKey(callId, cseq.seq, tag);
}
