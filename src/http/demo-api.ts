/**
 * The demo phone's server side (CONTRACT §7), served only when the config has a
 * `demo` section: `POST /demo/token` mints a token for the demo account without
 * auth, `/demo/voice` is the demo application's voiceUrl, `/demo/clients` lists
 * the account's present clients for the page, and `GET /` is the page itself
 * (demo-page.ts).
 *
 * `/demo/voice` behaves like a real application would: it checks
 * X-Twilio-Signature against the URL it was reached at and answers
 * `<Dial><Client>` to the client named in `To`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { mintAccessToken } from '../auth/access-token.js';
import type { AccountConfig } from '../config/schema.js';
import { SIGNATURE_HEADER, twilioSignature } from '../instructions/signature.js';
import { timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';
import { TOKEN_IDENTITY, validationError } from './rest-api.js';
import { listClients, type ClientListDeps } from './client-list.js';
import { demoPage } from './demo-page.js';

export interface DemoApiDeps extends ClientListDeps {
  /** The demo account (config `demo.account`). */
  account: AccountConfig;
  /** The port of the SIP WebSocket listener the page registers over; null when it is off. */
  wsPort: () => number | null;
}

/** Long enough for a demo session, short enough that a leaked demo token soon stops working. */
const DEMO_TOKEN_TTL = 4 * 3600;

const demoTokenBody = z.strictObject(
  {
    identity: z
      .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
      .regex(TOKEN_IDENTITY, 'must be 1-121 characters of letters, digits and ._~@+-'),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
);

/** The client named by a Twilio `To`: `client:NAME`, `sip:NAME@host` or a bare NAME (what a SIP.js client dialing NAME sends). */
export function clientNamedIn(to: string): string | null {
  let name = to.trim();
  if (name.startsWith('client:')) name = name.slice('client:'.length);
  else if (/^sips?:/i.test(name)) {
    const user = /^sips?:([^@;?]+)@/i.exec(name)?.[1];
    if (user === undefined) return null;
    try {
      name = decodeURIComponent(user);
    } catch {
      return null;
    }
  }
  return TOKEN_IDENTITY.test(name) ? name : null;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The request's parameters as Twilio sends them: the form body for POST, the query for GET. */
function twilioParams(req: FastifyRequest): Record<string, string> {
  const source = req.method === 'POST' ? req.body : req.query;
  const out: Record<string, string> = {};
  if (source === null || typeof source !== 'object') return out;
  for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

function signatureValid(req: FastifyRequest, authToken: string): boolean {
  const given = req.headers[SIGNATURE_HEADER.toLowerCase()];
  if (typeof given !== 'string') return false;
  // The URL as this application was reached: Herald signs the configured voiceUrl, which names this host and port.
  const url = `${req.protocol}://${req.host}${req.url}`;
  const params = req.method === 'POST' ? twilioParams(req) : {};
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const received = Buffer.from(given);
  return expected.length === received.length && timingSafeEqual(expected, received);
}

export const demoApi: FastifyPluginAsync<DemoApiDeps> = async (app, deps) => {
  const { account } = deps;
  // Twilio posts its parameters form-encoded; only this plugin's routes need them parsed.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.post('/demo/token', async (req, reply) => {
    const parsed = demoTokenBody.safeParse(req.body ?? undefined);
    if (!parsed.success) throw validationError(parsed.error, 'body');
    const key = account.apiKeys[0];
    if (key === undefined) throw new ApiError(409, `demo account ${account.sid} has no API key to sign tokens with`);
    const application = account.applications[0];
    const token = mintAccessToken({
      accountSid: account.sid,
      apiKeySid: key.sid,
      apiKeySecret: key.secret,
      identity: parsed.data.identity,
      incoming: true,
      ...(application !== undefined ? { outgoingApplicationSid: application.sid } : {}),
      ttl: DEMO_TOKEN_TTL,
      now: Math.floor(deps.now() / 1000),
    });
    void reply.code(201).header('cache-control', 'no-store');
    return { token };
  });

  const voice = async (req: FastifyRequest, reply: FastifyReply): Promise<string> => {
    if (!signatureValid(req, account.authToken)) {
      void reply.code(403).type('text/plain');
      return 'X-Twilio-Signature missing or wrong\n';
    }
    const params = twilioParams(req);
    const name = clientNamedIn(params.To ?? '');
    void reply.type('application/xml');
    if (params.AccountSid !== account.sid || name === null) {
      return '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="rejected"/></Response>';
    }
    return `<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Client>${escapeXml(name)}</Client></Dial></Response>`;
  };
  app.post('/demo/voice', voice);
  app.get('/demo/voice', voice);

  // The page polls this (every 2 s): offline clients are not enumerable, so a SUBSCRIBE per name could not find new ones.
  app.get('/demo/clients', async () => ({ clients: await listClients(deps, account.sid, deps.now()) }));

  await app.register(demoPage, { wsPort: deps.wsPort });
};
