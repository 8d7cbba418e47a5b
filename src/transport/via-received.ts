/**
 * Stamps the top Via of a request with where it really came from: RFC 3261
 * §18.2.1 (`received` when the sent-by host is not the packet's source IP) and
 * RFC 3581 §4 (`rport` filled with the source port, and then `received` always).
 * Responses are later routed with these values (§18.2.2), which is what lets
 * them cross NATs and reach WebSocket clients whose sent-by is a `.invalid` name
 * (RFC 7118 §5.2).
 */
import { topViaOf } from '../sip/fields.js';
import { formatVia } from '../sip/via.js';
import { NO_PARAMS } from '../sip/grammar.js';
import type { SipMessage } from '../sip/message.js';

/** Removes the IPv4-mapped prefix that dual-stack sockets report (`::ffff:192.0.2.1`). */
export function normalizeIp(ip: string): string {
  return ip.length > 7 && ip.charCodeAt(0) === 0x3a && ip.startsWith('::ffff:') && ip.includes('.', 7)
    ? ip.slice(7)
    : ip;
}

/** Whether a Via host (maybe `[v6]`, maybe a domain name) names the source IP. */
function sameHost(viaHost: string, sourceIp: string): boolean {
  if (viaHost === sourceIp) return true;
  const h = viaHost.charCodeAt(0) === 0x5b ? viaHost.slice(1, -1) : viaHost;
  return h.toLowerCase() === sourceIp.toLowerCase();
}

/**
 * Rewrites the top Via value when something must be added; leaves the message
 * untouched otherwise (the common case of a UA that is not behind a NAT and
 * does not ask for rport costs one memoized Via parse and no allocation).
 * A request without a parsable Via is left alone: the core rejects it.
 */
export function stampVia(msg: SipMessage, sourceIp: string, sourcePort: number): void {
  const via = topViaOf(msg);
  if (via === null) return;
  // A Via without parameters shares the unchangeable NO_PARAMS: it gets its own map to be stamped.
  const params = via.params === NO_PARAMS ? (via.params = new Map()) : via.params;
  const hasRport = params.has('rport');
  let changed = false;
  if (hasRport) {
    const port = String(sourcePort);
    if (params.get('rport') !== port) {
      params.set('rport', port);
      changed = true;
    }
  }
  // RFC 3581 §4: with rport, received is added even when it equals sent-by.
  if ((hasRport || !sameHost(via.host, sourceIp)) && params.get('received') !== sourceIp) {
    params.set('received', sourceIp);
    changed = true;
  }
  if (!changed) return;
  // Replace only the first Via element; the others keep their text. The Via we
  // just edited is the parsed form of the new value: memoized again, not re-parsed.
  msg.headers.replaceFirst('Via', formatVia(via), 'via', via);
}
