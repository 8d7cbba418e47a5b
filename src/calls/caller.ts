/**
 * Who is calling (CONTRACT §5.1), decided before anything else happens:
 *
 *   - a trunk: the source address is in a trunk's `from` list and the
 *     Request-URI's user is a number of the trunk's account → that number's
 *     application; another number → 404; an unknown source that is not a
 *     client either → 403;
 *   - a client: `Authorization: Bearer <token>` with an outgoing grant →
 *     the grant's application, `From=client:<identity>` and the grant's params.
 *
 * Anything else is asked for credentials (401 with the Bearer challenge).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { findBearer } from '../auth/bearer.js';
import { parseAuthorization } from '../auth/digest.js';
import { verifyAccessToken } from '../auth/verify-token.js';
import type { AccountConfig, ApplicationConfig, ConfigFile } from '../config/schema.js';
import type { CallerParty } from '../instructions/index.js';
import { fromOf } from '../sip/fields.js';
import type { SipRequest } from '../sip/message.js';
import { decodeUser, formatUri, parseUri } from '../sip/uri.js';

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

export type CallerVerdict = { ok: true; call: IdentifiedCall } | { ok: false; status: 401 | 403 | 404; reason: string };

interface TrunkMatcher {
  name: string;
  account: AccountConfig;
  sources: BlockList;
}

export class CallerIdentifier {
  private readonly trunks: TrunkMatcher[];
  private readonly now: () => number;

  constructor(
    private readonly config: Pick<ConfigFile, 'accounts' | 'trunks'>,
    now: () => number = Date.now,
  ) {
    this.now = now;
    const accounts = new Map(config.accounts.map((a) => [a.sid, a]));
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

  identify(request: SipRequest, sourceAddress: string): CallerVerdict {
    const bearer = findBearer(request.headers.getAll('authorization').map((v) => parseAuthorization(v)));
    if (bearer !== null) return this.client(request, bearer);

    const family = isIPv6(sourceAddress) ? 'ipv6' : 'ipv4';
    const trunk = this.trunks.find((t) => t.sources.check(sourceAddress, family));
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
    const ruri = parseUri(request.uri);
    const to = ruri.ok && ruri.uri.kind === 'sip' ? (decodeUser(ruri.uri) ?? '') : ruri.ok && ruri.uri.kind === 'tel' ? ruri.uri.number : '';
    return {
      ok: true,
      call: {
        account,
        application,
        caller: { type: 'client', identity: token.identity, params: token.outgoingParams },
        to,
        fromUser: token.identity,
        clientIdentity: token.identity,
      },
    };
  }
}

/** Numbers compare by digits, with or without the leading +. */
function sameNumber(configured: string, dialed: string): boolean {
  const digits = (s: string) => s.replace(/^\+/, '');
  return digits(configured) === digits(dialed.replace(/[-.()\s]/g, ''));
}
