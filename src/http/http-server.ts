/** The HTTP listener (fastify): health, metrics, node info, and the account-scoped REST API (CONTRACT §6). */
import type { Log } from '../log.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiError, errorBody } from './errors.js';
import type { MediaInfo } from '../media/media-engine.js';
import type { Metrics } from './metrics.js';
import { restApi, type RestApiDeps } from './rest-api.js';
import { demoApi } from './demo-api.js';
import type { AccountConfig } from '../config/schema.js';

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
  /** The media engine: status (off, running, unavailable…) and live worker, router, transport, producer, consumer counts. */
  media: MediaInfo;
}

export interface HttpDeps extends RestApiDeps {
  metrics: Metrics;
  nodeInfo: () => NodeInfo;
  draining: () => boolean;
  /** The config's `demo` account: the demo page and its endpoints are served only with one (CONTRACT §7). */
  demoAccount?: AccountConfig;
  log?: Log;
}

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  // maxParamLength: an identity in a path may be 121 characters, percent-encoded (fastify's default is 100).
  const app = Fastify({ logger: false, bodyLimit: 1_048_576, routerOptions: { maxParamLength: 2048 } });
  app.get('/healthz', async (_req, reply) => {
    if (deps.draining()) return reply.code(503).send({ status: 'draining' });
    return { status: 'ok' };
  });
  app.get('/v1/Node', async () => deps.nodeInfo());
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  void app.register(restApi, {
    prefix: '/v1/Accounts/:accountSid',
    accounts: deps.accounts,
    bindings: deps.bindings,
    presence: deps.presence,
    now: deps.now,
    gate: deps.gate,
    gateSettings: deps.gateSettings,
    callRecords: deps.callRecords,
    ...(deps.activeCalls !== undefined ? { activeCalls: deps.activeCalls } : {}),
    throttled: (account, resource) => deps.metrics.apiThrottled.inc({ account, resource }),
    ...(deps.log !== undefined ? { log: deps.log } : {}),
  });
  if (deps.demoAccount !== undefined) {
    void app.register(demoApi, {
      account: deps.demoAccount,
      bindings: deps.bindings,
      presence: deps.presence,
      now: deps.now,
      ...(deps.activeCalls !== undefined ? { activeCalls: deps.activeCalls } : {}),
      wsPort: () => deps.nodeInfo().listeners.ws?.port ?? null,
    });
  }
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody(404, `no route ${req.method} ${req.url}`));
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    if (err instanceof ApiError) {
      void reply.code(err.statusCode).headers(err.headers).send(errorBody(err.statusCode, err.message, err.errorCode));
      return;
    }
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    // A 4xx from fastify (bad JSON, too large) says what is wrong; a 500's message is internal: log it, do not send it.
    if (status === 500) deps.log?.error({ err }, 'REST request failed');
    void reply.code(status).send(errorBody(status, status === 500 ? 'internal error' : err.message));
  });
  return app;
}
