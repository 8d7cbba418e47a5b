/**
 * The SIP transport layer (RFC 3261 §18): UDP, TCP, TLS, WS and WSS listeners
 * behind one `Transport`. It turns bytes into parsed messages with their flow
 * (RFC 5626 §3), and messages into bytes on the right socket: on a given flow,
 * to an address (reusing or opening a connection), or — for responses — by the
 * rules of §18.2.2 and RFC 3581.
 */
import { serialize } from '../sip/serializer.js';
import type { SipMessage, SipResponse } from '../sip/message.js';
import { failLater, remoteKey } from './connection.js';
import type { ConnectionHost } from './connection-host.js';
import { TransportEmitter } from './emitter.js';
import { FlowTable } from './flow-table.js';
import { InboundDispatcher } from './inbound.js';
import { resolveOptions, type ResolvedOptions, type TransportOptions } from './options.js';
import { defaultPort, responseTarget } from './response-route.js';
import { StreamConnection, type TlsClientSettings } from './stream-connection.js';
import { StreamListener, type ServerCredentials } from './stream-listener.js';
import type {
  PreparedResponse,
  Address,
  Flow,
  ListenerInfo,
  Protocol,
  SendErrorHandler,
  SendTarget,
  Transport,
  TransportEvents,
} from './types.js';
import { UdpListener } from './udp-listener.js';
import { WsListener } from './ws-listener.js';

export type { HostPort, TransportLogger, TransportOptions } from './options.js';

type Listener = UdpListener | StreamListener | WsListener;

export class SipTransport implements Transport {
  private readonly opts: ResolvedOptions;
  private readonly emitter: TransportEmitter;
  private readonly table: FlowTable;
  private readonly host: ConnectionHost;
  private readonly tlsClient: TlsClientSettings;
  private readonly udpByPort = new Map<number, UdpListener>();
  private udpDefault: UdpListener | null = null;
  private all: Listener[] = [];
  private bound: ListenerInfo[] = [];
  private state: 'new' | 'starting' | 'started' | 'stopped' = 'new';

  constructor(options: TransportOptions) {
    this.opts = resolveOptions(options);
    const log = this.opts.logger;
    this.emitter = new TransportEmitter(log);
    this.table = new FlowTable(this.emitter, this.opts.maxConnectionsPerAddress, log);
    this.host = {
      inbound: new InboundDispatcher(this.emitter),
      table: this.table,
      log,
      maxMessageBytes: this.opts.maxMessageBytes,
      idleTimeoutMs: this.opts.idleTimeoutMs,
    };
    this.tlsClient = { ca: this.opts.tlsCa, rejectUnauthorized: this.opts.tlsRejectUnauthorized };
  }

  async start(): Promise<ListenerInfo[]> {
    if (this.state !== 'new') throw new Error(`transport already ${this.state}`);
    this.state = 'starting';
    const o = this.opts;
    const creds: ServerCredentials | null =
      o.tlsCert !== undefined && o.tlsKey !== undefined ? { cert: o.tlsCert, key: o.tlsKey } : null;
    const listeners: Listener[] = [];
    if (o.udp) listeners.push(new UdpListener(o.udp, this.host.inbound, o.maxMessageBytes, o.logger));
    if (o.tcp) listeners.push(new StreamListener('tcp', o.tcp, this.host, null));
    if (o.tls) listeners.push(new StreamListener('tls', o.tls, this.host, creds));
    if (o.ws) listeners.push(new WsListener('ws', o.ws, this.host, o.wsAllowedOrigins, null));
    if (o.wss) listeners.push(new WsListener('wss', o.wss, this.host, o.wsAllowedOrigins, creds));
    this.all = listeners;
    try {
      this.bound = await Promise.all(listeners.map((l) => l.start()));
    } catch (err) {
      await this.stop();
      throw err;
    }
    for (const l of listeners) {
      if (l instanceof UdpListener) {
        this.udpByPort.set(l.port, l);
        this.udpDefault ??= l;
      }
    }
    this.state = 'started';
    o.logger.info({ listeners: this.bound }, 'SIP transport listening');
    return this.listeners();
  }

  listeners(): ListenerInfo[] {
    return this.bound.map((l) => ({ ...l }));
  }

  viaSentBy(protocol: Protocol): Address {
    const l = this.bound.find((b) => b.protocol === protocol);
    return { address: this.opts.publicHost, port: l !== undefined ? l.port : defaultPort(protocol) };
  }

  send(message: SipMessage, target: SendTarget, onError?: SendErrorHandler): void {
    this.sendBytes(serialize(message), target, onError);
  }

  sendBytes(bytes: Buffer, target: SendTarget, onError?: SendErrorHandler): void {
    if ('flowId' in target) this.sendOnFlow(bytes, target.flowId, onError);
    else this.sendTo(bytes, target.protocol, target.address, target.port, onError);
  }

  sendResponse(response: SipResponse, flow: Flow, onError?: SendErrorHandler): void {
    this.sendPrepared(this.prepareResponse(response, flow), onError);
  }

