/**
 * The header fields of a message, in order, with their raw values. Nothing
 * inside a value is parsed until someone asks (`memo`), and the memo is
 * dropped whenever the headers change.
 */
import { headerKey, headerName, LIST_HEADERS } from './header-names.js';
import { splitList } from './grammar.js';

/** The parsed views memoized on a message's headers (see src/sip/fields.ts). */
export type MemoSlot = 'cseq' | 'via' | 'from' | 'to' | 'contact';

const SLOT_INDEX: Readonly<Record<MemoSlot, number>> = { cseq: 0, via: 1, from: 2, to: 3, contact: 4 };
const SLOT_COUNT = 5;
/** Marks a slot not computed yet (null is a legitimate memoized value: "absent or malformed"). */
const UNSET: unique symbol = Symbol('unset');

export interface HeaderField {
  /** lower-case long form: the lookup key. */
  readonly key: string;
  /** spelling written on the wire. */
  readonly name: string;
  readonly value: string;
}

export class Headers {
  private fields: HeaderField[];
  /**
   * Memoized views, one fixed slot each: an array allocated on first use
   * instead of a Map per message (a Map costs a hash table and its lookups
   * on every parsed message; the slots are known in advance).
   */
  private cache: unknown[] | null = null;

  constructor(fields: HeaderField[] = []) {
    this.fields = fields;
  }

  /** Builds a field; a compact form (`v`, `i`…) is written in its long form, other spellings as given. */
  static field(name: string, value: string): HeaderField {
    const { key, spelled } = headerName(name);
    return { key, name: spelled, value };
  }

  get size(): number {
    return this.fields.length;
  }

  all(): readonly HeaderField[] {
    return this.fields;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    return this.fields.some((f) => f.key === key);
  }

  /** The first field's value. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    for (const f of this.fields) if (f.key === key) return f.value;
    return undefined;
  }

  /** Every field's value, one entry per header line. */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const f of this.fields) if (f.key === key) out.push(f.value);
    return out;
  }

  count(name: string): number {
    const key = headerKey(name);
    let n = 0;
    for (const f of this.fields) if (f.key === key) n++;
    return n;
  }

  /**
   * The list elements of a header across all its lines (§7.3.1), split on
   * commas for list headers; null when a value cannot be split (open quote).
   */
  list(name: string): string[] | null {
    const key = headerKey(name);
    const splittable = LIST_HEADERS.has(key);
    const out: string[] = [];
    for (const f of this.fields) {
      if (f.key !== key) continue;
      if (!splittable) {
        out.push(f.value);
        continue;
      }
      const parts = splitList(f.value);
      if (parts === null) return null;
      for (const p of parts) if (p.length > 0) out.push(p);
    }
    return out;
  }

  append(name: string, value: string): this {
    this.fields.push(Headers.field(name, value));
    this.cache = null;
    return this;
  }

  /** Inserts before the first field of that name (or at the top): Via, Record-Route. */
  prepend(name: string, value: string): this {
    const field = Headers.field(name, value);
    const at = this.fields.findIndex((f) => f.key === field.key);
    this.fields.splice(at < 0 ? 0 : at, 0, field);
    this.cache = null;
    return this;
  }

  /** Replaces every field of that name by one, where the first one stood. */
  set(name: string, value: string): this {
    const field = Headers.field(name, value);
    const at = this.fields.findIndex((f) => f.key === field.key);
    if (at < 0) this.fields.push(field);
    else {
      this.fields[at] = field;
      this.fields = this.fields.filter((f, i) => i <= at || f.key !== field.key);
    }
    this.cache = null;
    return this;
  }

  remove(name: string): this {
    const key = headerKey(name);
    this.fields = this.fields.filter((f) => f.key !== key);
    this.cache = null;
    return this;
  }

  /** Removes the first list element of a header (the top Via on a response going upstream). */
  removeFirst(name: string): this {
    const key = headerKey(name);
    const at = this.fields.findIndex((f) => f.key === key);
    if (at < 0) return this;
    const field = this.fields[at] as HeaderField;
    const parts = LIST_HEADERS.has(key) ? splitList(field.value) : null;
    if (parts !== null && parts.length > 1) {
      this.fields[at] = { ...field, value: parts.slice(1).join(', ') };
    } else {
      this.fields.splice(at, 1);
    }
    this.cache = null;
    return this;
  }

  clone(): Headers {
    return new Headers(this.fields.slice());
  }

  /**
   * Replaces the first list element of a header by `value` and memoizes
   * `view` as its parsed form, when the caller already holds it (the top Via
   * edited in place by stampVia): the next reader does not parse it again.
   */
  replaceFirst(name: string, value: string, slot: MemoSlot, view: unknown): this {
    this.removeFirst(name);
    this.prepend(name, value);
    this.memo(slot, () => view);
    return this;
  }

  /** The view memoized in `slot`, or undefined when none was computed since the last change. */
  memoized(slot: MemoSlot): unknown {
    const v = this.cache?.[SLOT_INDEX[slot]];
    return v === UNSET ? undefined : v;
  }

  /**
   * Caches a parsed view of the headers until they change. `compute` gets
   * the headers, so callers pass one static function rather than a closure
   * made on every call (these views are read many times per message).
   */
  memo<T>(slot: MemoSlot, compute: (headers: Headers) => T): T {
    const i = SLOT_INDEX[slot];
    let cache = this.cache;
    if (cache === null) cache = this.cache = new Array<unknown>(SLOT_COUNT).fill(UNSET);
    const hit = cache[i];
    if (hit !== UNSET) return hit as T;
    const v = compute(this);
    // compute() may have changed the headers (dropping the cache); store only into the current one.
    if (this.cache === cache) cache[i] = v;
    return v;
  }
}
