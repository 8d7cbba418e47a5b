/**
 * The open connection flows (RFC 5626 §3, RFC 3261 §18 "connection reuse"):
 * by id for `send({flowId})`, by remote address for `send({address, port})`
 * and response reconnection (§18.2.2), and the per-IP connection count that
 * caps what one address can hold open.
 */
import type { Connection } from './connection.js';
import type { TransportEmitter } from './emitter.js';
import type { TransportLogger } from './options.js';

export class FlowTable {
  private readonly byId = new Map<string, Connection>();
  private readonly byRemote = new Map<string, Connection>();
  private readonly perIp = new Map<string, number>();
  /** Every connection not yet closed, flows and outbound ones still connecting. */
  private readonly live = new Set<Connection>();

  constructor(
    private readonly emitter: TransportEmitter,
    private readonly maxPerAddress: number,
    private readonly log: TransportLogger,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Connection | undefined {
    return this.byId.get(id);
  }

  findByRemote(key: string): Connection | undefined {
    return this.byRemote.get(key);
  }

  /** Every open or opening connection (for stop()). */
  all(): Connection[] {
    return [...this.live];
  }

  /** Makes a connection findable by its remote keys (an outbound one as soon as it is being opened). */
  index(conn: Connection): void {
    this.live.add(conn);
    for (const key of conn.remoteKeys) this.byRemote.set(key, conn);
  }

  /** Registers an established connection as a flow. */
  add(conn: Connection): void {
    this.byId.set(conn.id, conn);
    this.index(conn);
  }

  /**
   * Forgets a connection that has closed; emits `flowClosed` if it had been a
   * flow. Safe to call more than once: only the first call emits.
   */
  remove(conn: Connection): void {
    this.live.delete(conn);
    for (const key of conn.remoteKeys) {
      if (this.byRemote.get(key) === conn) this.byRemote.delete(key);
    }
    if (this.byId.get(conn.id) !== conn) return;
    this.byId.delete(conn.id);
    this.emitter.flowClosed(conn);
  }

  /**
   * Counts a new inbound socket against its remote IP; false (and a warning)
   * when the IP already holds the maximum: the caller destroys the socket.
   */
  admit(ip: string): boolean {
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.maxPerAddress) {
      this.log.warn({ remote: ip, limit: this.maxPerAddress }, 'connection refused: too many connections from this address');
      return false;
    }
    this.perIp.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    const n = this.perIp.get(ip) ?? 0;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
  }
}
