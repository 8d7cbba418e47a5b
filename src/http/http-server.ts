/** The HTTP listener (fastify): health, metrics, node info. The REST API plugs in here as it grows. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

export interface NodeInfo {
  nodeId: string;
  version: string;
  publicHost: string;
  draining: boolean;
  listeners: Record<string, { host: string; port: number } | null>;
  connections: number;
  /** Registration bindings held, as of the last sweep (at most 1 s old). */
  bindings: number;
  transactions: { server: number; client: number };
}

export interface HttpDeps {
  metrics: Metrics;
  nodeInfo: () => NodeInfo;
  draining: () => boolean;
}

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  app.get('/healthz', async (_req, reply) => {
    if (deps.draining()) return reply.code(503).send({ status: 'draining' });
    return { status: 'ok' };
  });
  app.get('/v1/Node', async () => deps.nodeInfo());
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: 20404, message: `no route ${req.method} ${req.url}`, status: 404 });
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500;
    void reply.code(status).send({ code: 20000 + status, message: err.message, status });
  });
  return app;
}
