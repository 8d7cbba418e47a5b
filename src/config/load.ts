/**
 * Loads the configuration: the file (YAML or JSON), validated by the schema,
 * then the HERALD_* environment overrides of CONTRACT §1. A bad file throws a
 * ConfigError whose message names the file, the path inside it and the problem.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hostname, networkInterfaces } from 'node:os';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { configSchema, type ConfigFile } from './schema.js';

export class ConfigError extends Error {}

export interface HostPort {
  host: string;
  port: number;
}

export interface Listeners {
  udp: HostPort | null;
  tcp: HostPort | null;
  tls: HostPort | null;
  ws: HostPort | null;
  wss: HostPort | null;
  http: HostPort;
}

export interface HeraldConfig {
  file: string;
  settings: ConfigFile;
  listen: Listeners;
  tlsCert: string | null;
  tlsKey: string | null;
  redisUrl: string | null;
  nodeId: string;
  publicHost: string;
  rtpPorts: { min: number; max: number };
  media: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const DEFAULT_CONFIG_FILE = 'config/default.yaml';

type Env = Record<string, string | undefined>;

/** The package's own default config, used when the working directory has none (e.g. `npx herald` elsewhere). */
const PACKAGE_DEFAULT_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export function loadConfig(file?: string, env: Env = process.env): HeraldConfig {
  const path =
    file ?? env.HERALD_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : PACKAGE_DEFAULT_CONFIG);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return configFromText(path, text, env);
}

export function configFromText(path: string, text: string, env: Env = process.env): HeraldConfig {
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(describeZodError(path, parsed.error));
  const settings = parsed.data;
  const listen = settings.listen;
  const fromEnv = (name: string, fileValue: string | undefined, dflt: string | null, field: string): HostPort | null => {
    const v = env[name] ?? fileValue ?? dflt;
    return v === null ? null : parseHostPort(v, env[name] !== undefined ? `environment ${name}` : `${path}: listen.${field}`);
  };
  const http = fromEnv('HERALD_HTTP', listen.http, '0.0.0.0:8080', 'http');
  if (http === null) throw new ConfigError('environment HERALD_HTTP: the HTTP listener cannot be off');
  const tlsCertFile = env.HERALD_TLS_CERT;
  const tlsKeyFile = env.HERALD_TLS_KEY;
  const wss = fromEnv('HERALD_SIP_WSS', listen.wss, null, 'wss');
  const tls = fromEnv('HERALD_SIP_TLS', listen.tls, null, 'tls');
  let tlsCert: string | null = null;
  let tlsKey: string | null = null;
  if (wss !== null || tls !== null) {
    if (!tlsCertFile || !tlsKeyFile) {
      throw new ConfigError('environment HERALD_TLS_CERT and HERALD_TLS_KEY: required when a WSS or TLS listener is on');
    }
    tlsCert = readPem(tlsCertFile, 'HERALD_TLS_CERT');
    tlsKey = readPem(tlsKeyFile, 'HERALD_TLS_KEY');
  }
  return {
    file: path,
    settings,
    listen: {
      udp: fromEnv('HERALD_SIP_UDP', listen.udp, '0.0.0.0:5060', 'udp'),
      tcp: fromEnv('HERALD_SIP_TCP', listen.tcp, '0.0.0.0:5060', 'tcp'),
      tls,
      ws: fromEnv('HERALD_SIP_WS', listen.ws, '0.0.0.0:8088', 'ws'),
      wss,
      http,
    },
    tlsCert,
    tlsKey,
    redisUrl: env.HERALD_REDIS_URL || null,
    nodeId: env.HERALD_NODE_ID || `${hostname()}-${process.pid}`,
    publicHost: env.HERALD_PUBLIC_HOST || firstNonLoopbackAddress(),
    rtpPorts: parseRtpPorts(env.HERALD_RTP_PORTS ?? '40000-49999'),
    media: parseOnOff(env.HERALD_MEDIA ?? 'on', 'HERALD_MEDIA'),
    logLevel: parseLogLevel(env.HERALD_LOG_LEVEL ?? 'info'),
  };
}

export function describeZodError(path: string, error: ZodError): string {
  const lines = error.issues.slice(0, 10).map((issue) => {
    const where = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
    return `${path}: ${where}: ${issue.message}`;
  });
  return lines.join('\n');
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

export function parseHostPort(value: string, where: string): HostPort | null {
  if (value === 'off') return null;
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^\s:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${where}: "${value}" must be host:port (port 0-65535) or off`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function parseRtpPorts(value: string): { min: number; max: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1024 || max > 65535 || min >= max) {
    throw new ConfigError(`environment HERALD_RTP_PORTS: "${value}" must be min-max with 1024 <= min < max <= 65535`);
  }
  return { min, max };
}

function parseOnOff(value: string, name: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new ConfigError(`environment ${name}: "${value}" must be on or off`);
}

function parseLogLevel(value: string): HeraldConfig['logLevel'] {
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new ConfigError(`environment HERALD_LOG_LEVEL: "${value}" must be debug, info, warn or error`);
}

function readPem(file: string, name: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`environment ${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function firstNonLoopbackAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
