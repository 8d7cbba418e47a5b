/**
 * The configuration file of CONTRACT §2 (YAML or JSON), checked once at start.
 * Cross-references (a number's application, a trunk's account) are checked too,
 * so a typo stops the start instead of failing the first call.
 */
import { z } from 'zod';
import { parseUri } from '../sip/uri.js';

const hex32 = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-f]{32}$`), `must be "${prefix}" followed by 32 lower-case hex digits`);

const url = z.string().url('must be an absolute http(s) URL').refine((u) => /^https?:/i.test(u), 'must be http or https');

const cidr = z
  .string()
  .regex(/^(\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?|[0-9a-fA-F:]+(\/\d{1,3})?)$/, 'must be an IP address or CIDR (e.g. 192.0.2.0/24)');

/** A carrier's address as a SIP URI without a user part; the transport, if named, one Herald can open (not ws/wss). */
function isCarrierUri(text: string): boolean {
  const u = parseUri(text);
  if (!u.ok || u.uri.kind !== 'sip' || u.uri.user !== null) return false;
  const transport = u.uri.params.get('transport');
  return transport === undefined || (typeof transport === 'string' && ['udp', 'tcp', 'tls'].includes(transport.toLowerCase()));
}

/** Where `<Dial><Number>` goes for the trunk's account (README "Configuration"). */
export const outboundTrunkSchema = z
  .object({
    uri: z.string().refine(isCarrierUri, 'must be a SIP URI without a user part, e.g. "sip:carrier.example:5060;transport=udp" (transport udp, tcp or tls)'),
    /** Digest credentials for the carrier's 401/407 (RFC 3261 §22.2). */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** The From user when the `<Dial>` names no callerId (default: the caller). */
    callerId: z.string().regex(/^[A-Za-z0-9+._~-]+$/, 'must be a phone number or a plain SIP user name').optional(),
  })
  .refine((o) => (o.username === undefined) === (o.password === undefined), { message: 'username and password go together', path: ['password'] });

export const applicationSchema = z.object({
  sid: hex32('AP'),
  voiceUrl: url,
  voiceMethod: z.enum(['POST', 'GET']).default('POST'),
  voiceFallbackUrl: url.optional(),
  voiceFallbackMethod: z.enum(['POST', 'GET']).default('POST'),
  statusCallback: url.optional(),
  statusCallbackMethod: z.enum(['POST', 'GET']).default('POST'),
});

export const accountSchema = z
  .object({
    sid: hex32('AC'),
    authToken: z.string().min(16, 'must be at least 16 characters'),
    apiKeys: z.array(z.object({ sid: hex32('SK'), secret: z.string().min(16, 'must be at least 16 characters') })).default([]),
    limits: z
      .object({
        calls: z.number().int().positive().default(10),
        api: z.number().int().positive().default(20),
        devicesPerClient: z.number().int().positive().default(10),
      })
      .default({ calls: 10, api: 20, devicesPerClient: 10 }),
    sipDomain: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a host name').optional(),
    credentials: z
      .array(
        z.object({
          username: z.string().regex(/^[A-Za-z0-9._~-]+$/, 'must be a plain user name'),
          password: z.string().min(1),
          /** The application of the calls this user places (a token's outgoing grant, for a Digest user); without it the user only registers and receives. */
          outgoingApplication: hex32('AP').optional(),
        }),
      )
      .default([]),
    presenceCallback: url.optional(),
    applications: z.array(applicationSchema).default([]),
    numbers: z.array(z.object({ number: z.string().regex(/^\+?[0-9]{3,15}$/, 'must be a phone number like +15550001111'), application: hex32('AP') })).default([]),
  })
  .superRefine((acc, ctx) => {
    const apps = new Set(acc.applications.map((a) => a.sid));
    acc.numbers.forEach((n, i) => {
      if (!apps.has(n.application)) {
        ctx.addIssue({ code: 'custom', path: ['numbers', i, 'application'], message: `no application ${n.application} in this account` });
      }
    });
    acc.credentials.forEach((c, i) => {
      if (c.outgoingApplication !== undefined && !apps.has(c.outgoingApplication)) {
        ctx.addIssue({ code: 'custom', path: ['credentials', i, 'outgoingApplication'], message: `no application ${c.outgoingApplication} in this account` });
      }
    });
    if (acc.credentials.length > 0 && acc.sipDomain === undefined) {
      ctx.addIssue({ code: 'custom', path: ['sipDomain'], message: 'is required when credentials are set' });
    }
  });

export const DEFAULT_MD5_ONLY_USER_AGENTS = ['^baresip', '^linphone', 'belle-sip'];

function isRegExp(s: string): boolean {
  try {
    new RegExp(s, 'i');
    return true;
  } catch {
    return false;
  }
}

const hostPort = z.string().regex(/^(off|[^\s]+:\d{1,5})$/, 'must be "host:port" or "off"');

export const configSchema = z
  .object({
    accounts: z.array(accountSchema).default([]),
    trunks: z
      .array(
        z.object({
          name: z.string().min(1),
          account: hex32('AC'),
          from: z.array(cidr).min(1),
          outbound: outboundTrunkSchema.optional(),
        }),
      )
      .default([]),
    demo: z.object({ account: hex32('AC') }).optional(),
    /** Listeners; the HERALD_* variables of CONTRACT §1 override these. */
    listen: z
      .object({
        udp: hostPort.optional(),
        tcp: hostPort.optional(),
        tls: hostPort.optional(),
        ws: hostPort.optional(),
        wss: hostPort.optional(),
        http: hostPort.optional(),
      })
      .default({}),
    sip: z
      .object({
        maxMessageBytes: z.number().int().min(1024).max(1_048_576).default(65535),
        maxConnectionsPerAddress: z.number().int().positive().default(200),
        idleTimeout: z.number().positive().default(1800).describe('seconds without traffic before a connection is closed'),
        wsAllowedOrigins: z.array(z.string()).nullable().default(null),
        /**
         * User-Agents (regular expressions, case-insensitive) that get only the
         * Digest MD5 challenge: baresip 1.0 gives up on a 401 with any challenge it
         * cannot use (SHA-256, Bearer) and linphonec 5.1 crashes on one.
         */
        md5OnlyUserAgents: z
          .array(z.string().refine(isRegExp, 'must be a valid regular expression'))
          .default(DEFAULT_MD5_ONLY_USER_AGENTS),
        timers: z
          .object({ t1: z.number().int().positive().default(500), t2: z.number().int().positive().default(4000), t4: z.number().int().positive().default(5000) })
          .default({ t1: 500, t2: 4000, t4: 5000 }),
      })
      .default({
        maxMessageBytes: 65535,
        maxConnectionsPerAddress: 200,
        idleTimeout: 1800,
        wsAllowedOrigins: null,
        md5OnlyUserAgents: DEFAULT_MD5_ONLY_USER_AGENTS,
        timers: { t1: 500, t2: 4000, t4: 5000 },
      }),
    drainTimeout: z.number().positive().default(30).describe('seconds a SIGTERM drain waits for calls to end'),
    /** The media engine (HERALD_MEDIA=on): how many mediasoup worker processes; default one per core. */
    media: z.object({ workers: z.number().int().positive().max(1024).optional() }).default({}),
    /** The concurrency gate (src/gate/): leases per account and resource type. */
    gate: z
      .object({
        /** A lease's lifetime without renewal: how long a crashed node's slots stay taken. Holders renew every third of it. */
        leaseTtlMs: z.number().int().min(1000).max(600_000).default(30_000),
        /** How long a REST request over `limits.api` waits for a slot before its 429; 0 = refuse at once. */
        apiQueueMs: z.number().int().min(0).max(60_000).default(0),
      })
      .default({ leaseTtlMs: 30_000, apiQueueMs: 0 }),
    /** Calls in progress (src/calls/). */
    calls: z
      .object({
        /**
         * Seconds between the in-dialog OPTIONS that check each answered leg's
         * peer is still there (a 408, a 481 or no answer ends the call); 0 = no probes.
         */
        keepaliveInterval: z.number().min(0).max(86_400).default(30),
      })
      .default({ keepaliveInterval: 30 }),
    /** The application's webhooks (voiceUrl, fallback, action, Redirect): seconds to wait for an answer before it counts as failed (then the fallback). */
    webhooks: z.object({ timeout: z.number().min(0.1).max(120).default(10) }).default({ timeout: 10 }),
    /** Call records (`GET …/Calls`): how long a finished call's record is kept, seconds. A live one lasts as long as its call (renewed like its gate lease). */
    callRecords: z.object({ retention: z.number().int().min(1).max(31_536_000).default(86_400) }).default({ retention: 86_400 }),
  })
  .superRefine((cfg, ctx) => {
    const accounts = new Set(cfg.accounts.map((a) => a.sid));
    cfg.trunks.forEach((t, i) => {
      if (!accounts.has(t.account)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'account'], message: `no account ${t.account}` });
    });
    if (cfg.demo && !accounts.has(cfg.demo.account)) {
      ctx.addIssue({ code: 'custom', path: ['demo', 'account'], message: `no account ${cfg.demo.account}` });
    }
    const seen = new Map<string, number>();
    cfg.accounts.forEach((a, i) => {
      if (seen.has(a.sid)) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'sid'], message: 'duplicate account sid' });
      seen.set(a.sid, i);
    });
  });

export type ConfigFile = z.infer<typeof configSchema>;
export type AccountConfig = z.infer<typeof accountSchema>;
export type ApplicationConfig = z.infer<typeof applicationSchema>;
export type OutboundTrunkConfig = z.infer<typeof outboundTrunkSchema>;
