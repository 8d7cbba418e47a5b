/**
 * One side of a call as a SIP dialog (RFC 3261 §12): what Herald needs to
 * send requests inside it and to recognise requests that belong to it.
 *
 * A B2BUA call has two kinds: the caller's leg, where Herald is the UAS
 * (the dialog is made from the INVITE, §12.1.1), and each dialed leg, where
 * Herald is the UAC (made from the 2xx, §12.1.2). Herald's own tag is unique
 * to the dialog, so the engine finds a dialog by it alone.
 */
import { callIdOf, cseqOf, fromOf, tagOf, toOf } from '../sip/fields.js';
import { Headers } from '../sip/headers.js';
import { SipRequest, setBody, type SipResponse } from '../sip/message.js';
import { formatNameAddr, nameAddrUri, type NameAddr } from '../sip/name-addr.js';
import { contactTarget } from '../transport/contact-target.js';
import type { SendTarget, Transport } from '../transport/types.js';

export interface DialogState {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From (UAC) or To (UAS) of the dialog-creating request, without tag. */
  localUri: string;
  remoteUri: string;
  /** Where requests go (the peer's Contact). */
  remoteTarget: string;
  /** Route headers for requests in the dialog, first hop first. */
  routeSet: string[];
  localCseq: number;
  /** Highest CSeq received in the dialog; requests below it are out of order (§12.2.2). */
  remoteCseq: number;
  /** The flow the peer used; requests go back over it while it is open. */
  flowId: string | null;
}

/**
 * §12.2.1.2: a 481 or a 408 to a request inside a dialog means the peer no
 * longer has it (or cannot be reached): the UAC SHOULD terminate the dialog.
 * A timeout counts as a 408 (§8.1.3.1).
 */
export function responseEndsDialog(status: number): boolean {
  return status === 481 || status === 408;
}

function withoutTag(na: NameAddr): string {
  const params = new Map(na.params);
  params.delete('tag');
  return formatNameAddr({ ...na, params });
}

export class Dialog {
  constructor(readonly state: DialogState) {}

  /** §12.1.1: the UAS side, from the INVITE and the tag Herald put on its To. */
  static asUas(invite: SipRequest, localTag: string, flowId: string): Dialog {
    const from = fromOf(invite) as NameAddr;
    const to = toOf(invite) as NameAddr;
    const contact = invite.headers.get('contact');
    return new Dialog({
      callId: callIdOf(invite) as string,
      localTag,
      remoteTag: tagOf(from) ?? '',
      localUri: withoutTag(to),
      remoteUri: withoutTag(from),
      remoteTarget: (contact === undefined ? null : nameAddrUri(contact)) ?? invite.uri,
      routeSet: invite.headers.list('record-route') ?? [],
      localCseq: 0,
      remoteCseq: (cseqOf(invite) as { seq: number }).seq,
      flowId,
    });
  }

  /** §12.1.2: the UAC side, from our INVITE and its 2xx (or a 1xx with a tag, for early dialogs). */
  static asUac(invite: SipRequest, response: SipResponse, flowId: string | null): Dialog {
    const from = fromOf(invite) as NameAddr;
    const to = toOf(response) as NameAddr;
    const contact = response.headers.get('contact');
    return new Dialog({
      callId: callIdOf(invite) as string,
      localTag: tagOf(from) ?? '',
      remoteTag: tagOf(to) ?? '',
      localUri: withoutTag(from),
      remoteUri: withoutTag(to),
      remoteTarget: (contact === undefined ? null : nameAddrUri(contact)) ?? invite.uri,
      routeSet: [...(response.headers.list('record-route') ?? [])].reverse(),
      localCseq: (cseqOf(invite) as { seq: number }).seq,
      remoteCseq: 0,
      flowId,
    });
  }

  /** §12.2.1.1: a new request inside the dialog (not ACK, not CANCEL). */
  request(method: string, contact: string, body?: { type: string; bytes: Buffer }, extra: ReadonlyArray<[string, string]> = []): SipRequest {
    const s = this.state;
    s.localCseq += 1;
    return this.build(method, s.localCseq, contact, body, extra);
  }

  /** §13.2.2.4: the ACK of a 2xx, with the INVITE's CSeq number. */
  ack(cseq: number, contact: string): SipRequest {
    return this.build('ACK', cseq, contact);
  }

  /** Where requests of the dialog go: the peer's flow while open, else its target (or first route). */
  target(transport: Pick<Transport, 'flow'>): SendTarget | null {
    const s = this.state;
    const first = s.routeSet[0];
    return contactTarget(transport, s.flowId, (first !== undefined ? nameAddrUri(first) : null) ?? s.remoteTarget);
  }

  /** Whether a request with this CSeq is in order (§12.2.2); records it when it is. */
  acceptRemoteCseq(seq: number): boolean {
    if (seq <= this.state.remoteCseq) return false;
    this.state.remoteCseq = seq;
    return true;
  }

  private build(method: string, cseq: number, contact: string, body?: { type: string; bytes: Buffer }, extra: ReadonlyArray<[string, string]> = []): SipRequest {
    const s = this.state;
    const h = new Headers();
    for (const r of s.routeSet) h.append('Route', r);
    h.append('From', `${s.localUri};tag=${s.localTag}`);
    h.append('To', s.remoteTag === '' ? s.remoteUri : `${s.remoteUri};tag=${s.remoteTag}`);
    h.append('Call-ID', s.callId);
    h.append('CSeq', `${cseq} ${method}`);
    if (method !== 'ACK' && method !== 'BYE') h.append('Contact', contact);
    for (const [name, value] of extra) h.append(name, value);
    const request = new SipRequest(method, s.remoteTarget, h);
    if (body !== undefined && body.bytes.length > 0) setBody(request, body.bytes, body.type);
    else setBody(request, Buffer.alloc(0));
    return request;
  }
}
