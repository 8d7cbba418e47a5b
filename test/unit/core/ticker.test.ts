import { expect } from 'chai';
import { Ticker } from '../../../src/core/ticker.js';

/** Resolves once `ticks` holds `count` entries. */
function ticked(ticks: string[], count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => (ticks.length >= count ? resolve() : void setTimeout(check, 2));
    check();
  });
}

describe('Ticker (one timer for many periodic duties)', () => {
  it('ticks every member each period, none after it leaves, and stops its timer when empty', async () => {
    const ticks: string[] = [];
    const ticker = new Ticker<string>(10, (m) => ticks.push(m));
    ticker.add('a');
    ticker.add('b');
    await ticked(ticks, 4);
    expect(ticks.slice(0, 4).sort()).to.deep.equal(['a', 'a', 'b', 'b']);
    ticker.delete('a');
    const from = ticks.length;
    await ticked(ticks, from + 2);
    expect(ticks.slice(from + 1), 'a left: only b').to.not.include('a');
    ticker.delete('b');
    expect((ticker as unknown as { timer: unknown }).timer, 'no member, no timer').to.equal(null);
    const stopped = ticks.length;
    await new Promise((r) => setTimeout(r, 40));
    expect(ticks.length).to.equal(stopped);
    ticker.add('c');
    await ticked(ticks, stopped + 1);
    expect(ticks.at(-1)).to.equal('c');
    ticker.delete('c');
  });
});
