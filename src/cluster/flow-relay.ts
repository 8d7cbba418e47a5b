/**
 * The relay side of cluster routing (DESIGN "Cluster routing"): a node
 * holding a device's connection passes requests between that connection and
 * the other nodes of the cluster, as a stateful proxy (RFC 3261 §16) for the
 * requests whose top Route is this node's relay route (relay-route.ts).
 *
 * A request that comes from elsewhere (a peer node) goes into the flow the
 * route names; one that comes from that flow (the device, inside a dialog
 * the relay record-routed) goes on by its remaining Route or Request-URI.
 * The route is popped (§16.4), Max-Forwards decremented (§16.6), and a
 * dialog-creating INVITE gets the same route as Record-Route (§16.6 step 4),
 * so that every later request of the dialog, from either end, passes here.
 * Responses go back upstream without our Via (§16.7); a CANCEL of a relayed
 * INVITE is sent on (§16.10, with its Reason); a 2xx ACK is forwarded
 * statelessly. Requests whose route does not verify get 403.
 */
import type { Log } from '../log.js';
import { maxForwardsOf, tagOf, toOf } from '../sip/fields.js';
import { SipRequest, SipResponse } from '../sip/message.js';
import { nameAddrUri } from '../sip/name-addr.js';
import { createResponse } from '../sip/response.js';
import { createCancel } from '../transaction/cancel.js';
import type { TransactionLayer } from '../transaction/transaction-layer.js';
import { IGNORE_OUTCOME, type ServerTransaction } from '../transaction/types.js';
import { contactTarget } from '../transport/contact-target.js';
import type { Flow, SendTarget, Transport } from '../transport/types.js';
import { readRelayRoute, type RelayKeys, type RelayTarget } from './relay-route.js';

export interface FlowRelayOptions {
  nodeId: string;
  keys: RelayKeys;
  transactions: Pick<TransactionLayer, 'sendRequest' | 'sendAck'>;
  transport: Pick<Transport, 'flow'>;
  log: Log;
}

type Routed = { kind: 'none' } | { kind: 'refused'; status: number; reason: string } | { kind: 'forward'; request: SipRequest; target: SendTarget };

export class FlowRelay {
  constructor(private readonly o: FlowRelayOptions) {}

  /** The transaction user's first look at a new request: true when it was a relay request (forwarded or refused here). */
  onRequest(request: SipRequest, txn: ServerTransaction): boolean {
    const routed = this.route(request, txn.flow);
    if (routed.kind === 'none') return false;
    if (routed.kind === 'refused') {
      txn.respond(createResponse(request, routed.status, routed.reason));
      return true;
    }
    const forwarded = routed.request;
    const target = routed.target;
    this.o.transactions.sendRequest(forwarded, target, {
      onResponse: (r) => {
        // Our own 100 went upstream already (§16.7 step 5: a 100 is not forwarded).
        if (r.status === 100) return;
        const upstream = new SipResponse(r.status, r.reason, r.headers.clone(), r.body);
        upstream.headers.removeFirst('via');
        txn.respond(upstream);
      },
      onTimeout: () => txn.respond(createResponse(request, 408)),
      onTransportError: () => txn.respond(createResponse(request, 503, 'Service Unavailable (relay target unreachable)')),
    });
    if (request.method === 'INVITE') {
      txn.onCancel((cancel) => {
        const reason = cancel.headers.get('reason');
        this.o.transactions.sendRequest(createCancel(forwarded, reason), target, IGNORE_OUTCOME);
      });
    }
    return true;
  }

  /** An ACK that matched no transaction (the ACK of a 2xx): true when it was routed through this relay. */
  onAck(ack: SipRequest, flow: Flow): boolean {
    const routed = this.route(ack, flow);
    if (routed.kind === 'none') return false;
    if (routed.kind === 'forward') this.o.transactions.sendAck(routed.request, routed.target);
    else this.o.log.info({ reason: routed.reason }, 'relay ACK dropped');
    return true;
  }

  /** Whether `request` is for this relay, and if so the request to send on and where. */
  private route(request: SipRequest, flow: Flow): Routed {
    const top = request.headers.list('route')?.[0];
    if (top === undefined) return { kind: 'none' };
    const reading = readRelayRoute(top, this.o.keys);
    if (reading.kind === 'none') return { kind: 'none' };
    if (reading.kind === 'invalid') {
      this.o.log.warn({ reason: reading.reason, source: flow.remote.address, method: request.method }, 'relay request refused');
      return { kind: 'refused', status: 403, reason: `Forbidden (${reading.reason})` };
    }
    const t = reading.target;
    // A route naming another node is not ours to follow: the request is not for this relay.
    if (t.node !== this.o.nodeId) return { kind: 'none' };
    const maxForwards = maxForwardsOf(request);
    if (maxForwards === 0) return { kind: 'refused', status: 483, reason: 'Too Many Hops' };
    const forwarded = new SipRequest(request.method, request.uri, request.headers.clone(), request.body);
    forwarded.headers.removeFirst('route');
    forwarded.headers.set('Max-Forwards', String((typeof maxForwards === 'number' ? maxForwards : 70) - 1));
    const fromDevice = flow.id === t.flowId;
    if (!fromDevice && request.method === 'INVITE' && tagOf(toOf(request)) === null) forwarded.headers.prepend('Record-Route', top);
    const target = fromDevice ? this.nextHop(forwarded) : this.intoFlow(t);
    if (target === null) return { kind: 'refused', status: 480, reason: fromDevice ? 'Temporarily Unavailable (no next hop)' : 'Temporarily Unavailable (connection closed)' };
    return { kind: 'forward', request: forwarded, target };
  }

  private intoFlow(t: RelayTarget): SendTarget | null {
    return this.o.transport.flow(t.flowId) === null ? null : { flowId: t.flowId };
  }

  /** §16.6 step 6/7: the next Route, else the Request-URI. */
  private nextHop(request: SipRequest): SendTarget | null {
    const next = request.headers.list('route')?.[0];
    const uri = next === undefined ? request.uri : nameAddrUri(next);
    return uri === null ? null : contactTarget(this.o.transport, null, uri);
  }
}
