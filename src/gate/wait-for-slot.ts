/**
 * Queueing in front of the gate: instead of refusing at once, try again until
 * a slot frees or `waitMs` has passed. A gate that announces releases
 * (`waitForRelease`, the memory gate) wakes a waiter at once; otherwise the
 * waiter polls with a back-off from 5 ms to 200 ms (Redis: a few extra
 * scripts per waiting request, no extra connection for pub/sub).
 *
 * Waiters race for a freed slot (no FIFO order): each retry is a plain
 * acquire, so a slot can never be given twice, and a waiter whose request
 * went away (`signal`) stops at once.
 */
import { performance } from 'node:perf_hooks';

export interface WaitForSlotOptions {
  /** How long to keep trying after the first refusal, ms; 0 = one attempt. */
  waitMs: number;
  /** Stop waiting (the client went away): the last refusal is returned. */
  signal?: AbortSignal;
  /** Resolves at a release or after `maxWaitMs` (ConcurrencyGate.waitForRelease); without it, a plain timer. */
  wake?: (maxWaitMs: number) => Promise<void>;
}

const FIRST_PAUSE_MS = 5;
const MAX_PAUSE_MS = 200;

export async function waitForSlot<R extends { granted: boolean }>(attempt: () => Promise<R>, options: WaitForSlotOptions): Promise<R> {
  const deadline = performance.now() + options.waitMs;
  let pauseMs = FIRST_PAUSE_MS;
  for (;;) {
    const result = await attempt();
    if (result.granted) return result;
    const left = deadline - performance.now();
    if (left <= 0 || options.signal?.aborted === true) return result;
    await pause(Math.min(pauseMs, left), options);
    pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS);
  }
}

function pause(ms: number, options: WaitForSlotOptions): Promise<void> {
  const signal = options.signal;
  return new Promise((resolve) => {
    const onAbort = (): void => resolve();
    signal?.addEventListener('abort', onAbort, { once: true });
    const waited = options.wake !== undefined ? options.wake(ms) : new Promise<void>((r) => setTimeout(r, ms));
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    waited.then(done, done);
  });
}
