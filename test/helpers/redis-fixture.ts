/** A real redis-server for one test suite with a connected client: `start` in before(), `fresh` per test (an empty database), `stop` in after(). */
import { connectRedis, type RedisClient } from '../../src/store/redis-client.js';
import { startRedis, type RedisServer } from './redis-server.js';

export interface RedisFixture {
  start(): Promise<void>;
  /** The client, after emptying the database. */
  fresh(): Promise<RedisClient>;
  /** Another connection to the same server (a second node), closed by `stop`. */
  connect(): Promise<RedisClient>;
  stop(): Promise<void>;
}

export function redisFixture(): RedisFixture {
  let server: RedisServer | undefined;
  let client: RedisClient | undefined;
  const others: RedisClient[] = [];
  const started = (): { server: RedisServer; client: RedisClient } => {
    if (server === undefined || client === undefined) throw new Error('redisFixture: start() first');
    return { server, client };
  };
  return {
    async start() {
      server = await startRedis();
      client = await connectRedis(server.url);
    },
    async fresh() {
      const { client: c } = started();
      await c.flushAll();
      return c;
    },
    async connect() {
      const c = await connectRedis(started().server.url);
      others.push(c);
      return c;
    },
    async stop() {
      for (const c of others.splice(0)) await c.close();
      await client?.close();
      await server?.stop();
      client = undefined;
      server = undefined;
    },
  };
}
