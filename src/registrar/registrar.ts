/**
 * REGISTER → bindings (RFC 3261 §10.3, RFC 5626 §6, RFC 7118). Registration
 * is presence: an authorized binding makes its client present. This slice
 * authorizes with access tokens (RFC 8898 Bearer); Digest for softphones
 * plugs in at `authorize`.
 */
import type { AccountConfig } from '../config/schema.js';
import type { Log } from '../log.js';
import { callIdOf, contactsOf, cseqOf, toOf } from '../sip/fields.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { createResponse } from '../sip/response.js';
import { decodeUser, formatUri, parseUri, socketHost } from '../sip/uri.js';
import { formatParams } from '../sip/grammar.js';
import type { Binding, BindingStore } from '../store/binding-store.js';
import type { Address } from '../transport/types.js';
import type { ServerTransaction } from '../transaction/types.js';
import { createHmac } from 'node:crypto';
import { AuthThrottle, DigestAuthenticator, parseAuthorization, sameResource, type SharedNonceCounter } from '../auth/digest.js';
import { verifyAccessToken } from '../auth/verify-token.js';
import { BEARER_CHALLENGE, BEARER_REALM, findBearer } from '../auth/bearer.js';

export interface RegistrarOptions {
  accounts: readonly AccountConfig[];
  store: BindingStore;
  nodeId: string;
  log: Log;
  /** Shortest registration accepted (423 below it), seconds. */
  minExpires?: number;
  /** Longest registration granted, seconds. */
  maxExpires?: number;
  /** Granted when the client asks for nothing, seconds. */
  defaultExpires?: number;
  now?: () => number;
  /**
   * Key for Digest nonces; nodes sharing it accept each other's nonces.
   * Default: derived from each account's auth token, so every node of a
   * cluster (same config) accepts the nonces of the others.
   */
  digestSecret?: Buffer;
  /** Nonce-counts shared by the nodes of a cluster (Redis); default: this process's memory. */
  nonceCounter?: SharedNonceCounter;
  /** User-Agents that get only the MD5 challenge (they fail on a 401 offering more). */
  md5OnlyUserAgents?: readonly RegExp[];
  /**
   * A client's set of bindings changed (one added or removed; a refresh is no
   * change): its presence may have (registration is presence, CONTRACT §4).
   */
  changed?: (accountSid: string, identity: string) => void;
}

/** Who a REGISTER (or PUBLISH) proved to be. */
export interface Authorized {
  accountSid: string;
  identity: string;
  /** The access token's expiry (unix s); null for Digest users, whose bindings are capped by maxExpires only. */
  expiresAt: number | null;
}

/** A sipDomain with Digest users (CONTRACT §2 `credentials`). */
interface DigestDomain {
  accountSid: string;
  authenticator: DigestAuthenticator;
  passwords: Map<string, string>;
}

export { BEARER_REALM };

interface ContactRequest {
  key: string;
  contactUri: string;
  contactParams: string;
  instanceId: string | null;
  regId: number | null;
  expires: number;
}

export class Registrar {
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly defaultExpires: number;
  private readonly now: () => number;
  private readonly digestDomains = new Map<string, DigestDomain>();
  /** Failed Digest attempts per source address and per user name (CONTRACT §4: throttled). */
  private readonly throttle: AuthThrottle;

  constructor(private readonly o: RegistrarOptions) {
    this.minExpires = o.minExpires ?? 60;
    this.maxExpires = o.maxExpires ?? 3600;
    this.defaultExpires = o.defaultExpires ?? 600;
    this.now = o.now ?? Date.now;
    this.throttle = new AuthThrottle({ now: this.now });
    for (const a of o.accounts) {
      if (a.sipDomain === undefined || a.credentials.length === 0) continue;
      const secret = o.digestSecret ?? createHmac('sha256', a.authToken).update(`herald-digest-nonce\0${a.sipDomain.toLowerCase()}`).digest();
      this.digestDomains.set(a.sipDomain.toLowerCase(), {
        accountSid: a.sid,
        // The secret survives restarts; nonces issued before this process started are not tracked
        // here (they may have been used already) and get a stale answer (digest-nonce.ts).
        authenticator: new DigestAuthenticator({ realm: a.sipDomain, secret, now: this.now }),
        passwords: new Map(a.credentials.map((c) => [c.username, c.password])),
      });
    }
  }

