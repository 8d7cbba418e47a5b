/**
 * Who is calling (CONTRACT §5.1), decided before anything else happens,
 * in this order:
 *
 *   - a client with a token: `Authorization: Bearer <token>` with an
 *     outgoing grant → the grant's application, `From=client:<identity>`
 *     and the grant's params;
 *   - a Digest user (a From in an account's sipDomain): over the flow one of
 *     its bindings was registered on, on this node, it is that user without
 *     more ado ("its registered connection"); otherwise it answers a Digest
 *     challenge as for REGISTER (401). Its credential's `outgoingApplication`
 *     handles the call (none: 403). Checked before trunks, so a softphone
 *     behind a trunk's address is still itself (there, only names of real
 *     users count: a carrier may write the domain in its From);
 *   - a trunk: the source address is in a trunk's `from` list and the
 *     Request-URI's user is a number of the trunk's account → that number's
 *     application; another number → 404.
 *
 * Anything else is asked for credentials (401 with the Bearer challenge).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { findBearer } from '../auth/bearer.js';
import { parseAuthorization } from '../auth/digest.js';
import { verifyAccessToken } from '../auth/verify-token.js';
import type { AccountConfig, ApplicationConfig, ConfigFile } from '../config/schema.js';
import type { CallerParty } from '../instructions/index.js';
import type { Authorize } from '../presence/publish.js';
import { fromOf } from '../sip/fields.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { decodeUser, formatUri, parseUri } from '../sip/uri.js';
import type { BindingStore } from '../store/binding-store.js';
import type { Flow } from '../transport/types.js';

export interface IdentifiedCall {
  account: AccountConfig;
  application: ApplicationConfig;
  caller: CallerParty;
  /** What the application sees as `To`/`Called`. */
  to: string;
  /** The caller as a SIP user part, for the From of dialed legs when the Dial has no callerId. */
  fromUser: string;
  /** A client caller's identity (busy while in the call), else null. */
  clientIdentity: string | null;
}

/** A refusal; `response`, when set, is sent as it is (a Digest challenge). */
export type CallerVerdict = { ok: true; call: IdentifiedCall } | { ok: false; status: 401 | 403 | 404; reason: string; response?: SipResponse };

export interface DigestCallers {
  bindings: Pick<BindingStore, 'list'>;
  nodeId: string;
  /** The registrar's check (Digest for sipDomain users). */
  authorize: Authorize;
}

/** Source addresses remembered before the cache starts over; bounds memory under address-spraying traffic. */
const MAX_CACHED_SOURCES = 4096;

interface TrunkMatcher {
  name: string;
  account: AccountConfig;
  sources: BlockList;
}

export class CallerIdentifier {
  private readonly trunks: TrunkMatcher[];
  /** Source address → its trunk (null: none), so the CIDR lists are walked once per address. */
  private readonly trunkBySource = new Map<string, TrunkMatcher | null>();
  private readonly now: () => number;

  /** sipDomain (lower case) → its account. */
  private readonly domains: Map<string, AccountConfig>;

  constructor(
    private readonly config: Pick<ConfigFile, 'accounts' | 'trunks'>,
    private readonly digest: DigestCallers | null = null,
    now: () => number = Date.now,
  ) {
    this.now = now;
    const accounts = new Map(config.accounts.map((a) => [a.sid, a]));
    this.domains = new Map(config.accounts.filter((a) => a.sipDomain !== undefined && a.credentials.length > 0).map((a) => [(a.sipDomain as string).toLowerCase(), a]));
    this.trunks = config.trunks.flatMap((t) => {
      const account = accounts.get(t.account);
      if (account === undefined) return [];
      const sources = new BlockList();
      for (const cidr of t.from) {
        const [address, bits] = cidr.split('/') as [string, string | undefined];
        const family = isIPv6(address) ? 'ipv6' : 'ipv4';
        if (!isIPv4(address) && !isIPv6(address)) continue;
        if (bits === undefined) sources.addAddress(address, family);
        else sources.addSubnet(address, Number(bits), family);
      }
      return [{ name: t.name, account, sources }];
    });
  }

  async identify(request: SipRequest, flow: Flow): Promise<CallerVerdict> {
    const bearer = findBearer(request.headers.getAll('authorization').map((v) => parseAuthorization(v)));
    if (bearer !== null) return this.client(request, bearer);
    const from = fromOf(request);
    const account = from !== null && from.uri.kind === 'sip' ? this.domains.get(from.uri.host.toLowerCase()) : undefined;
    const user = from !== null && from.uri.kind === 'sip' ? (decodeUser(from.uri) ?? '') : '';
    const trunk = this.trunkAt(flow.remote.address);
    // From a trunk's address only a real user of the domain is one (a carrier may well write the domain);
    // from anywhere else every name is challenged alike, so that the answer tells no user names.
    if (account !== undefined && this.digest !== null && (trunk === undefined || account.credentials.some((c) => c.username === user))) {
      return this.digestUser(request, flow, account, user, this.digest);
    }
    return this.trunk(request, trunk);
  }

