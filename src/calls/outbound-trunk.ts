/**
 * `<Dial><Number>` through the account's outbound trunk (README
 * "Configuration", `trunks[].outbound`): the first trunk of the account
 * that has an `outbound` section carries its calls to the public network.
 */
import type { ConfigFile, OutboundTrunkConfig } from '../config/schema.js';
import { formatUri, parseUri } from '../sip/uri.js';

export interface OutboundTrunk {
  name: string;
  outbound: OutboundTrunkConfig;
}

/** The outbound trunk of each account that has one. */
export function outboundTrunks(trunks: ConfigFile['trunks']): Map<string, OutboundTrunk> {
  const byAccount = new Map<string, OutboundTrunk>();
  for (const t of trunks) {
    if (t.outbound !== undefined && !byAccount.has(t.account)) byAccount.set(t.account, { name: t.name, outbound: t.outbound });
  }
  return byAccount;
}

/**
 * The Request-URI for `number` at the carrier: the trunk's URI with the
 * number as its user and `user=phone` (RFC 3261 §19.1.1: the user part is a
 * telephone number), e.g. `sip:+15551234567@carrier.example:5060;transport=udp;user=phone`.
 * Null if the trunk URI does not parse (the config check prevents that).
 */
export function numberRequestUri(trunkUri: string, number: string): string | null {
  const u = parseUri(trunkUri);
  if (!u.ok || u.uri.kind !== 'sip') return null;
  const params = new Map(u.uri.params);
  params.set('user', 'phone');
  return formatUri({ ...u.uri, user: number, password: null, params });
}
