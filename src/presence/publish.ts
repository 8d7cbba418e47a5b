/**
 * SIP PUBLISH for the presence event package (RFC 3903, RFC 3856 §6): a
 * client sets its explicit status (status.ts) from a PIDF document (pidf.ts).
 *
 * The presentity is the Request-URI `sip:<identity>@<host>`, authorized like
 * REGISTER (Registrar.authorize: Bearer token with the incoming grant and the
 * same identity, or a Digest user of the host's sipDomain). Then, in the
 * order of RFC 3903 §6: Event must be `presence` (489 with Allow-Events);
 * SIP-If-Match must name the current publication (412); Expires below
 * `minExpires` gets 423, above `maxExpires` is cut down; the body must be
 * `application/pidf+xml` (415 with Accept). Each 200 carries a fresh SIP-ETag
 * and the granted Expires.
 *
 * - initial:  a PIDF body, no SIP-If-Match
 * - refresh:  SIP-If-Match, no body → same status, new expiry
 * - modify:   SIP-If-Match and a body
 * - remove:   SIP-If-Match and Expires: 0 → back to `available`
 *
 * A REST PUT replaces a published status (and so voids its entity tag: a
 * later refresh gets 412). When a publication expires unrefreshed the client
 * is `available` again (status.ts `explicitAt`).
 */
import { randomBytes } from 'node:crypto';
import type { Log } from '../log.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { createResponse } from '../sip/response.js';
import { decodeUser, parseUri } from '../sip/uri.js';
import type { Authorized } from '../registrar/registrar.js';
import type { PresenceStore } from '../store/presence-store.js';
import type { ServerTransaction } from '../transaction/types.js';
import type { Address } from '../transport/types.js';
import { PIDF_CONTENT_TYPE, statusFromPidf } from './pidf.js';
import type { PresenceRecord } from './status.js';

export type Authorize = (
  request: SipRequest,
  identity: string,
  host: string,
  source: string,
  local?: Address,
) => Promise<{ ok: true; who: Authorized } | { ok: false; response: SipResponse }>;

export interface PresencePublisherOptions {
  store: PresenceStore;
  authorize: Authorize;
  log: Log;
  now?: () => number;
  /** Seconds; defaults 60, 3600, 3600 (RFC 3903 §4: the default is the package's, 3600 for presence). */
  minExpires?: number;
  maxExpires?: number;
  defaultExpires?: number;
}

export class PresencePublisher {
  private readonly now: () => number;
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly defaultExpires: number;

  constructor(private readonly o: PresencePublisherOptions) {
    this.now = o.now ?? Date.now;
    this.minExpires = o.minExpires ?? 60;
    this.maxExpires = o.maxExpires ?? 3600;
    this.defaultExpires = o.defaultExpires ?? 3600;
  }

  /** The router's PUBLISH handler. */
  readonly handle = (request: SipRequest, txn: ServerTransaction): void => {
    this.publish(request, txn.flow.remote.address, txn.flow.local).then(
      (res) => txn.respond(res),
      (err: unknown) => {
        this.o.log.error({ err, callId: request.headers.get('call-id') }, 'PUBLISH failed');
        txn.respond(createResponse(request, 500));
      },
    );
  };

  async publish(request: SipRequest, source: string, local?: Address): Promise<SipResponse> {
    const ruri = parseUri(request.uri);
    if (!ruri.ok || ruri.uri.kind !== 'sip' || ruri.uri.user === null) {
      return createResponse(request, 404, 'Not Found (presentity must be sip:identity@host)');
    }
    const identity = decodeUser(ruri.uri);
    if (identity === null || identity === '') return createResponse(request, 404);
    const auth = await this.o.authorize(request, identity, ruri.uri.host.toLowerCase(), source, local);
    if (!auth.ok) return auth.response;
    const accountSid = auth.who.accountSid;

    const event = (request.headers.get('event') ?? '').split(';')[0]!.trim().toLowerCase();
    if (event !== 'presence') {
      const res = createResponse(request, 489);
      res.headers.set('Allow-Events', 'presence');
      return res;
    }

    const ifMatch = request.headers.get('sip-if-match')?.trim();
    const now = this.now();
    let current: PresenceRecord | null = null;
    if (ifMatch !== undefined) {
      current = await this.o.store.get(accountSid, identity);
      const live = current !== null && current.etag === ifMatch && (current.expiresAt === null || current.expiresAt > now);
      if (!live) return createResponse(request, 412);
    }

    const expiresText = request.headers.get('expires');
    let expires = this.defaultExpires;
    if (expiresText !== undefined) {
      if (!/^\s*[0-9]{1,10}\s*$/.test(expiresText)) return createResponse(request, 400, 'Bad Request (malformed Expires)');
      expires = Number(expiresText);
    }
    if (expires === 0) {
      if (ifMatch === undefined) return createResponse(request, 400, 'Bad Request (removing a publication needs SIP-If-Match)');
      const removed: PresenceRecord = { status: 'available', changedAt: now, etag: null, expiresAt: null };
      if (!(await this.o.store.replaceIfEtag(accountSid, identity, ifMatch, removed))) return createResponse(request, 412);
      const res = createResponse(request, 200);
      res.headers.set('SIP-ETag', ifMatch);
      res.headers.set('Expires', '0');
      return res;
    }
    if (expires < this.minExpires) {
      const res = createResponse(request, 423);
      res.headers.set('Min-Expires', String(this.minExpires));
      return res;
    }
    expires = Math.min(expires, this.maxExpires);

    let record: PresenceRecord;
    const etag = randomBytes(12).toString('base64url');
    const expiresAt = now + expires * 1000;
    if (request.body.length === 0) {
      if (ifMatch === undefined || current === null) return createResponse(request, 400, 'Bad Request (PUBLISH without a body needs SIP-If-Match)');
      // Refresh: the status and its change time stay.
      record = { ...current, etag, expiresAt };
    } else {
      const contentType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (contentType !== PIDF_CONTENT_TYPE) {
        const res = createResponse(request, 415);
        res.headers.set('Accept', PIDF_CONTENT_TYPE);
        return res;
      }
      const pidf = statusFromPidf(request.body.toString('utf8'));
      if (!pidf.ok) return createResponse(request, 400, `Bad Request (PIDF: ${pidf.reason.replace(/[^\x20-\x7e]/g, ' ').slice(0, 120)})`);
      const same = current !== null && current.status === pidf.status;
      record = { status: pidf.status, changedAt: same ? (current as PresenceRecord).changedAt : now, etag, expiresAt };
    }

    if (ifMatch === undefined) await this.o.store.put(accountSid, identity, record);
    else if (!(await this.o.store.replaceIfEtag(accountSid, identity, ifMatch, record))) return createResponse(request, 412);
    const res = createResponse(request, 200);
    res.headers.set('SIP-ETag', etag);
    res.headers.set('Expires', String(expires));
    return res;
  }
}
