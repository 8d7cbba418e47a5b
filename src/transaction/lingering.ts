/**
 * Transactions that only absorb retransmissions, kept compact. A Completed
 * non-INVITE server transaction over UDP (RFC 3261 §17.2.2) only answers
 * retransmissions of its request with its final response until Timer J
 * (64·T1 = 32 s); an INVITE server transaction whose 2xx was ACKed only
 * absorbs retransmitted INVITEs until Timer L (RFC 6026 §7.1); a settled or
 * failed INVITE client transaction only sends its ACK again for a
 * retransmitted final response until Timer M or D. At a few thousand
 * requests a second that is hundreds of thousands of them. Instead of a
 * transaction object and a timer entry each, the layer's table maps the key
 * to a number (the entry's id), and this FIFO (keys, deadlines and where each
 * message is, in flat arrays, in the order they entered the state, which is
 * the order their timer expires them) is swept by one coarse timer. The
 * bytes are copied into large off-heap chunks, written in the same order and
 * freed a chunk at a time once every entry in it has gone: no Buffer object,
 * message object or pool slab per entry is left for the garbage collector to
 * copy out of the young generation and mark, again and again, for 32 s
 * (before this, lingering cost ~13 % of the CPU of a Digest registration in
 * steady state; bench/register-pipeline.ts). The sweep fires at most
 * `slackMs` after a deadline, never before: absorbing retransmissions a
 * little longer than 64·T1 is harmless, forgetting early is not.
 */
import type { Address, Flow, PreparedResponse } from '../transport/types.js';

/** Node may run a timeout up to a millisecond before `performance.now()` says it is due. */
const EARLY_TOLERANCE_MS = 1;
/** Below this many swept slots the arrays are not compacted (the copy would cost more than it frees). */
const COMPACT_MIN = 1024;
/** Size of the off-heap chunks the responses are copied into (a larger response gets a chunk of its own size). */
const CHUNK_BYTES = 256 * 1024;

/** A lingering entry, as the layer's table holds it: unique for the life of the table. */
export type LingerId = number;

/**
 * True once a transaction kept as entry `id` (null: not compacted) has been
 * forgotten by its table: its timer's 64·T1 are over, it is Terminated.
 */
export function entryGone(table: { holds(key: string, id: LingerId): boolean }, key: string, id: LingerId | null): boolean {
  return id !== null && !table.holds(key, id);
}

/** What a lingering entry sends again: its bytes, and where to (two parts, kept in flat arrays). */
export interface LingeringMessage<F, A> {
  bytes: Buffer;
  flow: F;
  target: A;
}

/**
 * The FIFO itself, for any table of transactions: `T` is the live transaction
 * type of the table, `F` and `A` the two parts of where an entry's bytes go
 * (a server's flow and address; a client's send target). An entry with no
 * bytes only absorbs what matches it.
 */
export class LingeringMessages<T extends object, F, A> {
  private keys: string[] = [];
  private deadlines: number[] = [];
  private flows: F[] = [];
  private targets: A[] = [];
  /** Where each response's bytes are: absolute chunk number, offset, length. */
  private chunkNos: number[] = [];
  private offsets: number[] = [];
  private lengths: number[] = [];
  /** Id of the entry at index 0 of the arrays. */
  private base = 0;
  /** Index of the oldest live slot; slots before it were swept. */
  private head = 0;
  /** chunks[i] is chunk number firstChunk + i; the last one is being written. */
  private chunks: Buffer[] = [];
  private firstChunk = 0;
  private used = 0;
  private timeout: NodeJS.Timeout | null = null;
  /** onTerminated listeners of transactions that were already compacted (rare: the TU asked late). */
  private readonly listeners = new Map<LingerId, (() => void)[]>();

  /**
   * @param table the layer's server transaction table, shared so a retransmission costs one lookup
   * @param lifetimeMs Timer J
   * @param slackMs how late the sweep may run after a deadline
   * @param onListenerError called when an onTerminated listener throws
   */
  constructor(
    private readonly table: Map<string, T | LingerId>,
    private readonly lifetimeMs: number,
    private readonly slackMs: number,
    private readonly onListenerError: (err: unknown) => void,
  ) {}

