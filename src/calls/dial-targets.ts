/**
 * What a `<Dial>` rings (CONTRACT §5.4, §5.5): for `<Client>` the devices of
 * the client by its presence — offline: nothing (no-answer), dnd: nothing but
 * it counts as busy, otherwise every binding; `<Sip>sip:user@<sipDomain>`
 * the registered devices of that user, like Twilio's SIP Domains; another
 * SIP URI is dialed as it is (with Digest if the noun has username and
 * password); `<Number>` goes to the account's outbound trunk
 * (outbound-trunk.ts) — without one it cannot be dialed, which the dial
 * reports as `failed` if nothing else rings.
 *
 * The From user of a leg is the `<Dial>`'s callerId, else (for a number)
 * the trunk's callerId, else the caller.
 */
import type { AccountConfig } from '../config/schema.js';
import type { DialVerb } from '../instructions/index.js';
import { readPresence } from '../presence/snapshot.js';
import type { Binding } from '../store/binding-store.js';
import { contactTarget } from '../transport/contact-target.js';
import { parseUri, uriHost } from '../sip/uri.js';
import type { Protocol } from '../transport/types.js';
import type { ClientCredentials } from '../auth/digest-client.js';
import type { CallServices } from './call-services.js';
import { numberRequestUri } from './outbound-trunk.js';
import type { OutboundLegOptions } from './outbound-leg.js';

export interface DialTargets {
  legs: Array<Omit<OutboundLegOptions, 'events'>>;
  /** Clients that are dnd: busy without ringing. */
  busy: number;
  /** Nouns that could not be dialed at all (a number without an outbound trunk, an unreachable URI). */
  unreachable: number;
}

export async function dialTargets(
  s: CallServices,
  account: AccountConfig,
  verb: DialVerb,
  o: { callerUser: string; body: { type: string; bytes: Buffer } | undefined },
): Promise<DialTargets> {
  const legs: DialTargets['legs'] = [];
  let busy = 0;
  let unreachable = 0;
  const host = uriHost(s.publicHost);
  const fromUser = (user: string): string => `<sip:${encodeUser(user)}@${host}>`;
  const from = fromUser(verb.callerId ?? o.callerUser);
  const ringClient = async (identity: string, toHost: string): Promise<void> => {
    const p = await readPresence(s.presence, account.sid, identity, s.now());
    if (p.status === 'offline') return;
    if (p.status === 'dnd') {
      busy += 1;
      return;
    }
    for (const b of p.bindings) {
      const leg = await legFor(s, b, from, `<sip:${encodeUser(identity)}@${toHost}>`, o.body, `client:${identity}`);
      if (leg !== null) legs.push(leg);
    }
  };
  for (const noun of verb.nouns) {
    if (noun.kind === 'client') {
      await ringClient(noun.identity, host);
    } else if (noun.kind === 'sip') {
      const u = parseUri(noun.uri);
      if (!u.ok || u.uri.kind !== 'sip') continue;
      const domain = account.sipDomain?.toLowerCase();
      if (domain !== undefined && u.uri.host.toLowerCase() === domain && u.uri.user !== null) {
        await ringClient(decodeURIComponent(u.uri.user), u.uri.host);
        continue;
      }
      const credentials = noun.username !== undefined && noun.password !== undefined ? { username: noun.username, password: noun.password } : undefined;
      const leg = uriLeg(s, noun.uri, from, o.body, noun.uri, credentials);
      if (leg === null) unreachable += 1;
      else legs.push(leg);
    } else {
      const trunk = s.outboundTrunk(account.sid);
      const requestUri = trunk === null ? null : numberRequestUri(trunk.outbound.uri, noun.number);
      if (trunk === null || requestUri === null) {
        s.log.warn({ number: noun.number, account: account.sid }, '<Number> not dialed: the account has no outbound trunk (trunks[].outbound)');
        unreachable += 1;
        continue;
      }
      const { username, password, callerId } = trunk.outbound;
      const credentials = username !== undefined && password !== undefined ? { username, password } : undefined;
      const leg = uriLeg(s, requestUri, fromUser(verb.callerId ?? callerId ?? o.callerUser), o.body, noun.number, credentials);
      if (leg === null) {
        s.log.warn({ number: noun.number, trunk: trunk.name }, '<Number> not dialed: the trunk address cannot be reached');
        unreachable += 1;
      } else legs.push(leg);
    }
  }
  return { legs, busy, unreachable };
}

/** A leg to a SIP URI dialed as it is (a `<Sip>` outside the sipDomain, a number at the carrier); null when it has no address to send to. */
function uriLeg(
  s: CallServices,
  uri: string,
  from: string,
  body: { type: string; bytes: Buffer } | undefined,
  label: string,
  credentials: ClientCredentials | undefined,
): Omit<OutboundLegOptions, 'events'> | null {
  const target = contactTarget(s.transport, null, uri);
  if (target === null) return null;
  return {
    transactions: s.transactions,
    transport: s.transport,
    target,
    requestUri: uri,
    from,
    to: `<${uri}>`,
    contact: s.contactFor('protocol' in target ? target.protocol : 'udp'),
    ...(body !== undefined ? { body } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
    label,
  };
}

/**
 * The leg to one device: over its connection when this node holds it; else
 * through the node that does (cluster relay: that node's relay route first,
 * then the binding's Path), or, when that node is not announced, at its
 * contact address if it has one.
 */
async function legFor(
  s: CallServices,
  b: Binding,
  from: string,
  to: string,
  body: { type: string; bytes: Buffer } | undefined,
  label: string,
): Promise<Omit<OutboundLegOptions, 'events'> | null> {
  const hop = b.node === s.nodeId ? null : await s.relayTo(b);
  const target = hop?.target ?? contactTarget(s.transport, b.node === s.nodeId ? b.flowId : null, b.contactUri);
  if (target === null) {
    s.log.info({ contact: b.contactUri, node: b.node }, 'device not reachable from this node: not rung');
    return null;
  }
  const protocol: Protocol = 'protocol' in target ? target.protocol : (s.transport.flow(target.flowId)?.protocol ?? b.transport);
  return {
    transactions: s.transactions,
    transport: s.transport,
    target,
    requestUri: b.contactUri,
    from,
    to,
    contact: s.contactFor(protocol),
    route: hop === null ? b.path : [hop.route, ...b.path],
    ...(body !== undefined ? { body } : {}),
    label,
  };
}

/** A user part as a SIP URI writes it (RFC 3261 §25.1 user-unreserved). */
function encodeUser(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) => encodeURIComponent(c));
}
