/**
 * The account-scoped REST API (CONTRACT §6), mounted at `/v1/Accounts/:accountSid`
 * behind Basic auth (`basic-auth.ts`). This slice: presence read from the
 * registration bindings (registration is presence, CONTRACT §4) and the
 * explicit status a client set (PUT here or SIP PUBLISH; src/presence/status.ts),
 * the list of present clients by effective status, and access-token minting.
 *
 * `busy` comes from the call engine: the calls a client is in, on any node (`activeCalls`).
 *
 * Every request here holds a slot of the concurrency gate for its resource
 * type while it runs (api-gate.ts), and `/Usage` reports the account's
 * slots (usage-api.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { MAX_TOKEN_TTL, mintAccessToken } from '../auth/access-token.js';
import type { AccountConfig } from '../config/schema.js';
import type { Binding, BindingStore } from '../store/binding-store.js';
import type { PresenceStore } from '../store/presence-store.js';
import {
  EXPLICIT_STATUSES,
  PRESENCE_STATUSES,
  explicitAt,
  type PresenceRecord,
  type SeenStatus,
  type PresenceStatus,
} from '../presence/status.js';
import type { ConcurrencyGate } from '../gate/gate.js';
import type { Log } from '../log.js';
import { apiGate, restResourceOf, type GateSettings } from './api-gate.js';
import type { CallRecordStore } from '../store/call-record-store.js';
import { readPresence, type PresenceSnapshot } from '../presence/snapshot.js';
import { callsApi } from './calls-api.js';
import { basicAuth, principalOf } from './basic-auth.js';
import { ApiError, badRequest, errorBody } from './errors.js';
import { usageApi } from './usage-api.js';
import { listClients } from './client-list.js';

export interface RestApiDeps {
  accounts: readonly AccountConfig[];
  bindings: BindingStore;
  presence: PresenceStore;
  /** ms since the epoch */
  now: () => number;
  /** The concurrency gate: a slot per request and resource type (limits.api). */
  gate: ConcurrencyGate;
  gateSettings: GateSettings;
  /** A request was answered 429 (metrics). */
  throttled?: (account: string, resourceType: string) => void;
  /** Call records (`…/Calls`). */
  callRecords: CallRecordStore;
  /** Calls a client is in (presence `busy`, cluster-wide); 0 when absent. */
  activeCalls?: (accountSid: string, identity: string) => number | Promise<number>;
  log?: Log;
}

const ACCOUNT_PARAM = 'accountSid';

export { PRESENCE_STATUSES, type PresenceStatus };

export interface DeviceView {
  contact: string;
  transport: string;
  userAgent: string | null;
  expiresAt: string;
  node: string;
}

export interface PresenceView {
  identity: string;
  status: PresenceStatus;
  devices: DeviceView[];
  activeCalls: number;
  /** ISO time of the last change of the client's explicit status; absent when it never set one (status.ts). */
  lastChange?: string;
}

/** What `herald token` and mintAccessToken accept as an identity. */
export const TOKEN_IDENTITY = /^[A-Za-z0-9._~@+-]{1,121}$/;
/** An identity looked up: whatever a verified token may carry (verify-token.ts): 1-121 characters, no control characters. */
const MAX_IDENTITY = 121;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

const required =
  (what: string) =>
  (issue: { input: unknown }): string =>
    issue.input === undefined ? 'is required' : `must be ${what}`;

const wholeSeconds = `must be a whole number of seconds from 1 to ${MAX_TOKEN_TTL}`;