  private trunkAt(sourceAddress: string): TrunkMatcher | undefined {
    // BlockList.check builds a SocketAddress per trunk per INVITE; a carrier sends from a few addresses.
    const known = this.trunkBySource.get(sourceAddress);
    if (known !== undefined) return known ?? undefined;
    const family = isIPv6(sourceAddress) ? 'ipv6' : 'ipv4';
    const trunk = this.trunks.find((t) => t.sources.check(sourceAddress, family));
    if (this.trunkBySource.size >= MAX_CACHED_SOURCES) this.trunkBySource.clear();
    this.trunkBySource.set(sourceAddress, trunk ?? null);
    return trunk;
  }

  private trunk(request: SipRequest, trunk: TrunkMatcher | undefined): CallerVerdict {
    if (trunk === undefined) return { ok: false, status: 401, reason: 'no credentials and not a trunk address' };
    const ruri = parseUri(request.uri);
    const dialed = ruri.ok && ruri.uri.kind === 'sip' ? decodeUser(ruri.uri) : ruri.ok && ruri.uri.kind === 'tel' ? ruri.uri.number : null;
    if (dialed === null) return { ok: false, status: 404, reason: 'no number in the Request-URI' };
    const number = trunk.account.numbers.find((n) => sameNumber(n.number, dialed));
    if (number === undefined) return { ok: false, status: 404, reason: `number ${dialed} is not configured` };
    const application = trunk.account.applications.find((a) => a.sid === number.application) as ApplicationConfig;
    const from = fromOf(request);
    const fromUser = from !== null && from.uri.kind === 'sip' ? (decodeUser(from.uri) ?? 'anonymous') : from?.uri.kind === 'tel' ? from.uri.number : 'anonymous';
    const address = from === null ? 'anonymous' : from.uri.kind === 'sip' && /^\+?[0-9]+$/.test(fromUser) ? fromUser : formatUri(from.uri);
    return {
      ok: true,
      call: { account: trunk.account, application, caller: { type: 'address', address }, to: number.number, fromUser, clientIdentity: null },
    };
  }

  private client(request: SipRequest, bearer: string): CallerVerdict {
    const verdict = verifyAccessToken(bearer, this.config.accounts, { now: Math.floor(this.now() / 1000) });
    if (!verdict.ok) return { ok: false, status: 401, reason: `invalid token: ${verdict.reason}` };
    const token = verdict.token;
    if (token.outgoingApplicationSid === null) return { ok: false, status: 403, reason: 'token has no outgoing grant' };
    const account = this.config.accounts.find((a) => a.sid === token.accountSid) as AccountConfig;
    const application = account.applications.find((a) => a.sid === token.outgoingApplicationSid);
    if (application === undefined) return { ok: false, status: 403, reason: `no application ${token.outgoingApplicationSid}` };
    return { ok: true, call: clientCall(account, application, token.identity, token.outgoingParams, dialedUser(request)) };
  }

  /** A sipDomain user: its registered flow, or Digest credentials; its credential names the application. */
  private async digestUser(request: SipRequest, flow: Flow, account: AccountConfig, user: string, d: DigestCallers): Promise<CallerVerdict> {
    const bindings = await d.bindings.list(account.sid, user, this.now());
    const onFlow = bindings.some((b) => b.node === d.nodeId && b.flowId === flow.id);
    if (!onFlow) {
      const auth = await d.authorize(request, user, (account.sipDomain as string).toLowerCase(), flow.remote.address, flow.local);
      if (!auth.ok) return { ok: false, status: 401, reason: 'Digest credentials needed (not over a registered connection)', response: auth.response };
    }
    const credential = account.credentials.find((c) => c.username === user);
    const appSid = credential?.outgoingApplication;
    if (appSid === undefined) return { ok: false, status: 403, reason: `user ${user} has no outgoingApplication` };
    const application = account.applications.find((a) => a.sid === appSid) as ApplicationConfig;
    return { ok: true, call: clientCall(account, application, user, {}, dialedUser(request)) };
  }
}

function clientCall(account: AccountConfig, application: ApplicationConfig, identity: string, params: Readonly<Record<string, string>>, to: string): IdentifiedCall {
  return { account, application, caller: { type: 'client', identity, params }, to, fromUser: identity, clientIdentity: identity };
}

/** The user part of the Request-URI (or a tel number): what the application sees as `To`. */
function dialedUser(request: SipRequest): string {
  const ruri = parseUri(request.uri);
  return ruri.ok && ruri.uri.kind === 'sip' ? (decodeUser(ruri.uri) ?? '') : ruri.ok && ruri.uri.kind === 'tel' ? ruri.uri.number : '';
}

/** Numbers compare by digits, with or without the leading +. */
function sameNumber(configured: string, dialed: string): boolean {
  const digits = (s: string) => s.replace(/^\+/, '');
  return digits(configured) === digits(dialed.replace(/[-.()\s]/g, ''));
}
