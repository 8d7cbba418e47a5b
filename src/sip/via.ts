/** The Via header (RFC 3261 §20.42, §18.2.1; RFC 3581 rport). */
import { formatParams, scanParams, skipWs, type Params } from './grammar.js';

export interface Via {
  protocol: string;
  version: string;
  /** upper case: UDP, TCP, TLS, WS, WSS, SCTP… */
  transport: string;
  host: string;
  port: number | null;
  params: Params;
}

export type ViaResult = { ok: true; value: Via } | { ok: false; reason: string };

const TOKEN = "[A-Za-z0-9\\-.!%*_+`'~]+";
// sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH = SWS "/" SWS
const SENT_PROTOCOL = new RegExp(`^(${TOKEN})[ \\t]*/[ \\t]*(${TOKEN})[ \\t]*/[ \\t]*(${TOKEN})[ \\t]+`);
/** The sent-by host, matched where it starts (sticky): no slice of the rest of the value per Via. */
const HOST = /(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)/y;
const PORT = /[0-9]{1,5}/y;
/**
 * The sent-protocols nearly every Via has, each followed by its space,
 * recognised by comparison instead of the SENT_PROTOCOL regex (a match array
 * and three substrings per message otherwise).
 */
const COMMON_SENT_PROTOCOLS: readonly (readonly [prefix: string, transport: string])[] = ['UDP', 'TCP', 'TLS', 'WS', 'WSS'].map(
  (t) => [`SIP/2.0/${t} `, t] as const,
);

/** The sent-protocol at the start of `s` and where the sent-by starts, or null when there is none. */
function sentProtocol(s: string): { protocol: string; version: string; transport: string; end: number } | null {
  for (const [prefix, transport] of COMMON_SENT_PROTOCOLS) {
    if (s.startsWith(prefix)) return { protocol: 'SIP', version: '2.0', transport, end: prefix.length };
  }
  const m = SENT_PROTOCOL.exec(s);
  if (!m) return null;
  return {
    protocol: (m[1] as string).toUpperCase(),
    version: m[2] as string,
    transport: (m[3] as string).toUpperCase(),
    end: m[0].length,
  };
}

/** The RFC 3261 magic cookie that marks a branch as globally unique (§8.1.1.7). */
export const BRANCH_COOKIE = 'z9hG4bK';

export function parseVia(input: string): ViaResult {
  const s = input.trim();
  const sp = sentProtocol(s);
  if (sp === null) return { ok: false, reason: 'bad sent-protocol in Via' };
  let i = skipWs(s, sp.end);
  HOST.lastIndex = i;
  const h = HOST.exec(s);
  if (!h) return { ok: false, reason: 'bad sent-by host in Via' };
  const host = h[1] as string;
  i = skipWs(s, i + host.length);
  let port: number | null = null;
  if (s[i] === ':') {
    i = skipWs(s, i + 1);
    PORT.lastIndex = i;
    const pm = PORT.exec(s);
    if (!pm) return { ok: false, reason: 'bad sent-by port in Via' };
    port = Number(pm[0]);
    if (port === 0 || port > 65535) return { ok: false, reason: 'bad sent-by port in Via' };
    i += pm[0].length;
  }
  const p = scanParams(s, i);
  if (!p.ok) return { ok: false, reason: `bad Via parameter: ${p.reason}` };
  if (p.next < s.length) return { ok: false, reason: 'trailing characters in Via' };
  return {
    ok: true,
    value: {
      protocol: sp.protocol,
      version: sp.version,
      transport: sp.transport,
      host,
      port,
      params: p.value,
    },
  };
}

export function formatVia(v: Via): string {
  const port = v.port === null ? '' : ':' + v.port;
  return `${v.protocol}/${v.version}/${v.transport} ${v.host}${port}${formatParams(v.params)}`;
}

export function viaBranch(v: Via): string | null {
  return v.params.get('branch') ?? null;
}