const tokenBody = z.strictObject(
  {
    identity: z
      .string({ error: required('a string') })
      .regex(TOKEN_IDENTITY, 'must be 1-121 characters of letters, digits and ._~@+-'),
    incoming: z.boolean({ error: 'must be true or false' }).nullish(),
    outgoingApplicationSid: z.string({ error: 'must be an application SID (AP…)' }).nullish(),
    ttl: z
      .number({ error: wholeSeconds })
      .int({ error: wholeSeconds })
      .min(1, { error: wholeSeconds })
      .max(MAX_TOKEN_TTL, { error: wholeSeconds })
      .nullish(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
);

/** The first problem of a zod failure, as `field: problem`. */
export function validationError(error: z.ZodError, root: string): ApiError {
  const issue = error.issues[0];
  if (issue === undefined) return badRequest(root, 'is invalid');
  if (issue.code === 'unrecognized_keys') {
    return badRequest(issue.keys.join(', '), `unknown field${issue.keys.length > 1 ? 's' : ''}`);
  }
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : root;
  return badRequest(field, issue.message);
}

function checkIdentity(identity: string): void {
  if (identity.length === 0) throw badRequest('identity', 'must not be empty');
  if ([...identity].length > MAX_IDENTITY)
    throw badRequest('identity', `must be at most ${MAX_IDENTITY} characters`);
  if (CONTROL_CHARS.test(identity))
    throw badRequest('identity', 'must not contain control characters');
}

function deviceOf(b: Binding): DeviceView {
  return {
    contact: b.contactUri,
    transport: b.transport,
    userAgent: b.userAgent,
    expiresAt: new Date(b.expiresAt).toISOString(),
    node: b.node,
  };
}

/**
 * The REST view of a client's presence. `lastChange` is when the effective
 * status last changed as the presence tracker saw it (registrations,
 * statuses, calls: src/presence/tracker.ts), or, before it saw any change,
 * when the explicit status was set.
 */
export function presenceOf(p: PresenceSnapshot, seen: SeenStatus | null = null): PresenceView {
  const changedAt = seen?.at ?? explicitAt(p.record, p.at).changedAt;
  return {
    identity: p.identity,
    status: p.status,
    devices: p.bindings.map(deviceOf),
    activeCalls: p.activeCalls,
    ...(changedAt !== null ? { lastChange: new Date(changedAt).toISOString() } : {}),
  };
}

const presenceBody = z.strictObject(
  {
    status: z.enum(EXPLICIT_STATUSES, {
      error: (issue) =>
        issue.input === undefined ? 'is required' : `must be one of ${EXPLICIT_STATUSES.join(', ')}`,
    }),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
);

/** Register with `{ prefix: '/v1/Accounts/:accountSid' }`. */
export const restApi: FastifyPluginAsync<RestApiDeps> = async (app, deps) => {
  // The REST resources served, for /Usage's sum: collected as the routes below are added.
  const resources = new Set<string>();
  app.addHook('onRoute', (route) => {
    const resource = restResourceOf(route.url, ACCOUNT_PARAM);
    if (resource !== null) resources.add(resource);
  });
  app.addHook('onRequest', basicAuth(deps.accounts, ACCOUNT_PARAM));
  // After auth: the slot is the authenticated account's.
  app.addHook(
    'onRequest',
    apiGate({
      gate: deps.gate,
      settings: deps.gateSettings,
      accountParam: ACCOUNT_PARAM,
      ...(deps.throttled !== undefined ? { throttled: deps.throttled } : {}),
      ...(deps.log !== undefined ? { log: deps.log } : {}),
    }),
  );
  usageApi(app, deps.gate, resources);
  callsApi(app, deps.callRecords);
  // Unknown routes under an account authenticate first too: nothing here answers a stranger but 401.
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody(404, `no route ${req.method} ${req.url}`));
  });

  app.get<{ Params: { identity: string } }>('/Clients/:identity/Presence', async (req) => {
    const { account } = principalOf(req);
    const identity = req.params.identity;
    checkIdentity(identity);
    const [snapshot, seen] = await Promise.all([readPresence(deps, account.sid, identity, deps.now()), deps.presence.getSeen(account.sid, identity)]);
    return presenceOf(snapshot, seen);
  });

  app.put<{ Params: { identity: string } }>('/Clients/:identity/Presence', async (req) => {
    const { account } = principalOf(req);
    const identity = req.params.identity;
    checkIdentity(identity);
    const parsed = presenceBody.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error, 'body');
    const now = deps.now();
    const old = explicitAt(await deps.presence.get(account.sid, identity), now);
    // A REST status lasts (no expiry) and voids a PUBLISH entity tag; setting the same status again is no change.
    const record: PresenceRecord = {
      status: parsed.data.status,
      changedAt: old.changedAt !== null && old.status === parsed.data.status ? old.changedAt : now,
      etag: null,
      expiresAt: null,
    };
    await deps.presence.put(account.sid, identity, record);
    return presenceOf(await readPresence(deps, account.sid, identity, now));
  });

  app.get<{ Querystring: { status?: unknown } }>('/Clients', async (req) => {
    const { account } = principalOf(req);
    const status = req.query.status ?? 'available';
    if (typeof status !== 'string' || !(PRESENCE_STATUSES as readonly string[]).includes(status)) {
      throw badRequest('status', `must be one of ${PRESENCE_STATUSES.join(', ')}`);
    }
    // Only clients with a binding are known (offline ones are not enumerable).
    if (status === 'offline') return { clients: [] };
    const clients = (await listClients(deps, account.sid, deps.now())).filter((c) => c.status === status);
    return { clients };
  });

  app.post('/Tokens', async (req, reply) => {
    const { account, apiKey: usedKey } = principalOf(req);
    const parsed = tokenBody.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error, 'body');
    const body = parsed.data;
    const appSid = body.outgoingApplicationSid ?? undefined;
    if (appSid !== undefined && !account.applications.some((a) => a.sid === appSid)) {
      throw badRequest(
        'outgoingApplicationSid',
        `no application ${appSid} in account ${account.sid}`,
      );
    }
    const signingKey = usedKey ?? account.apiKeys[0];
    if (signingKey === undefined) {
      throw new ApiError(
        409,
        `account ${account.sid} has no API key to sign tokens with: add one under apiKeys in the config file`,
      );
    }
    const token = mintAccessToken({
      accountSid: account.sid,
      apiKeySid: signingKey.sid,
      apiKeySecret: signingKey.secret,
      identity: body.identity,
      incoming: body.incoming ?? false,
      ...(appSid !== undefined ? { outgoingApplicationSid: appSid } : {}),
      ...(body.ttl !== undefined && body.ttl !== null ? { ttl: body.ttl } : {}),
      now: Math.floor(deps.now() / 1000),
    });
    void reply.code(201).header('cache-control', 'no-store');
    return { token };
  });
};
