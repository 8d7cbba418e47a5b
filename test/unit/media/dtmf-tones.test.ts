/**
 * `<Play digits>` tones (src/media/prompt/dtmf-tones.ts): every key comes
 * out as its Q.23 pair, heard by an independent Goertzel detector; `w` is
 * half a second of silence; the timing is 100 ms of tone, 100 ms of silence.
 */
import { expect } from 'chai';
import { dtmfToneSamples } from '../../../src/media/prompt/dtmf-tones.js';
import { decodeG711, encodeG711 } from '../../../src/media/prompt/g711.js';
import { detectDtmf } from '../../helpers/dtmf-detect.js';

describe('DTMF tones for <Play digits>', () => {
  it('every key is heard as itself, in order, also after G.711 (both laws)', () => {
    const all = '123456789*0#';
    const samples = dtmfToneSamples(all);
    expect(detectDtmf(samples)).to.equal(all);
    for (const law of ['PCMU', 'PCMA'] as const) expect(detectDtmf(decodeG711(law, encodeG711(law, samples))), law).to.equal(all);
  });

  it('a repeated key is two digits (the gap separates them); w is half a second of silence', () => {
    expect(detectDtmf(dtmfToneSamples('55'))).to.equal('55');
    const waited = dtmfToneSamples('1w2');
    expect(waited.length, '200 ms + 500 ms + 200 ms').to.equal(7200);
    expect(waited.subarray(1600, 1600 + 4000).every((v) => v === 0), 'w is silence').to.equal(true);
    expect(detectDtmf(waited)).to.equal('12');
  });

  it('refuses what is not a key', () => {
    expect(() => dtmfToneSamples('1A')).to.throw(RangeError, /"A" is not a DTMF digit/);
  });
});
