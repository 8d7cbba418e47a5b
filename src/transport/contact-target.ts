/**
 * Where to send a request for a registered or subscribed client: back over
 * the flow it came on while that is open (RFC 5626 §5.3; the only way to
 * reach a WebSocket client, whose Contact host is `.invalid`, RFC 7118 §5),
 * else to the address of its URI (RFC 3263 without DNS SRV: the host as
 * given, the transport from `transport=`, port 5060 / 5061 for sips).
 * Null when neither works.
 */
import { parseUri, socketHost, uriHost } from '../sip/uri.js';
import type { Protocol, SendTarget, Transport } from './types.js';

const BY_PARAM: Readonly<Record<string, Protocol>> = { udp: 'udp', tcp: 'tcp', tls: 'tls', ws: 'ws', wss: 'wss' };

export function contactTarget(transport: Pick<Transport, 'flow'>, flowId: string | null, uri: string): SendTarget | null {
  if (flowId !== null && transport.flow(flowId) !== null) return { flowId };
  const parsed = parseUri(uri);
  if (!parsed.ok || parsed.uri.kind !== 'sip') return null;
  const u = parsed.uri;
  if (/\.invalid\.?$/i.test(u.host)) return null;
  const param = u.params.get('transport');
  let protocol: Protocol | undefined = typeof param === 'string' ? BY_PARAM[param.toLowerCase()] : u.scheme === 'sips' ? 'tls' : 'udp';
  if (protocol === undefined) return null;
  if (u.scheme === 'sips' && protocol === 'tcp') protocol = 'tls';
  // A WebSocket client cannot be connected to: only its own connection reaches it.
  if (protocol === 'ws' || protocol === 'wss') return null;
  return { protocol, address: socketHost(u.host), port: u.port ?? (protocol === 'tls' ? 5061 : 5060) };
}

/**
 * Herald's Contact for a dialog or subscription over `protocol`: its own
 * listener address, so that requests inside the dialog come back to it.
 */
export function heraldContact(transport: Pick<Transport, 'viaSentBy'>, protocol: Protocol): string {
  const sentBy = transport.viaSentBy(protocol);
  return `<sip:herald@${uriHost(sentBy.address)}:${sentBy.port};transport=${protocol}>`;
}
