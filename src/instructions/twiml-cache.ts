/**
 * Parsed TwiML by document text. Many applications answer every call with
 * the same few documents (static TwiML, a Bin, a template without per-call
 * values), and parsing one — validation, the library's tree, the verb
 * reader — was ~4 % of Herald's CPU per call for a 90-byte `<Dial>`.
 * `parseTwiml` is a pure function of the text, so a result can be shared:
 * results are frozen all the way down, so no caller can change what the next
 * one gets. Bounded in entries and in the size of a document it keeps;
 * the oldest entry goes first.
 */
import { parseTwiml } from './twiml-parser.js';
import type { TwimlResult } from './twiml-types.js';

export interface TwimlCacheLimits {
  /** Documents kept. Default 256. */
  readonly maxEntries?: number;
  /** Longer documents are parsed every time, never kept. Default 4096 characters. */
  readonly maxDocumentChars?: number;
}

export class TwimlCache {
  private readonly results = new Map<string, TwimlResult>();
  private readonly maxEntries: number;
  private readonly maxDocumentChars: number;

  constructor(limits: TwimlCacheLimits = {}) {
    this.maxEntries = limits.maxEntries ?? 256;
    this.maxDocumentChars = limits.maxDocumentChars ?? 4096;
  }

  /** Entries held (tests). */
  get size(): number {
    return this.results.size;
  }

  parse(xml: string): TwimlResult {
    if (xml.length > this.maxDocumentChars || this.maxEntries <= 0) return parseTwiml(xml);
    const known = this.results.get(xml);
    if (known !== undefined) return known;
    const result = deepFreeze(parseTwiml(xml));
    if (this.results.size >= this.maxEntries) {
      const oldest = this.results.keys().next().value;
      if (oldest !== undefined) this.results.delete(oldest);
    }
    this.results.set(xml, result);
    return result;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const inner of Object.values(value)) deepFreeze(inner);
  return Object.freeze(value);
}
