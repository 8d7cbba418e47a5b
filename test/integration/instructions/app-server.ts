/**
 * A customer's web application, as a real node:http server: it records every
 * webhook request, checks its X-Twilio-Signature with Twilio's own
 * `validateRequest`, and answers with whatever the test's handler says.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

export interface Received {
  readonly method: string;
  readonly path: string;
  /** The full URL as the application rebuilds it from the request (what Twilio's docs tell it to validate). */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Form parameters for POST, query parameters for GET. */
  readonly params: Record<string, string>;
  /** twilio.validateRequest with the application's auth token. */
  readonly signatureValid: boolean;
}

export type Handler = (req: Received, res: http.ServerResponse) => void;

export class AppServer {
  readonly received: Received[] = [];
  private readonly handlers = new Map<string, Handler>();
  /** Per path: requests nobody awaited yet, and awaiters of requests not yet arrived. */
  private readonly unclaimed = new Map<string, Received[]>();
  private readonly waiters = new Map<string, ((r: Received) => void)[]>();

  private constructor(
    private readonly server: http.Server,
    readonly authToken: string,
  ) {}

  static async start(authToken: string): Promise<AppServer> {
    const server = http.createServer();
    const app = new AppServer(server, authToken);
    server.on('request', (req, res) => app.onRequest(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return app;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  url(path: string): string {
    return this.origin + path;
  }

  /** Answers requests whose path (without query) is `path`. Unhandled paths get 404. */
  on(path: string, handler: Handler): this {
    this.handlers.set(path, handler);
    return this;
  }

  /** Answers `path` with TwiML. */
  twiml(path: string, xml: string): this {
    return this.on(path, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' }).end(xml);
    });
  }

  /** Resolves with the next request to `path` (or one already received and not yet awaited). */
  next(path: string): Promise<Received> {
    const waiting = this.unclaimed.get(path)?.shift();
    if (waiting !== undefined) return Promise.resolve(waiting);
    return new Promise((resolve) =>
      this.waiters.set(path, [...(this.waiters.get(path) ?? []), resolve]),
    );
  }

  requestsTo(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = this.origin + (req.url ?? '/');
      const parsed = new URL(url);
      const params =
        req.method === 'POST'
          ? Object.fromEntries(new URLSearchParams(body))
          : Object.fromEntries(parsed.searchParams);
      const signature = req.headers['x-twilio-signature'];
      const received: Received = {
        method: req.method ?? '',
        path: parsed.pathname,
        url,
        headers: req.headers,
        body,
        params,
        signatureValid:
          typeof signature === 'string' &&
          twilio.validateRequest(
            this.authToken,
            signature,
            url,
            req.method === 'POST' ? params : {},
          ),
      };
      this.received.push(received);
      const waiter = this.waiters.get(received.path)?.shift();
      if (waiter !== undefined) waiter(received);
      else
        this.unclaimed.set(received.path, [...(this.unclaimed.get(received.path) ?? []), received]);
      const handler = this.handlers.get(parsed.pathname);
      if (handler) handler(received, res);
      else res.writeHead(404).end('not found');
    });
  }
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
