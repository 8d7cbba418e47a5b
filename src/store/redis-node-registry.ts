/**
 * The node registry in Redis: `P node:{nodeId}` holds the node's address as
 * JSON and expires with its announcement (on Redis's clock), so a crashed
 * node's entry goes by itself.
 */
import type { NodeAddress, NodeRegistry } from './node-registry.js';
import { keyPart, type RedisCommander } from './redis-client.js';

export class RedisNodeRegistry implements NodeRegistry {
  constructor(
    private readonly client: RedisCommander,
    private readonly prefix = 'herald:',
  ) {}

  async announce(node: NodeAddress, ttlMs: number): Promise<void> {
    await this.client.sendCommand(['SET', this.key(node.nodeId), JSON.stringify(node), 'PX', String(Math.max(1, Math.round(ttlMs)))]);
  }

  async get(nodeId: string): Promise<NodeAddress | null> {
    const reply = await this.client.sendCommand(['GET', this.key(nodeId)]);
    if (reply === null || reply === undefined) return null;
    return JSON.parse(Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply)) as NodeAddress;
  }

  async withdraw(nodeId: string): Promise<void> {
    await this.client.sendCommand(['DEL', this.key(nodeId)]);
  }

  private key(nodeId: string): string {
    return `${this.prefix}node:${keyPart(nodeId)}`;
  }
}
