/**
 * Completed non-INVITE server transactions over UDP, kept compact (RFC 3261
 * §17.2.2). In Completed such a transaction only answers retransmissions of
 * its request with its final response until Timer J (64·T1 = 32 s) fires; at
 * a few thousand requests a second that is hundreds of thousands of them.
 * Instead of a transaction object and a timer entry each, the layer's table
 * maps the key to the prepared response itself, and this FIFO (keys and
 * deadlines in flat arrays, in the order they entered Completed, which is
 * the order Timer J expires them) is swept by one coarse timer. The sweep
 * fires at most `slackMs` after a deadline, never before: absorbing
 * retransmissions a little longer than 64·T1 is harmless, forgetting the
 * response early is not.
 */
import type { PreparedResponse } from '../transport/types.js';

/** Node may run a timeout up to a millisecond before `performance.now()` says it is due. */
const EARLY_TOLERANCE_MS = 1;
/** Below this many swept slots the arrays are not compacted (the copy would cost more than it frees). */
const COMPACT_MIN = 1024;

export class LingeringResponses<T> {
  private keys: string[] = [];
  private responses: PreparedResponse[] = [];
  private deadlines: number[] = [];
  /** Index of the oldest live slot; slots before it were swept. */
  private head = 0;
  private timeout: NodeJS.Timeout | null = null;
  /** onTerminated listeners of transactions that were already compacted (rare: the TU asked late). */
  private readonly listeners = new Map<PreparedResponse, (() => void)[]>();

  /**
   * @param table the layer's server transaction table, shared so a retransmission costs one lookup
   * @param lifetimeMs Timer J
   * @param slackMs how late the sweep may run after a deadline
   * @param onListenerError called when an onTerminated listener throws
   */
  constructor(
    private readonly table: Map<string, T | PreparedResponse>,
    private readonly lifetimeMs: number,
    private readonly slackMs: number,
    private readonly onListenerError: (err: unknown) => void,
  ) {}

  /** Replaces the transaction under `key` by its final response until Timer J. */
  add(key: string, response: PreparedResponse): void {
    this.table.set(key, response);
    this.keys.push(key);
    this.responses.push(response);
    this.deadlines.push(performance.now() + this.lifetimeMs);
    if (this.timeout === null) this.arm();
  }

  /** True while the response is what the table holds for `key` (Timer J has not fired). */
  holds(key: string, response: PreparedResponse): boolean {
    return this.table.get(key) === response;
  }

  /** Runs `listener` when Timer J forgets `response`, or at once if it already has. */
  onForgotten(key: string, response: PreparedResponse, listener: () => void): void {
    if (!this.holds(key, response)) {
      this.call(listener);
      return;
    }
    const list = this.listeners.get(response);
    if (list === undefined) this.listeners.set(response, [listener]);
    else list.push(listener);
  }

  /** Number of responses lingering (for tests and metrics). */
  size(): number {
    return this.keys.length - this.head;
  }

  /** Forgets everything without running listeners (layer shutdown). */
  clear(): void {
    if (this.timeout !== null) clearTimeout(this.timeout);
    this.timeout = null;
    for (let i = this.head; i < this.keys.length; i++) {
      const key = this.keys[i] as string;
      if (this.table.get(key) === this.responses[i]) this.table.delete(key);
    }
    this.keys = [];
    this.responses = [];
    this.deadlines = [];
    this.head = 0;
    this.listeners.clear();
  }

  private arm(): void {
    const wait = (this.deadlines[this.head] as number) - performance.now() + this.slackMs;
    this.timeout = setTimeout(() => this.sweep(), Math.max(0, Math.ceil(wait)));
  }

  private sweep(): void {
    // this.timeout stays set while sweeping, so a listener that adds an entry does not arm a second timer.
    const now = performance.now() + EARLY_TOLERANCE_MS;
    const { keys, responses, deadlines, table } = this;
    let i = this.head;
    for (; i < keys.length && (deadlines[i] as number) <= now; i++) {
      const key = keys[i] as string;
      const response = responses[i] as PreparedResponse;
      if (table.get(key) === response) table.delete(key);
      if (this.listeners.size > 0) {
        this.head = i + 1;
        this.forgotten(response);
        // A listener stopped the layer (clear): the arrays being swept are gone.
        if (this.keys !== keys) return;
      }
    }
    this.head = i;
    this.compact();
    this.timeout = null;
    if (this.head < this.keys.length) this.arm();
  }

  private forgotten(response: PreparedResponse): void {
    const list = this.listeners.get(response);
    if (list === undefined) return;
    this.listeners.delete(response);
    for (const l of list) this.call(l);
  }

  /** Drops swept slots once they are at least half the arrays (amortised O(1) per entry). */
  private compact(): void {
    const head = this.head;
    if (head === this.keys.length) {
      this.keys = [];
      this.responses = [];
      this.deadlines = [];
      this.head = 0;
    } else if (head >= COMPACT_MIN && head * 2 >= this.keys.length) {
      this.keys = this.keys.slice(head);
      this.responses = this.responses.slice(head);
      this.deadlines = this.deadlines.slice(head);
      this.head = 0;
    }
  }

  private call(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      this.onListenerError(err);
    }
  }
}
