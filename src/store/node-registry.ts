/**
 * The cluster's nodes and where each listens for SIP (DESIGN "Cluster
 * routing"): a node that must reach a device whose connection another node
 * holds looks that node up here. Each node announces itself with a lifetime
 * and renews it while it runs, so a crashed node drops out by itself.
 */
import type { Protocol } from '../transport/types.js';

export interface NodeAddress {
  nodeId: string;
  /** Where the node takes SIP from other nodes: its public host and a UDP or TCP listener. */
  sip: { protocol: Extract<Protocol, 'udp' | 'tcp'>; host: string; port: number };
}

export interface NodeRegistry {
  /** Records (or refreshes) a node's address for `ttlMs`. */
  announce(node: NodeAddress, ttlMs: number): Promise<void>;
  /** A node's address, or null when it is unknown or its announcement lapsed. */
  get(nodeId: string): Promise<NodeAddress | null>;
  /** Removes a node (it is stopping). */
  withdraw(nodeId: string): Promise<void>;
}

/** The embedded store: a single node knows only itself, and never needs to look itself up. */
export class MemoryNodeRegistry implements NodeRegistry {
  private readonly nodes = new Map<string, { node: NodeAddress; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async announce(node: NodeAddress, ttlMs: number): Promise<void> {
    this.nodes.set(node.nodeId, { node: structuredClone(node), expiresAt: this.now() + ttlMs });
  }

  async get(nodeId: string): Promise<NodeAddress | null> {
    const e = this.nodes.get(nodeId);
    return e === undefined || e.expiresAt <= this.now() ? null : structuredClone(e.node);
  }

  async withdraw(nodeId: string): Promise<void> {
    this.nodes.delete(nodeId);
  }
}
