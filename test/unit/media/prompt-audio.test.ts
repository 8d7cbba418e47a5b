/** Prompts' audio as pure logic: G.711 codes (src/media/prompt/g711.ts) and WAV reading (src/media/prompt/wav.ts). */
import { expect } from 'chai';
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToMulaw, mulawToLinear } from '../../../src/media/prompt/g711.js';
import { PromptAudioError } from '../../../src/media/prompt/prompt-audio-error.js';
import { readWav, writeWav } from '../../../src/media/prompt/wav.js';

function tone(hz: number, rate: number, seconds: number, amplitude = 8000): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** Zero crossings per second: twice the frequency of a pure tone. */
function crossingsPerSecond(s: Int16Array, rate: number): number {
  let n = 0;
  for (let i = 1; i < s.length; i++) if ((s[i - 1]! < 0) !== (s[i]! < 0)) n++;
  return (n * rate) / s.length;
}

describe('G.711', () => {
  it('µ-law: the reference codes for silence, full scale and small values', () => {
    expect(linearToMulaw(0)).to.equal(0xff);
    expect(linearToMulaw(-1)).to.equal(0x7f);
    expect(linearToMulaw(32767)).to.equal(0x80);
    expect(linearToMulaw(-32768)).to.equal(0x00);
    expect(linearToMulaw(1000)).to.equal(0xce);
    expect(mulawToLinear(0xff)).to.equal(0);
    expect(mulawToLinear(0x80)).to.equal(32124);
    expect(mulawToLinear(0x00)).to.equal(-32124);
    expect(mulawToLinear(0xce)).to.equal(988);
  });

  it('A-law: the reference codes (even bits inverted, 0xD5 for silence)', () => {
    expect(linearToAlaw(0)).to.equal(0xd5);
    expect(linearToAlaw(-1)).to.equal(0x55);
    expect(linearToAlaw(32767)).to.equal(0xaa);
    expect(linearToAlaw(-32768)).to.equal(0x2a);
    expect(linearToAlaw(1000)).to.equal(0xfa);
    expect(alawToLinear(0xd5)).to.equal(8);
    expect(alawToLinear(0x55)).to.equal(-8);
    expect(alawToLinear(0xaa)).to.equal(32256);
    expect(alawToLinear(0xfa)).to.equal(1008);
  });

  it('every code decodes to a value that encodes back to it (both laws)', () => {
    for (let code = 0; code < 256; code++) {
      // µ-law has two codes for zero (0x7F and 0xFF); A-law has none.
      if (code !== 0x7f) expect(linearToMulaw(mulawToLinear(code)), `µ-law ${code}`).to.equal(code);
      expect(linearToAlaw(alawToLinear(code)), `A-law ${code}`).to.equal(code);
    }
  });

  it('a tone survives a round trip within G.711\'s quantisation (under 1/16 of the amplitude)', () => {
    const t = tone(1000, 8000, 0.1);
    for (const law of ['PCMU', 'PCMA'] as const) {
      const back = decodeG711(law, encodeG711(law, t));
      const worst = Math.max(...t.map((v, i) => Math.abs(v - back[i]!)));
      expect(worst, law).to.be.below(8000 / 16);
    }
  });
});

describe('WAV prompts', () => {
  it('8 kHz mono 16-bit is read as it is', () => {
    const t = tone(1000, 8000, 0.05);
    expect(Array.from(readWav(writeWav(t, 8000)))).to.deep.equal(Array.from(t));
  });

  it('44.1 kHz stereo is averaged and resampled to 8 kHz, keeping the tone\'s frequency and length', () => {
    const mono = tone(1000, 44100, 0.5);
    const stereo = new Int16Array(mono.length * 2);
    mono.forEach((v, i) => {
      stereo[2 * i] = v;
      stereo[2 * i + 1] = v;
    });
    const out = readWav(writeWav(stereo, 44100, 2));
    expect(out.length).to.be.within(3990, 4000);
    expect(crossingsPerSecond(out, 8000)).to.be.within(1900, 2100);
  });

  it('8-bit unsigned PCM becomes signed 16-bit (128 is silence)', () => {
    const wav = writeWav(new Int16Array(0), 8000);
    wav.writeUInt16LE(1, 32);
    wav.writeUInt16LE(8, 34);
    const data = Buffer.from([128, 255, 0, 128]);
    wav.writeUInt32LE(data.length, 40);
    expect(Array.from(readWav(Buffer.concat([wav, data])))).to.deep.equal([0, 127 << 8, -128 << 8, 0]);
  });

  it('refuses what it cannot play with a clear reason', () => {
    expect(() => readWav(Buffer.from('ID3 not a wav at all'))).to.throw(PromptAudioError, /RIFF/);
    const float = writeWav(new Int16Array(8), 8000);
    float.writeUInt16LE(3, 20);
    expect(() => readWav(float)).to.throw(PromptAudioError, /format 3/);
    const odd = writeWav(new Int16Array(8), 12345);
    expect(() => readWav(odd)).to.throw(PromptAudioError, /12345 Hz/);
    const wide = writeWav(new Int16Array(8), 8000);
    wide.writeUInt16LE(24, 34);
    expect(() => readWav(wide)).to.throw(PromptAudioError, /24-bit/);
    const surround = writeWav(new Int16Array(8), 8000);
    surround.writeUInt16LE(6, 22);
    expect(() => readWav(surround)).to.throw(PromptAudioError, /6 channels/);
  });
});
