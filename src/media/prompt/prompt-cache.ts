/**
 * Prompt audio kept between calls. A busy number plays the same greeting to
 * every caller: without this each call fetched and decoded the WAV again (or
 * spawned espeak-ng for the same text), and a burst of calls fetched it once
 * per call at the same moment.
 *
 * - Calls that ask for the same prompt while it is being made share that one
 *   fetch (or espeak-ng run), whatever its response allows afterwards.
 * - A `<Play>` WAV is then kept as long as its response's Cache-Control
 *   max-age says (prompt-audio.ts `freshnessMs`; nothing without it);
 *   `<Say>` audio (same text and voice, same speech) is kept until pushed out.
 * - Bounded by samples (2 bytes each); the least recently used go first.
 *   Failures are never kept.
 */
export interface MadePrompt {
  samples: Int16Array;
  /** How long it may be reused; 0: only by calls that asked while it was being made; Infinity: until pushed out. */
  freshForMs: number;
}

interface Entry {
  samples: Int16Array;
  expiresAt: number;
}

/** 16 M samples: 32 MB, about 35 minutes of 8 kHz audio. */
const DEFAULT_MAX_SAMPLES = 16 * 1024 * 1024;

export class PromptCache {
  private readonly entries = new Map<string, Entry>();
  private readonly making = new Map<string, Promise<MadePrompt>>();
  private samples = 0;

  constructor(
    private readonly maxSamples = DEFAULT_MAX_SAMPLES,
    private readonly now: () => number = Date.now,
  ) {}

  /** The prompt for `key`: kept, being made, or made now by `make`. */
  async get(key: string, make: () => Promise<MadePrompt>): Promise<Int16Array> {
    const kept = this.entries.get(key);
    if (kept !== undefined) {
      if (kept.expiresAt > this.now()) {
        // Most recently used goes last (Map order is the eviction order).
        this.entries.delete(key);
        this.entries.set(key, kept);
        return kept.samples;
      }
      this.drop(key, kept);
    }
    let pending = this.making.get(key);
    if (pending === undefined) {
      // Kept before it stops being "in the making": no moment where a caller finds neither.
      pending = make()
        .then((made) => {
          this.keep(key, made);
          return made;
        })
        .finally(() => this.making.delete(key));
      this.making.set(key, pending);
    }
    return (await pending).samples;
  }

  /** Prompts kept now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private keep(key: string, made: MadePrompt): void {
    if (made.freshForMs <= 0 || made.samples.length > this.maxSamples) return;
    const old = this.entries.get(key);
    if (old !== undefined) this.drop(key, old);
    this.entries.set(key, { samples: made.samples, expiresAt: this.now() + made.freshForMs });
    this.samples += made.samples.length;
    for (const [oldest, entry] of this.entries) {
      if (this.samples <= this.maxSamples) break;
      this.drop(oldest, entry);
    }
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.samples -= entry.samples.length;
  }
}
