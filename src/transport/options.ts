/** Construction options of the SIP transport and their defaults. */

export interface HostPort {
  host: string;
  /** 0 picks a free port; `listeners()` reports the one bound. */
  port: number;
}

/** The subset of pino's logger the transport uses (a pino Logger fits). */
export interface TransportLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface TransportOptions {
  udp: HostPort | null;
  tcp: HostPort | null;
  tls: HostPort | null;
  ws: HostPort | null;
  wss: HostPort | null;
  /** PEM certificate chain for the TLS and WSS listeners. */
  tlsCert?: string;
  /** PEM private key for the TLS and WSS listeners. */
  tlsKey?: string;
  /** Extra PEM CA certificates trusted when we open TLS connections (default: Node's store). */
  tlsCa?: string;
  /** Verify the peer certificate of TLS connections we open (default true). */
  tlsRejectUnauthorized?: boolean;
  /** Host or IP written as sent-by in our Vias. */
  publicHost: string;
  /** Largest message accepted (default 65535); larger ones get 513 (RFC 3261 §21.5.14). */
  maxMessageBytes?: number;
  /** Open connections allowed from one remote IP address (default 200). */
  maxConnectionsPerAddress?: number;
  /** A connection on which nothing was received for this long is closed (default 30 min). */
  idleTimeoutMs?: number;
  /** Origins allowed to open a SIP WebSocket; null allows any (default null). */
  wsAllowedOrigins?: string[] | null;
  logger?: TransportLogger;
}

export interface ResolvedOptions {
  udp: HostPort | null;
  tcp: HostPort | null;
  tls: HostPort | null;
  ws: HostPort | null;
  wss: HostPort | null;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  tlsRejectUnauthorized: boolean;
  publicHost: string;
  maxMessageBytes: number;
  maxConnectionsPerAddress: number;
  idleTimeoutMs: number;
  /** Lower-cased, for comparison with the Origin header. */
  wsAllowedOrigins: ReadonlySet<string> | null;
  logger: TransportLogger;
}

const noop = (): void => {};
export const SILENT_LOGGER: TransportLogger = { debug: noop, info: noop, warn: noop, error: noop };

export function resolveOptions(o: TransportOptions): ResolvedOptions {
  if ((o.tls !== null || o.wss !== null) && (o.tlsCert === undefined || o.tlsKey === undefined)) {
    throw new Error('the TLS and WSS listeners need tlsCert and tlsKey');
  }
  return {
    udp: o.udp,
    tcp: o.tcp,
    tls: o.tls,
    ws: o.ws,
    wss: o.wss,
    tlsCert: o.tlsCert,
    tlsKey: o.tlsKey,
    tlsCa: o.tlsCa,
    tlsRejectUnauthorized: o.tlsRejectUnauthorized ?? true,
    publicHost: o.publicHost,
    maxMessageBytes: o.maxMessageBytes ?? 65535,
    maxConnectionsPerAddress: o.maxConnectionsPerAddress ?? 200,
    idleTimeoutMs: o.idleTimeoutMs ?? 1_800_000,
    wsAllowedOrigins:
      o.wsAllowedOrigins === null || o.wsAllowedOrigins === undefined
        ? null
        : new Set(o.wsAllowedOrigins.map((s) => s.toLowerCase())),
    logger: o.logger ?? SILENT_LOGGER,
  };
}