  /** The router's REGISTER handler. */
  readonly handle = (request: SipRequest, txn: ServerTransaction): void => {
    this.register(request, txn).catch((err: unknown) => {
      this.o.log.error({ err, callId: request.headers.get('call-id') }, 'REGISTER failed');
      txn.respond(createResponse(request, 500));
    });
  };

  /** A connection closed: its bindings go at once (RFC 5626 §5; CONTRACT §4). */
  async flowClosed(flowId: string): Promise<Binding[]> {
    return this.o.store.removeByFlow(this.o.nodeId, flowId);
  }

  async sweep(): Promise<Binding[]> {
    return this.o.store.sweep(this.now());
  }

  private async register(request: SipRequest, txn: ServerTransaction): Promise<void> {
    const to = toOf(request);
    const aor = to?.uri;
    if (aor === undefined || aor.kind !== 'sip' || aor.user === null) {
      return txn.respond(createResponse(request, 404, 'Not Found (AOR must be sip:identity@host)'));
    }
    const identity = decodeUser(aor);
    if (identity === null || identity === '') return txn.respond(createResponse(request, 404));

    const auth = await this.authorize(request, identity, aor.host.toLowerCase(), txn.flow.remote.address, txn.flow.local);
    if (!auth.ok) return txn.respond(auth.response);
    const who = auth.who;
    const account = this.o.accounts.find((a) => a.sid === who.accountSid);
    if (account === undefined) return txn.respond(createResponse(request, 403, 'Forbidden (unknown account)'));

    const parsed = this.parseContacts(request);
    if (!parsed.ok) return txn.respond(parsed.response);
    const store = this.o.store;
    const now = this.now();
    const callId = callIdOf(request) as string;
    const cseq = (cseqOf(request) as { seq: number }).seq;

    if (parsed.wildcard) {
      // §10.3 step 6: "Contact: *" with Expires 0 removes every binding of the AOR.
      const removed = await store.removeAll(account.sid, identity);
      if (removed > 0) this.o.changed?.(account.sid, identity);
      return txn.respond(this.ok(request, []));
    }
    const existing = await store.list(account.sid, identity, now);
    const byKey = new Map(existing.map((b) => [b.key, b]));
    // Never past the token's expiry (CONTRACT §4).
    const tokenLeft = who.expiresAt === null ? this.maxExpires : Math.max(0, Math.floor(who.expiresAt - now / 1000));
    for (const c of parsed.contacts) {
      if (c.expires !== 0 && c.expires < this.minExpires) {
        const res = createResponse(request, 423);
        res.headers.set('Min-Expires', String(this.minExpires));
        return txn.respond(res);
      }
      const old = byKey.get(c.key);
      // §10.3 step 7: the same Call-ID with a CSeq not higher is out of order; the update is aborted.
      if (old !== undefined && old.callId === callId && cseq <= old.cseq) {
        return txn.respond(createResponse(request, 500, 'Server Internal Error (out-of-order REGISTER)'));
      }
    }
    const adding = parsed.contacts.filter((c) => c.expires !== 0 && !byKey.has(c.key)).length;
    const removing = parsed.contacts.filter((c) => c.expires === 0 && byKey.has(c.key)).length;
    const limit = account.limits.devicesPerClient;
    if (adding > 0 && existing.length - removing + adding > limit) {
      return txn.respond(createResponse(request, 403, `Forbidden (at most ${limit} devices per client)`));
    }
    let written = 0;
    for (const c of parsed.contacts) {
      if (c.expires === 0) {
        await store.remove(account.sid, identity, c.key);
        continue;
      }
      const granted = Math.min(c.expires, this.maxExpires, tokenLeft);
      if (granted <= 0) continue;
      // The checks above read the store; the write repeats them atomically, so a REGISTER
      // of the same AOR that wrote in between (here or on another node) is not overrun.
      const outcome = await store.put(
        {
          accountSid: account.sid,
          identity,
          key: c.key,
          contactUri: c.contactUri,
          contactParams: c.contactParams,
          instanceId: c.instanceId,
          regId: c.regId,
          callId,
          cseq,
          expiresAt: now + granted * 1000,
          flowId: txn.flow.id,
          transport: txn.flow.protocol,
          source: txn.flow.remote,
          userAgent: request.headers.get('user-agent') ?? null,
          path: request.headers.list('path') ?? [],
          node: this.o.nodeId,
        },
        { maxBindings: limit, now },
      );
      if (outcome !== 'stored') {
        // Lost a race: contacts of this request written before this one stay, and may change presence.
        if (written > 0) this.o.changed?.(account.sid, identity);
        if (outcome === 'stale') return txn.respond(createResponse(request, 500, 'Server Internal Error (out-of-order REGISTER)'));
        return txn.respond(createResponse(request, 403, `Forbidden (at most ${limit} devices per client)`));
      }
      written += 1;
    }
    const current = await store.list(account.sid, identity, this.now());
    txn.respond(this.ok(request, current));
    if (current.length !== existing.length || current.some((b) => !byKey.has(b.key))) this.o.changed?.(account.sid, identity);
  }