  prepareResponse(response: SipResponse, flow: Flow): PreparedResponse {
    return { status: response.status, bytes: serialize(response), flow, target: responseTarget(response, flow) };
  }

  sendPrepared(prepared: PreparedResponse, onError?: SendErrorHandler): void {
    const { bytes, flow, target } = prepared;
    if (flow.protocol === 'udp') {
      // Sent from the socket the request reached, to received:rport (RFC 3581 §4).
      const l = this.udpByPort.get(flow.local.port);
      if (l === undefined || !l.isOpen) {
        this.fail(onError, `no UDP listener on port ${flow.local.port}`);
        return;
      }
      // No per-send callback on this hot path: it costs a nextTick per datagram, and a
      // failed UDP send surfaces as the socket's 'error' event, which is logged.
      l.send(bytes, target.address, target.port);
      return;
    }
    // §18.2.2: a reliable transport answers on the request's connection while it is open…
    const conn = this.table.get(flow.id);
    if (conn !== undefined) {
      conn.write(bytes, onError);
      return;
    }
    // …a browser cannot be connected to (RFC 7118 §5), so a closed WebSocket loses the response…
    if (flow.protocol === 'ws' || flow.protocol === 'wss') {
      this.fail(onError, `WebSocket flow ${flow.id} is closed`);
      return;
    }
    // …else a new connection to the Via's received address and sent-by port.
    this.sendTo(bytes, flow.protocol, target.address, target.port, onError);
  }

  flow(flowId: string): Flow | null {
    if (flowId.startsWith('udp:')) {
      const u = parseUdpFlowId(flowId);
      if (u === null) return null;
      const l = this.udpByPort.get(u.localPort);
      return l !== undefined && l.isOpen ? l.flowFor(u.address, u.port) : null;
    }
    return this.table.get(flowId) ?? null;
  }

  connectionCount(): number {
    return this.table.size;
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    this.emitter.on(event, listener);
  }

  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    this.emitter.off(event, listener);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    const closing: Promise<void>[] = this.all.map((l) => l.close());
    for (const conn of this.table.all()) {
      closing.push(conn.whenClosed());
      conn.destroy();
    }
    await Promise.all(closing);
    this.udpByPort.clear();
    this.udpDefault = null;
  }

  private sendOnFlow(bytes: Buffer, flowId: string, onError: SendErrorHandler | undefined): void {
    if (flowId.startsWith('udp:')) {
      const u = parseUdpFlowId(flowId);
      const l = u === null ? undefined : this.udpByPort.get(u.localPort);
      if (u === null || l === undefined || !l.isOpen) {
        this.fail(onError, `no such flow: ${flowId}`);
        return;
      }
      l.send(bytes, u.address, u.port, onError);
      return;
    }
    const conn = this.table.get(flowId);
    if (conn === undefined) this.fail(onError, `flow ${flowId} is closed`);
    else conn.write(bytes, onError);
  }

  private sendTo(
    bytes: Buffer,
    protocol: Protocol,
    rawAddress: string,
    port: number,
    onError: SendErrorHandler | undefined,
  ): void {
    const address = unbracket(rawAddress);
    if (protocol === 'udp') {
      const l = this.udpDefault;
      if (l === null || !l.isOpen) this.fail(onError, 'no UDP listener to send from');
      else l.send(bytes, address, port, onError);
      return;
    }
    // Connection reuse (§18.1.1, RFC 5923 spirit): any open flow to that address:port.
    const conn = this.table.findByRemote(remoteKey(protocol, address, port));
    if (conn !== undefined) {
      conn.write(bytes, onError);
      return;
    }
    if (protocol === 'ws' || protocol === 'wss') {
      this.fail(onError, `no ${protocol} connection to ${address}:${port} (WebSocket clients cannot be dialed)`);
      return;
    }
    if (this.state !== 'started') {
      this.fail(onError, 'transport is not running');
      return;
    }
    if (!(port > 0 && port <= 65535)) {
      this.fail(onError, `cannot connect to port ${port}`);
      return;
    }
    this.opts.logger.debug({ protocol, address, port }, 'opening connection');
    StreamConnection.open(protocol, address, port, this.host, this.tlsClient).write(bytes, onError);
  }

  private fail(onError: SendErrorHandler | undefined, reason: string): void {
    failLater(onError, new Error(reason), (err) => this.opts.logger.warn({ err }, 'send failed'));
  }
}

function unbracket(host: string): string {
  return host.charCodeAt(0) === 0x5b && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `udp:<localport>:<remote ip>:<remote port>` (the IP may be IPv6, colons and all). */
function parseUdpFlowId(id: string): { localPort: number; address: string; port: number } | null {
  const a = id.indexOf(':', 4);
  const b = id.lastIndexOf(':');
  if (a < 0 || b <= a) return null;
  const localPort = Number(id.slice(4, a));
  const port = Number(id.slice(b + 1));
  const address = id.slice(a + 1, b);
  if (!Number.isInteger(localPort) || !Number.isInteger(port) || port <= 0 || port > 65535 || address === '') return null;
  return { localPort, address, port };
}
