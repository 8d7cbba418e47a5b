/**
 * Where a response goes when it cannot simply use the request's connection
 * (RFC 3261 §18.2.2 with RFC 3581 §4): to the top Via's `received` address
 * (else its sent-by host), and for UDP to its `rport` port (else the sent-by
 * port, else the default). `maddr` is deliberately not honoured: it would let
 * any request aim our responses at a third party, and no UA we serve needs
 * multicast responses.
 */
import { detach } from '../core/strings.js';
import { topViaOf } from '../sip/fields.js';
import type { SipResponse } from '../sip/message.js';
import type { Address, Flow, Protocol } from './types.js';

/** Default ports (RFC 3261 §19.1.2; RFC 7118 has none, the HTTP ones are meaningless for SIP). */
export function defaultPort(protocol: Protocol): number {
  return protocol === 'tls' || protocol === 'wss' ? 5061 : 5060;
}

function unbracket(host: string): string {
  return host.charCodeAt(0) === 0x5b && host.endsWith(']') ? host.slice(1, -1) : host;
}

const PORT = /^[0-9]{1,5}$/;

/**
 * The target as an address of its own. A prepared response lingers with its
 * transaction (Timer J, 32 s over UDP), and the Via host or `received` it was
 * read from is a slice of the whole message text: the flow's own remote
 * address is shared when the response goes back where the request came from
 * (the usual case), any other address is copied.
 */
function ownTarget(address: string, port: number, flow: Flow): Address {
  const remote = flow.remote;
  return address === remote.address && port === remote.port ? remote : { address: detach(address), port };
}

/** The address:port a response to a request that came on `flow` is sent to, by its top Via. */
export function responseTarget(response: SipResponse, flow: Flow): Address {
  const via = topViaOf(response);
  // An unreadable Via: the request's source is the best we know.
  if (via === null) return flow.remote;
  const received = via.params.get('received');
  const address = unbracket(received !== undefined && received !== null && received !== '' ? received : via.host);
  if (flow.protocol === 'udp') {
    const rport = via.params.get('rport');
    if (rport !== undefined && rport !== null && PORT.test(rport)) {
      const port = Number(rport);
      if (port > 0 && port <= 65535) return ownTarget(address, port, flow);
    }
  }
  const port = via.port ?? defaultPort(flow.protocol);
  // Port 0 cannot be sent to (a hostile or broken Via): answer where the request came from.
  return port > 0 && port <= 65535 ? ownTarget(address, port, flow) : flow.remote;
}