  /**
   * RFC 8898 Bearer (an access token) for any AOR; RFC 3261 §22 Digest for
   * an AOR in a sipDomain that has credentials. Without usable credentials
   * the 401 carries the Digest challenges first (MD5, then SHA-256: many UAs
   * read only the first) and the Bearer one last (CONTRACT §4).
   * Public so that other handlers acting for a client (PUBLISH) authorize the
   * same way: `identity`/`host` are the user and host of the client's AOR.
   */
  async authorize(
    request: SipRequest,
    identity: string,
    host: string,
    source: string,
    local?: Address,
  ): Promise<{ ok: true; who: Authorized } | { ok: false; response: SipResponse }> {
    const credentials = request.headers.getAll('authorization').map((v) => parseAuthorization(v));
    const bearer = findBearer(credentials);
    const domain = this.digestDomains.get(host);
    if (bearer !== null) return this.authorizeBearer(request, identity, bearer);
    if (domain === undefined) return { ok: false, response: this.challenge(request, null, false) };

    const ipKey = `ip:${source}`;
    const userKey = `user:${host}:${identity}`;
    if (this.throttle.isBlocked(ipKey) || this.throttle.isBlocked(userKey)) {
      return { ok: false, response: createResponse(request, 403, 'Forbidden (too many failed attempts, try later)') };
    }
    const digest = credentials.find(
      (c) => c !== null && c.scheme.toLowerCase() === 'digest' && c.params.get('realm') === domain.authenticator.realm,
    );
    if (digest === undefined || digest === null) return { ok: false, response: this.challenge(request, domain, false) };
    const input = {
      method: request.method,
      authorization: digest.params,
      password: (user: string) => domain.passwords.get(user) ?? null,
      // The digest uri names this request's resource, or this server itself (sipp
      // writes sip:<server address>:<port> whatever the Request-URI).
      uriMatches: (uri: string) => sameResource(uri, request.uri) || (local !== undefined && namesServer(uri, local)),
    };
    const result = this.o.nonceCounter === undefined ? domain.authenticator.verify(input) : await domain.authenticator.verifyShared(input, this.o.nonceCounter);
    if (result.ok) {
      if (result.username !== identity) {
        return { ok: false, response: createResponse(request, 403, 'Forbidden (credentials are for another user)') };
      }
      this.throttle.succeed(ipKey);
      this.throttle.succeed(userKey);
      return { ok: true, who: { accountSid: domain.accountSid, identity, expiresAt: null } };
    }
    if (result.kind === 'stale') return { ok: false, response: this.challenge(request, domain, true) };
    // A wrong user and a wrong password get the same answer (no enumeration, CONTRACT §4).
    this.throttle.fail(ipKey);
    this.throttle.fail(userKey);
    this.o.log.info({ reason: result.reason, kind: result.kind, source, identity }, `${request.method} with bad Digest credentials`);
    return { ok: false, response: this.challenge(request, domain, false) };
  }

  private authorizeBearer(
    request: SipRequest,
    identity: string,
    bearer: string,
  ): { ok: true; who: Authorized } | { ok: false; response: SipResponse } {
    const verdict = verifyAccessToken(bearer, this.o.accounts, { now: Math.floor(this.now() / 1000) });
    if (!verdict.ok) {
      this.o.log.info({ reason: verdict.reason, identity }, `${request.method} with a bad token`);
      const res = createResponse(request, 401);
      res.headers.append('WWW-Authenticate', `Bearer realm="${BEARER_REALM}", error="invalid_token"`);
      return { ok: false, response: res };
    }
    if (!verdict.token.incoming) {
      return { ok: false, response: createResponse(request, 403, 'Forbidden (token has no incoming grant)') };
    }
    if (verdict.token.identity !== identity) {
      return { ok: false, response: createResponse(request, 403, 'Forbidden (token identity does not match the AOR)') };
    }
    const t = verdict.token;
    return { ok: true, who: { accountSid: t.accountSid, identity, expiresAt: t.expiresAt } };
  }

