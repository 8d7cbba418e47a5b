/**
 * The Route by which one node reaches a device whose connection another
 * node holds (DESIGN "Cluster routing"; like an RFC 3327 Path entry
 * carrying an RFC 5626 flow token): a loose route (`;lr`) to the holding
 * node's SIP listener with one parameter naming the node, the account and
 * the flow, signed so that only a cluster node can ask a node to relay into
 * one of its connections:
 *
 *   <sip:10.0.0.2:5060;transport=udp;lr;herald-relay=<node>.<account>.<flow>.<mac>>
 *
 * (each part base64url; mac = HMAC-SHA256 keyed with the account's auth
 * token, which every node of the cluster has from the same config).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { nameAddrUri } from '../sip/name-addr.js';
import { parseUri, uriHost } from '../sip/uri.js';
import type { NodeAddress } from '../store/node-registry.js';

const PARAM = 'herald-relay';

export interface RelayTarget {
  node: string;
  accountSid: string;
  flowId: string;
}

/** The auth token of an account (the relay's signing key), or null for an unknown account. */
export type RelayKeys = (accountSid: string) => string | null;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
const unb64 = (s: string): string => Buffer.from(s, 'base64url').toString('utf8');

function mac(key: string, t: RelayTarget): Buffer {
  return createHmac('sha256', key).update(`herald-relay\0${t.node}\0${t.accountSid}\0${t.flowId}`).digest().subarray(0, 16);
}

/** The route URI (without angle brackets) to `t` through the node at `address`; null for an unknown account. */
export function relayRouteUri(address: NodeAddress['sip'], t: RelayTarget, keys: RelayKeys): string | null {
  const key = keys(t.accountSid);
  if (key === null) return null;
  const token = [b64(t.node), b64(t.accountSid), b64(t.flowId), mac(key, t).toString('base64url')].join('.');
  return `sip:${uriHost(address.host)}:${address.port};transport=${address.protocol};lr;${PARAM}=${token}`;
}

export type RelayRouteReading = { kind: 'none' } | { kind: 'invalid'; reason: string } | { kind: 'relay'; target: RelayTarget };

/** Reads a Route header value: not a relay route (`none`), one that does not verify (`invalid`), or its target. */
export function readRelayRoute(routeValue: string, keys: RelayKeys): RelayRouteReading {
  const uri = nameAddrUri(routeValue);
  const parsed = uri === null ? null : parseUri(uri);
  if (parsed === null || !parsed.ok || parsed.uri.kind !== 'sip') return { kind: 'none' };
  const token = parsed.uri.params.get(PARAM);
  if (token === undefined) return { kind: 'none' };
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 4) return { kind: 'invalid', reason: 'malformed relay token' };
  const [node, accountSid, flowId, given] = parts as [string, string, string, string];
  const target = { node: unb64(node), accountSid: unb64(accountSid), flowId: unb64(flowId) };
  const key = keys(target.accountSid);
  if (key === null) return { kind: 'invalid', reason: 'unknown account' };
  const expected = mac(key, target);
  const got = Buffer.from(given, 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) return { kind: 'invalid', reason: 'bad relay signature' };
  return { kind: 'relay', target };
}
