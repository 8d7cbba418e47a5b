/**
 * The transaction user at the top of the SIP stack (DESIGN "router"): every
 * new server transaction comes here and is checked in the order of RFC 3261
 * §8.2 — method (405), loop (482), Require (420), Max-Forwards (483) — before
 * the handler of its method runs. Modules (registrar, presence, calls) add
 * handlers; the Allow and Supported headers follow from what is added.
 */
import { fromOf, maxForwardsOf, tagOf, toOf } from '../sip/fields.js';
import { OWN_BRANCH_PREFIX } from '../sip/ids.js';
import type { SipRequest } from '../sip/message.js';
import { KNOWN_METHODS } from '../sip/methods.js';
import { createResponse } from '../sip/response.js';
import { parseVia } from '../sip/via.js';
import type { ServerTransaction, ServerTransactionUser } from '../transaction/types.js';
import type { Flow } from '../transport/types.js';
import type { Log } from '../log.js';

export type RequestHandler = (request: SipRequest, txn: ServerTransaction) => void;
export type AckHandler = (ack: SipRequest, flow: Flow) => void;

export interface HandlerOptions {
  /** The handler sends the request on (a new leg or a relay): Max-Forwards 0 gets 483 (§16.3 step 3). */
  forwards?: boolean;
}

interface Route {
  handler: RequestHandler;
  forwards: boolean;
}

export interface RouterCounters {
  rejected(status: number): void;
}

export class RequestRouter implements ServerTransactionUser {
  private readonly routes = new Map<string, Route>();
  private readonly supported = new Set<string>();
  private readonly accept = new Set<string>(['application/sdp']);
  private ackHandler: AckHandler | null = null;
  private draining = false;
  private allowHeader = '';

  constructor(
    private readonly log: Log,
    private readonly counters: RouterCounters = { rejected() {} },
  ) {
    this.handle('OPTIONS', (req, txn) => txn.respond(this.optionsResponse(req)));
  }

  handle(method: string, handler: RequestHandler, options: HandlerOptions = {}): void {
    this.routes.set(method, { handler, forwards: options.forwards ?? false });
    this.allowHeader = this.allow().join(', ');
  }

  onAckReceived(handler: AckHandler): void {
    this.ackHandler = handler;
  }

  addSupported(optionTag: string): void {
    this.supported.add(optionTag);
  }

  addAccept(contentType: string): void {
    this.accept.add(contentType);
  }

  /** Methods for the Allow header: the handled ones, plus ACK and CANCEL once INVITE is handled. */
  allow(): string[] {
    const methods = [...this.routes.keys()];
    if (this.routes.has('INVITE')) methods.push('ACK', 'CANCEL');
    return methods;
  }

  /** SIGTERM drain (CONTRACT §1): new out-of-dialog INVITEs get 503 with Retry-After. */
  startDrain(): void {
    this.draining = true;
  }

  onRequest(request: SipRequest, txn: ServerTransaction): void {
    const route = this.routes.get(request.method);
    if (this.draining && request.method === 'INVITE' && tagOf(toOf(request)) === null) {
      const res = createResponse(request, 503, 'Service Unavailable (draining)');
      res.headers.set('Retry-After', '30');
      return this.reject(txn, res);
    }
    if (route === undefined) {
      // §8.2.1: a method we recognise but do not support gets 405; one we do not
      // recognise at all gets 501 (§21.5.2, RFC 4475 §3.1.1.2); both list what we do support.
      const res = createResponse(request, KNOWN_METHODS.has(request.method) ? 405 : 501);
      res.headers.set('Allow', this.allowHeader);
      return this.reject(txn, res);
    }
    if (this.hasLooped(request)) return this.reject(txn, createResponse(request, 482));
    const unsupported = this.unsupportedRequire(request);
    if (unsupported.length > 0) {
      // §8.2.2.3: list exactly the extensions we do not support.
      const res = createResponse(request, 420);
      res.headers.set('Unsupported', unsupported.join(', '));
      return this.reject(txn, res);
    }
    if (route.forwards && maxForwardsOf(request) === 0) return this.reject(txn, createResponse(request, 483));
    try {
      route.handler(request, txn);
    } catch (err) {
      this.log.error({ err, method: request.method, callId: request.headers.get('call-id') }, 'request handler failed');
      if (txn.state === 'trying' || txn.state === 'proceeding') txn.respond(createResponse(request, 500));
    }
  }

  onAck(ack: SipRequest, flow: Flow): void {
    if (this.ackHandler !== null) this.ackHandler(ack, flow);
    else this.log.debug({ callId: ack.headers.get('call-id') }, 'ACK with no transaction or dialog dropped');
  }

  private reject(txn: ServerTransaction, response: ReturnType<typeof createResponse>): void {
    this.counters.rejected(response.status);
    txn.respond(response);
  }

  private optionsResponse(request: SipRequest) {
    const res = createResponse(request, 200);
    res.headers.set('Allow', this.allowHeader);
    res.headers.set('Accept', [...this.accept].join(', '));
    res.headers.set('Supported', [...this.supported].join(', '));
    return res;
  }

  /** Require option tags we do not support; Require is ignored on ACK and CANCEL (§8.2.2.3). */
  private unsupportedRequire(request: SipRequest): string[] {
    if (request.method === 'ACK' || request.method === 'CANCEL' || !request.headers.has('require')) return [];
    const tags = request.headers.list('require') ?? [];
    return tags.filter((t) => !this.supported.has(t.toLowerCase()));
  }

  /**
   * A new request that already carries a Via with a branch this node made has
   * come back to it (§16.3 step 4, loop detection); a B2BUA always starts new
   * legs, so there is no spiral to tell apart.
   */
  private hasLooped(request: SipRequest): boolean {
    if (tagOf(toOf(request)) !== null || fromOf(request) === null) return false;
    // Cheap text test first: nearly every request has none of our branches.
    const lines = request.headers.getAll('via');
    if (!lines.some((l) => l.includes(OWN_BRANCH_PREFIX))) return false;
    for (const v of request.headers.list('via') ?? []) {
      if (!v.includes(OWN_BRANCH_PREFIX)) continue;
      const via = parseVia(v);
      if (via.ok && (via.value.params.get('branch') ?? '').startsWith(OWN_BRANCH_PREFIX)) return true;
    }
    return false;
  }

}
