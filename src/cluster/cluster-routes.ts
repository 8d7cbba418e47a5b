/**
 * How this node reaches a device registered on another node (DESIGN
 * "Cluster routing"): through the node holding its connection, found in the
 * node registry, with a signed relay route naming the flow (relay-route.ts).
 */
import type { Log } from '../log.js';
import type { Binding } from '../store/binding-store.js';
import type { NodeRegistry } from '../store/node-registry.js';
import type { SendTarget } from '../transport/types.js';
import { relayRouteUri, type RelayKeys } from './relay-route.js';

export interface RelayHop {
  /** The holding node's SIP listener. */
  target: SendTarget;
  /** The Route header value to put first. */
  route: string;
}

export class ClusterRoutes {
  constructor(
    private readonly registry: NodeRegistry,
    private readonly keys: RelayKeys,
    private readonly log: Log,
  ) {}

  /** The hop to a binding held by another node; null when that node is not (or no longer) announced. */
  async hopTo(b: Binding): Promise<RelayHop | null> {
    const node = await this.registry.get(b.node);
    if (node === null) {
      this.log.info({ node: b.node, identity: b.identity }, 'the node holding the device is not announced: not relayed');
      return null;
    }
    const uri = relayRouteUri(node.sip, { node: b.node, accountSid: b.accountSid, flowId: b.flowId }, this.keys);
    if (uri === null) return null;
    return { target: { protocol: node.sip.protocol, address: node.sip.host, port: node.sip.port }, route: `<${uri}>` };
  }
}
