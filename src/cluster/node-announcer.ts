/**
 * This node's entry in the node registry: announced once the listeners are
 * bound, renewed every third of its lifetime on an unref'd timer (like a
 * gate lease), withdrawn at stop. A crashed node stops renewing and drops
 * out of the registry within one lifetime.
 */
import type { Log } from '../log.js';
import type { NodeAddress, NodeRegistry } from '../store/node-registry.js';

export class NodeAnnouncer {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly registry: NodeRegistry,
    private readonly ttlMs: number,
    private readonly log: Log,
  ) {}

  async start(address: NodeAddress): Promise<void> {
    await this.registry.announce(address, this.ttlMs);
    this.timer = setInterval(() => {
      this.registry.announce(address, this.ttlMs).catch((err: unknown) => this.log.warn({ err }, 'renewing this node in the registry failed'));
    }, Math.max(1, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  async stop(nodeId: string): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.registry.withdraw(nodeId).catch((err: unknown) => this.log.warn({ err }, 'withdrawing this node from the registry failed'));
  }
}
