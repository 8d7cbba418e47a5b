/**
 * Preparing a request we originate or forward (RFC 3261 §8.1.1.7, §18.1.1,
 * RFC 3581): our Via on top with a fresh branch and rport, Max-Forwards.
 */
import { topViaOf } from '../sip/fields.js';
import { HERALD_BRANCH_PREFIX, newBranch } from '../sip/ids.js';
import type { SipRequest } from '../sip/message.js';
import type { Address, Protocol } from '../transport/types.js';

const VIA_TRANSPORT: Readonly<Record<Protocol, string>> = {
  udp: 'UDP',
  tcp: 'TCP',
  tls: 'TLS',
  ws: 'WS', // RFC 7118 §5.1
  wss: 'WSS',
};

/** `SIP/2.0/<TRANSPORT> <sent-by>;branch=<branch>;rport` (§18.1.1 sent-by, RFC 3581 §3 rport). */
export function formatOwnVia(protocol: Protocol, sentBy: Address, branch: string): string {
  const host =
    sentBy.address.includes(':') && !sentBy.address.startsWith('[')
      ? `[${sentBy.address}]`
      : sentBy.address;
  return `SIP/2.0/${VIA_TRANSPORT[protocol]} ${host}:${sentBy.port};branch=${branch};rport`;
}

/** Adds our Via with a new branch; returns the branch. */
export function pushOwnVia(request: SipRequest, protocol: Protocol, sentBy: Address): string {
  const branch = newBranch();
  request.headers.prepend('Via', formatOwnVia(protocol, sentBy, branch));
  return branch;
}

/** §8.1.1.6: Max-Forwards 70 unless the request has one (a proxy has already decremented it). */
export function ensureMaxForwards(request: SipRequest): void {
  if (!request.headers.has('max-forwards')) request.headers.append('Max-Forwards', '70');
}

/**
 * The branch of the request's top Via when that Via is already ours (our
 * sent-by and a Herald branch), as on a CANCEL built by `createCancel` (§9.1:
 * it carries the INVITE's top Via).
 */
export function ownTopBranch(request: SipRequest, sentBy: Address): string | null {
  const via = topViaOf(request);
  if (via === null) return null;
  const branch = via.params.get('branch');
  if (typeof branch !== 'string' || !branch.startsWith(HERALD_BRANCH_PREFIX)) return null;
  const host = via.host.startsWith('[') ? via.host.slice(1, -1) : via.host;
  const ours = sentBy.address.startsWith('[') ? sentBy.address.slice(1, -1) : sentBy.address;
  return host.toLowerCase() === ours.toLowerCase() && via.port === sentBy.port ? branch : null;
}
