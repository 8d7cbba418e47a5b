/**
 * The prompt cache (src/media/prompt/prompt-cache.ts): concurrent asks share
 * one making; a prompt is kept as long as it says and no longer; failures are
 * not kept; the least recently used go first when the samples bound is hit.
 */
import { expect } from 'chai';
import { PromptCache, type MadePrompt } from '../../../src/media/prompt/prompt-cache.js';

function maker(samples: number, freshForMs: number) {
  let made = 0;
  const make = async (): Promise<MadePrompt> => {
    made++;
    await new Promise((r) => setImmediate(r));
    return { samples: new Int16Array(samples), freshForMs };
  };
  return { make, made: () => made };
}

describe('prompt cache', () => {
  it('ten calls asking at once share one making, even when the result may not be kept', async () => {
    const cache = new PromptCache();
    const m = maker(10, 0);
    const results = await Promise.all(Array.from({ length: 10 }, () => cache.get('play\0u', m.make)));
    expect(m.made()).to.equal(1);
    expect(new Set(results).size).to.equal(1);
    // Not fresh: the next call makes it again.
    await cache.get('play\0u', m.make);
    expect(m.made()).to.equal(2);
    expect(cache.size).to.equal(0);
  });

  it('keeps a prompt for its freshness and makes it again afterwards', async () => {
    let now = 1_000;
    const cache = new PromptCache(1_000_000, () => now);
    const m = maker(10, 60_000);
    await cache.get('k', m.make);
    now += 59_999;
    await cache.get('k', m.make);
    expect(m.made()).to.equal(1);
    now += 2;
    await cache.get('k', m.make);
    expect(m.made()).to.equal(2);
  });

  it('does not keep failures: the next ask tries again', async () => {
    const cache = new PromptCache();
    let tries = 0;
    const failing = async (): Promise<MadePrompt> => {
      tries++;
      throw new Error('unreachable');
    };
    for (let i = 0; i < 2; i++) {
      try {
        await cache.get('k', failing);
        expect.fail('should have thrown');
      } catch (err) {
        expect((err as Error).message).to.equal('unreachable');
      }
    }
    expect(tries).to.equal(2);
  });

  it('over its bound it lets the least recently used go, and never keeps one prompt larger than the bound', async () => {
    const cache = new PromptCache(25);
    const a = maker(10, Infinity);
    const b = maker(10, Infinity);
    const c = maker(10, Infinity);
    await cache.get('a', a.make);
    await cache.get('b', b.make);
    await cache.get('a', a.make); // a is now the most recently used
    await cache.get('c', c.make); // 30 > 25: b goes
    expect(cache.size).to.equal(2);
    await cache.get('a', a.make);
    await cache.get('b', b.make);
    expect([a.made(), b.made(), c.made()]).to.deep.equal([1, 2, 1]);
    const huge = maker(26, Infinity);
    await cache.get('huge', huge.make);
    await cache.get('huge', huge.make);
    expect(huge.made()).to.equal(2);
  });
});