  private challenge(request: SipRequest, domain: DigestDomain | null, stale: boolean): SipResponse {
    const res = createResponse(request, 401);
    const challenges = domain === null ? [] : domain.authenticator.challenges({ stale });
    const userAgent = request.headers.get('user-agent') ?? '';
    if (challenges.length > 0 && (this.o.md5OnlyUserAgents ?? []).some((re) => re.test(userAgent))) {
      // Interop: some softphones abort on a challenge they cannot use instead of
      // skipping it (baresip 1.0: SHA-256, Bearer; linphonec 5.1 crashes). They get MD5 only.
      res.headers.append('WWW-Authenticate', challenges[0] as string);
      return res;
    }
    for (const c of challenges) res.headers.append('WWW-Authenticate', c);
    res.headers.append('WWW-Authenticate', BEARER_CHALLENGE);
    return res;
  }

  private parseContacts(
    request: SipRequest,
  ): { ok: true; wildcard: boolean; contacts: ContactRequest[] } | { ok: false; response: SipResponse } {
    const headerExpires = request.headers.get('expires');
    const defaultExpires = headerExpires !== undefined ? clampSeconds(Number(headerExpires)) : this.defaultExpires;
    const parsedContacts = contactsOf(request);
    if (parsedContacts === null) return { ok: false, response: createResponse(request, 400, 'Bad Request (malformed Contact)') };
    if (parsedContacts.wildcard) {
      // §10.3 step 6: "*" only alone and only with Expires: 0.
      if (parsedContacts.list.length !== 0 || (request.headers.list('contact') ?? []).length !== 1 || headerExpires === undefined || Number(headerExpires) !== 0) {
        return { ok: false, response: createResponse(request, 400, 'Bad Request (Contact: * needs Expires: 0 and no other Contact)') };
      }
      return { ok: true, wildcard: true, contacts: [] };
    }
    const contacts: ContactRequest[] = [];
    for (const na of parsedContacts.list) {
      const params = new Map(na.params);
      const expiresParam = params.get('expires');
      params.delete('expires');
      const instanceId = params.get('+sip.instance') ?? null;
      const regIdText = params.get('reg-id') ?? null;
      const regId = regIdText !== null && /^[0-9]{1,9}$/.test(regIdText) ? Number(regIdText) : null;
      const contactUri = formatUri(na.uri);
      contacts.push({
        key: instanceId !== null ? `${instanceId}|${regId ?? ''}` : contactUri,
        contactUri,
        contactParams: formatParams(params),
        instanceId,
        regId,
        expires: expiresParam !== undefined && expiresParam !== null ? clampSeconds(Number(expiresParam)) : defaultExpires,
      });
    }
    return { ok: true, wildcard: false, contacts };
  }

  /** §10.3 step 8: the 200 lists every current binding with its remaining expiry. */
  private ok(request: SipRequest, bindings: Binding[]): SipResponse {
    const res = createResponse(request, 200);
    const now = this.now();
    for (const b of bindings) {
      const left = Math.max(1, Math.round((b.expiresAt - now) / 1000));
      res.headers.append('Contact', `<${b.contactUri}>${b.contactParams};expires=${left}`);
    }
    return res;
  }
}

/** delta-seconds: malformed or overlarge values count as the largest (RFC 3261 §20.19). */
function clampSeconds(n: number): number {
  return Number.isFinite(n) && n >= 0 ? Math.min(Math.floor(n), 2 ** 32 - 1) : 2 ** 32 - 1;
}

/** Whether a URI without a user names the listener a request came in on (its address and port). */
function namesServer(uri: string, local: Address): boolean {
  const u = parseUri(uri);
  if (!u.ok || u.uri.kind !== 'sip' || u.uri.user !== null) return false;
  return socketHost(u.uri.host) === local.address && (u.uri.port ?? 5060) === local.port;
}
