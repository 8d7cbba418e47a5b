/**
 * Whether a leg's transport learns the peer's media address from the first
 * packet it receives (mediasoup's `comedia`, symmetric RTP, RFC 4961) instead
 * of sending to the address the peer wrote in its SDP.
 *
 * The decision: comedia when the address the peer advertises cannot be the
 * one its packets will come from — a private, shared (CGNAT), link-local or
 * unspecified address, or a host name, that differs from the address its SIP
 * came from: the peer is behind a NAT and only the NAT's mapping, seen on
 * the first packet, reaches it. Otherwise Herald sends to the advertised
 * address straight away: a public address is reachable as written (a trunk's
 * media gateway is often another host than its SIP server), and a peer whose
 * SIP comes from the address it advertises has no NAT in between. Sending at
 * once matters: a peer that only answers media (an echo, an IVR waiting for
 * audio) would otherwise never hear anything, and with comedia Herald cannot
 * send until the peer has.
 *
 * The cost of comedia is that the first packet from anyone reaching the port
 * takes the stream; ports are random within HERALD_RTP_PORTS and live only as
 * long as the call, which is the usual trade-off of SBCs (Kamailio's
 * rtpengine, Asterisk's `rtp_symmetric`).
 */
import { isIP } from 'node:net';

export function needsComedia(advertised: string, observed: string | null): boolean {
  const family = isIP(advertised);
  if (family === 0) return true;
  if (isUnspecified(advertised)) return true;
  if (observed !== null && sameAddress(advertised, observed)) return false;
  return family === 4 ? isPrivateV4(advertised) : isPrivateV6(advertised);
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || /^[0:]+$/.test(ip);
}

function sameAddress(a: string, b: string): boolean {
  const strip = (s: string) => s.toLowerCase().replace(/^::ffff:/, '');
  return strip(a) === strip(b);
}

function isPrivateV4(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) || // RFC 6598 shared address space (carrier-grade NAT)
    (a === 169 && b === 254)
  );
}

function isPrivateV6(ip: string): boolean {
  const first = parseInt(ip.split(':')[0] || '0', 16);
  // fc00::/7 unique local, fe80::/10 link-local.
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
}
