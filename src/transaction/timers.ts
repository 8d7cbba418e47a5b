/**
 * Transaction timers (RFC 3261 §17, Table 4; RFC 6026 §8.11).
 *
 * Every timer of every transaction goes through one `TimerQueue` per layer.
 * Timers of equal duration expire in the order they were started, so each
 * duration keeps a FIFO (doubly linked, O(1) start and cancel) and a single
 * Node timeout armed for its head. With tens of thousands of transactions the
 * number of Node timeouts stays at the handful of distinct durations in use
 * (T1·2ⁿ, T2, T4, 64·T1, Timer D), and `clear()` stops them all.
 */
import { DEFAULT_TIMERS, type TimerSettings } from './types.js';

/** TimerSettings plus Timer D, which RFC 3261 fixes in seconds rather than in T1. */
export interface TransactionTimerSettings extends TimerSettings {
  /** Timer D: how long an INVITE client transaction absorbs retransmitted final responses over UDP, ms (§17.1.1.2: at least 32 s). */
  timerD: number;
}

/** Fills in the RFC defaults (T1 500 ms, T2 4 s, T4 5 s, Timer D 32 s). */
export function resolveTimers(
  partial: Partial<TransactionTimerSettings> = {},
): TransactionTimerSettings {
  const t1 = partial.t1 ?? DEFAULT_TIMERS.t1;
  const t2 = partial.t2 ?? Math.max(DEFAULT_TIMERS.t2, t1);
  const t4 = partial.t4 ?? DEFAULT_TIMERS.t4;
  // §17.1.1.2: Timer D is at least 32 s for UDP; it also must outlast the server's Timer H (64·T1).
  const timerD = partial.timerD ?? Math.max(32000, 64 * t1);
  for (const [name, v] of [
    ['t1', t1],
    ['t2', t2],
    ['t4', t4],
    ['timerD', timerD],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0)
      throw new RangeError(`timer ${name} must be a positive number of ms`);
  }
  if (t2 < t1) throw new RangeError('timer t2 must not be smaller than t1');
  return { t1, t2, t4, timerD };
}

/** The RFC 3261 / RFC 6026 timer names used by the four state machines. */
export type TimerName =
  | 'A' // INVITE client: request retransmit (UDP)
  | 'B' // INVITE client: transaction timeout
  | 'D' // INVITE client: wait for response retransmits
  | 'E' // non-INVITE client: request retransmit (UDP)
  | 'F' // non-INVITE client: transaction timeout
  | 'G' // INVITE server: final response retransmit (UDP)
  | 'H' // INVITE server: wait for ACK
  | 'I' // INVITE server: wait for ACK retransmits
  | 'J' // non-INVITE server: wait for request retransmits
  | 'K' // non-INVITE client: wait for response retransmits
  | 'L' // INVITE server: Accepted (RFC 6026)
  | 'M' // INVITE client: Accepted (RFC 6026)
  | '2xx'; // INVITE server: 2xx retransmit until ACK (§13.3.1.4)

export interface TimerOwner {
  onTimer(name: TimerName): void;
}

/** A started timer; pass it to `TimerQueue.cancel`. */
export interface TimerHandle {
  readonly name: TimerName;
}

class Entry implements TimerHandle {
  prev: Entry | null = null;
  next: Entry | null = null;
  constructor(
    readonly name: TimerName,
    readonly owner: TimerOwner,
    readonly deadline: number,
    public list: DurationList | null,
  ) {}
}

class DurationList {
  head: Entry | null = null;
  tail: Entry | null = null;
  timeout: NodeJS.Timeout | null = null;
  constructor(readonly ms: number) {}
}

/** Node may run a timeout up to a millisecond before `performance.now()` says it is due. */
const EARLY_TOLERANCE_MS = 1;

export class TimerQueue {
  private readonly lists = new Map<number, DurationList>();
  private active = 0;

  constructor(private readonly onError: (err: unknown, name: TimerName) => void) {}

  /** Number of running timers (for tests and metrics). */
  size(): number {
    return this.active;
  }

  start(ms: number, owner: TimerOwner, name: TimerName): TimerHandle {
    let list = this.lists.get(ms);
    if (list === undefined) {
      list = new DurationList(ms);
      this.lists.set(ms, list);
    }
    const entry = new Entry(name, owner, performance.now() + ms, list);
    if (list.tail === null) {
      list.head = entry;
      list.tail = entry;
    } else {
      entry.prev = list.tail;
      list.tail.next = entry;
      list.tail = entry;
    }
    this.active++;
    // Entries of one list expire in insertion order, so a non-empty list already has a timeout due no
    // later than this entry (or is being expired right now, and `expire` re-arms it for its head).
    if (list.head === entry && list.timeout === null) this.arm(list, ms);
    return entry;
  }

  cancel(handle: TimerHandle | null): null {
    if (handle === null) return null;
    const entry = handle as Entry;
    const list = entry.list;
    if (list === null) return null;
    if (entry.prev !== null) entry.prev.next = entry.next;
    else list.head = entry.next;
    if (entry.next !== null) entry.next.prev = entry.prev;
    else list.tail = entry.prev;
    entry.prev = null;
    entry.next = null;
    entry.list = null;
    this.active--;
    // The list's Node timeout is left armed: when it fires it finds nothing due and re-arms or rests.
    return null;
  }

  /** Cancels every timer and every Node timeout. */
  clear(): void {
    for (const list of this.lists.values()) {
      if (list.timeout !== null) clearTimeout(list.timeout);
      list.timeout = null;
      for (let e = list.head; e !== null;) {
        const next = e.next;
        e.prev = null;
        e.next = null;
        e.list = null;
        e = next;
      }
      list.head = null;
      list.tail = null;
    }
    this.lists.clear();
    this.active = 0;
  }

  private arm(list: DurationList, ms: number): void {
    list.timeout = setTimeout(() => this.expire(list), Math.max(0, Math.ceil(ms)));
  }

  private expire(list: DurationList): void {
    list.timeout = null;
    const now = performance.now() + EARLY_TOLERANCE_MS;
    let e = list.head;
    while (e !== null && e.deadline <= now) {
      this.cancel(e);
      try {
        e.owner.onTimer(e.name);
      } catch (err) {
        this.onError(err, e.name);
      }
      e = list.head;
    }
    if (list.head !== null) {
      if (list.timeout === null) this.arm(list, list.head.deadline - performance.now());
    } else if (this.lists.get(list.ms) === list && list.timeout === null) {
      // Idle duration lists are dropped so odd durations (e.g. doubling intervals) do not accumulate.
      this.lists.delete(list.ms);
    }
  }
}