  /** Replaces the transaction under `key` by `bytes` (sent to flow/target on a match) until Timer J; returns the entry's id. */
  addMessage(key: string, bytes: Buffer, flow: F, target: A): LingerId {
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || this.used + bytes.length > chunk.length) {
      chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, bytes.length));
      this.chunks.push(chunk);
      this.used = 0;
    }
    // TypedArray#set copies natively; Buffer#copy makes a view per call in JS first.
    chunk.set(bytes, this.used);
    const id = this.base + this.keys.length;
    this.keys.push(key);
    this.deadlines.push(performance.now() + this.lifetimeMs);
    this.flows.push(flow);
    this.targets.push(target);
    this.chunkNos.push(this.firstChunk + this.chunks.length - 1);
    this.offsets.push(this.used);
    this.lengths.push(bytes.length);
    this.used += bytes.length;
    this.table.set(key, id);
    if (this.timeout === null) this.arm();
    return id;
  }

  /** True while the table maps `key` to entry `id` (Timer J has not fired). */
  holds(key: string, id: LingerId): boolean {
    return this.table.get(key) === id;
  }

  /** What a live entry sends again (its bytes view the chunk: send them, do not keep them); null once forgotten. */
  message(id: LingerId): LingeringMessage<F, A> | null {
    const i = id - this.base;
    if (i < this.head || i >= this.keys.length) return null;
    const chunk = this.chunks[(this.chunkNos[i] as number) - this.firstChunk] as Buffer;
    const offset = this.offsets[i] as number;
    return { bytes: chunk.subarray(offset, offset + (this.lengths[i] as number)), flow: this.flows[i] as F, target: this.targets[i] as A };
  }

  /** Runs `listener` when Timer J forgets entry `id`, or at once if it already has. */
  onForgotten(key: string, id: LingerId, listener: () => void): void {
    if (!this.holds(key, id)) {
      this.call(listener);
      return;
    }
    const list = this.listeners.get(id);
    if (list === undefined) this.listeners.set(id, [listener]);
    else list.push(listener);
  }

  /** Number of responses lingering (for tests and metrics). */
  size(): number {
    return this.keys.length - this.head;
  }

  /** Number of off-heap chunks held (for tests). */
  chunkCount(): number {
    return this.chunks.length;
  }

  /** Forgets everything without running listeners (layer shutdown). */
  clear(): void {
    if (this.timeout !== null) clearTimeout(this.timeout);
    this.timeout = null;
    for (let i = this.head; i < this.keys.length; i++) {
      const key = this.keys[i] as string;
      if (this.table.get(key) === this.base + i) this.table.delete(key);
    }
    this.dropSlots(this.keys.length);
    this.head = 0;
    this.firstChunk += this.chunks.length;
    this.chunks = [];
    this.listeners.clear();
  }

  private arm(): void {
    const wait = (this.deadlines[this.head] as number) - performance.now() + this.slackMs;
    this.timeout = setTimeout(() => this.sweep(), Math.max(0, Math.ceil(wait)));
  }

  private sweep(): void {
    // this.timeout stays set while sweeping, so a listener that adds an entry does not arm a second timer.
    const now = performance.now() + EARLY_TOLERANCE_MS;
    const { keys, deadlines, table } = this;
    let i = this.head;
    for (; i < keys.length && (deadlines[i] as number) <= now; i++) {
      const id = this.base + i;
      if (table.get(keys[i] as string) === id) table.delete(keys[i] as string);
      if (this.listeners.size > 0) {
        this.head = i + 1;
        this.forgotten(id);
        // A listener stopped the layer (clear): the arrays being swept are gone.
        if (this.keys !== keys) return;
      }
    }
    this.head = i;
    this.freeChunks();
    this.compact();
    this.timeout = null;
    if (this.head < this.keys.length) this.arm();
  }

  private forgotten(id: LingerId): void {
    const list = this.listeners.get(id);
    if (list === undefined) return;
    this.listeners.delete(id);
    for (const l of list) this.call(l);
  }

  /** Frees the chunks before the oldest live entry's (the one being written stays). */
  private freeChunks(): void {
    const last = this.firstChunk + this.chunks.length - 1;
    const keep = this.head < this.keys.length ? (this.chunkNos[this.head] as number) : last;
    const drop = keep - this.firstChunk;
    if (drop <= 0) return;
    this.chunks.splice(0, drop);
    this.firstChunk = keep;
  }

  /** Drops swept slots once they are at least half the arrays (amortised O(1) per entry). */
  private compact(): void {
    const head = this.head;
    if (head === this.keys.length || (head >= COMPACT_MIN && head * 2 >= this.keys.length)) this.dropSlots(head);
  }

  /** Removes the first `n` slots of every array. */
  private dropSlots(n: number): void {
    const all = n === this.keys.length;
    const cut = <V>(a: V[]): V[] => (all ? [] : a.slice(n));
    this.keys = cut(this.keys);
    this.deadlines = cut(this.deadlines);
    this.flows = cut(this.flows);
    this.targets = cut(this.targets);
    this.chunkNos = cut(this.chunkNos);
    this.offsets = cut(this.offsets);
    this.lengths = cut(this.lengths);
    this.base += n;
    this.head -= n;
  }

  private call(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      this.onListenerError(err);
    }
  }
}

/** Completed non-INVITE (and Accepted INVITE) server transactions: the final response, resent to its flow and address. */
export class LingeringResponses<T extends object> extends LingeringMessages<T, Flow, Address> {
  add(key: string, response: PreparedResponse): LingerId {
    return this.addMessage(key, response.bytes, response.flow, response.target);
  }

  /** The response of a live entry, to resend on a retransmitted request; null once forgotten. */
  response(id: LingerId): PreparedResponse | null {
    const m = this.message(id);
    if (m === null) return null;
    // Read back from the status line ("SIP/2.0 NNN …"): no per-entry slot for what the bytes say.
    return { status: Number(m.bytes.toString('latin1', 8, 11)), bytes: m.bytes, flow: m.flow, target: m.target };
  }
}
