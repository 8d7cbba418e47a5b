/**
 * What a `<Dial>` rings (CONTRACT §5.4, §5.5): for `<Client>` the devices of
 * the client by its presence — offline: nothing (no-answer), dnd: nothing but
 * it counts as busy, otherwise every binding; `<Sip>sip:user@<sipDomain>`
 * the registered devices of that user, like Twilio's SIP Domains; another
 * SIP URI is dialed as it is. `<Number>` needs an outbound trunk, which this
 * version has no configuration for: it is not rung (the dial fails if
 * nothing else is).
 */
import type { AccountConfig } from '../config/schema.js';
import type { DialVerb } from '../instructions/index.js';
import { readPresence } from '../presence/snapshot.js';
import type { Binding } from '../store/binding-store.js';
import { contactTarget } from '../transport/contact-target.js';
import { parseUri, uriHost } from '../sip/uri.js';
import type { Protocol } from '../transport/types.js';
import type { CallServices } from './call-services.js';
import type { OutboundLegOptions } from './outbound-leg.js';

export interface DialTargets {
  legs: Array<Omit<OutboundLegOptions, 'events'>>;
  /** Clients that are dnd: busy without ringing. */
  busy: number;
}

export async function dialTargets(
  s: CallServices,
  account: AccountConfig,
  verb: DialVerb,
  o: { fromUser: string; body: { type: string; bytes: Buffer } | undefined },
): Promise<DialTargets> {
  const legs: DialTargets['legs'] = [];
  let busy = 0;
  const host = uriHost(s.publicHost);
  const from = `<sip:${encodeUser(o.fromUser)}@${host}>`;
  const ringClient = async (identity: string, toHost: string): Promise<void> => {
    const p = await readPresence(s.presence, account.sid, identity, s.now());
    if (p.status === 'offline') return;
    if (p.status === 'dnd') {
      busy += 1;
      return;
    }
    for (const b of p.bindings) {
      const leg = legFor(s, b, from, `<sip:${encodeUser(identity)}@${toHost}>`, o.body, `client:${identity}`);
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
      const target = contactTarget(s.transport, null, noun.uri);
      if (target === null) continue;
      legs.push({
        transactions: s.transactions,
        transport: s.transport,
        target,
        requestUri: noun.uri,
        from,
        to: `<${noun.uri}>`,
        contact: s.contactFor('protocol' in target ? target.protocol : 'udp'),
        ...(o.body !== undefined ? { body: o.body } : {}),
        label: noun.uri,
      });
    } else {
      s.log.warn({ number: noun.number }, '<Number> needs an outbound trunk; none is configured: not dialed');
    }
  }
  return { legs, busy };
}

function legFor(
  s: CallServices,
  b: Binding,
  from: string,
  to: string,
  body: { type: string; bytes: Buffer } | undefined,
  label: string,
): Omit<OutboundLegOptions, 'events'> | null {
  // A binding held by another node is reachable here only at its contact address (not over its connection).
  const target = contactTarget(s.transport, b.node === s.nodeId ? b.flowId : null, b.contactUri);
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
    route: b.path,
    ...(body !== undefined ? { body } : {}),
    label,
  };
}

/** A user part as a SIP URI writes it (RFC 3261 §25.1 user-unreserved). */
function encodeUser(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) => encodeURIComponent(c));
}
