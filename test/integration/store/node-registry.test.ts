/** One suite for every NodeRegistry (memory, and Redis against a real redis-server): announce, look up, lapse, withdraw. */
import { expect } from 'chai';
import type { NodeAddress, NodeRegistry } from '../../../src/store/node-registry.js';
import { MemoryNodeRegistry } from '../../../src/store/node-registry.js';
import { RedisNodeRegistry } from '../../../src/store/redis-node-registry.js';
import { redisFixture } from '../../helpers/redis-fixture.js';

const nodeA: NodeAddress = { nodeId: 'node-a', sip: { protocol: 'udp', host: '10.0.0.1', port: 5060 } };
const nodeB: NodeAddress = { nodeId: 'node:b%1', sip: { protocol: 'tcp', host: '2001:db8::2', port: 5070 } };

const redis = redisFixture();

const impls: Array<{ name: string; before(): Promise<void>; fresh(): Promise<NodeRegistry>; after(): Promise<void> }> = [
  { name: 'memory', before: async () => {}, fresh: async () => new MemoryNodeRegistry(), after: async () => {} },
  { name: 'redis', before: () => redis.start(), fresh: async () => new RedisNodeRegistry(await redis.fresh()), after: () => redis.stop() },
];

for (const impl of impls) {
  describe(`NodeRegistry (${impl.name})`, function () {
    this.timeout(20_000);
    before(() => impl.before());
    after(() => impl.after());

    it('gives back what each node announced; null for a node never announced', async () => {
      const r = await impl.fresh();
      await r.announce(nodeA, 60_000);
      await r.announce(nodeB, 60_000);
      expect(await r.get('node-a')).to.deep.equal(nodeA);
      expect(await r.get('node:b%1')).to.deep.equal(nodeB);
      expect(await r.get('node-c')).to.equal(null);
    });

    it('an announcement lapses after its lifetime while a longer one stays; a withdrawn one is gone at once', async () => {
      const r = await impl.fresh();
      await r.announce(nodeA, 600);
      await r.announce(nodeB, 60_000);
      const deadline = Date.now() + 10_000;
      while ((await r.get('node-a')) !== null) {
        if (Date.now() > deadline) throw new Error('node-a still announced');
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(await r.get('node:b%1')).to.deep.equal(nodeB);
      await r.withdraw('node:b%1');
      expect(await r.get('node:b%1')).to.equal(null);
    });
  });
}
