/**
 * What the flow table and the sender need of a connection flow (TCP, TLS, WS,
 * WSS), whatever socket type carries it. The object is also the `Flow` handed
 * to the layers above, so it is created once per connection.
 */
import type { Address, Flow, Protocol, SendErrorHandler } from './types.js';

export interface Connection extends Flow {
  /** Writes one serialized message; failures (also "already closed") reach onError, never a throw. */
  write(bytes: Buffer, onError?: SendErrorHandler): void;
  /** Closes after pending writes have been flushed. */
  close(): void;
  /** Closes now (stop(), errors). */
  destroy(): void;
  /** Resolves once the socket has closed. */
  whenClosed(): Promise<void>;
  /** Keys under which the flow table indexes this connection by remote address. */
  readonly remoteKeys: string[];
}

/** Flow ids are unique for the life of the process, across transport instances (RFC 5626 flow tokens stay unambiguous). */
let nextConnectionId = 1;
export function newConnectionId(protocol: Protocol): string {
  return `${protocol}:${nextConnectionId++}`;
}

export function remoteKey(protocol: Protocol, address: string, port: number): string {
  return `${protocol} ${address} ${port}`;
}

export const UNBOUND: Address = Object.freeze({ address: '', port: 0 });

/** Errors are always delivered asynchronously, so a caller of send() never re-enters itself. */
export function failLater(onError: SendErrorHandler | undefined, err: Error, log: (err: Error) => void): void {
  process.nextTick(() => {
    if (onError === undefined) {
      log(err);
      return;
    }
    try {
      onError(err);
    } catch (thrown) {
      log(thrown instanceof Error ? thrown : new Error(String(thrown)));
    }
  });
}

/** Largest backlog of unsent bytes on a connection before it is dropped as a slow reader. */
export const MAX_WRITE_BACKLOG = 4 * 1024 * 1024;

/** How long a connection we close gracefully may linger before it is destroyed. */
export const CLOSE_GRACE_MS = 5000;

/** Resolvers waiting for a connection to close (stop() awaits them). */
export class CloseWaiters {
  private waiters: (() => void)[] | null = [];

  wait(): Promise<void> {
    if (this.waiters === null) return Promise.resolve();
    return new Promise((resolve) => this.waiters?.push(resolve));
  }

  /** Marks closed; true the first time only. */
  settle(): boolean {
    const w = this.waiters;
    if (w === null) return false;
    this.waiters = null;
    for (const resolve of w) resolve();
    return true;
  }

  get settled(): boolean {
    return this.waiters === null;
  }
}
