/**
 * WAV files for `<Play>`: RIFF/WAVE with PCM data (format 1, or
 * WAVE_FORMAT_EXTENSIBLE naming PCM), 8- or 16-bit, mono or stereo, at any
 * common rate, read into what prompts are played from: 8 kHz mono 16-bit
 * samples. Anything else is a PromptAudioError that says what the file was.
 */
import { PromptAudioError } from './prompt-audio-error.js';

export const PROMPT_RATE = 8000;

const RATES = new Set([8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000]);
const FORMAT_PCM = 1;
const FORMAT_EXTENSIBLE = 0xfffe;

/** A WAV file's samples at 8 kHz, mono, 16-bit. */
export function readWav(file: Buffer): Int16Array {
  if (file.length < 12 || file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') {
    throw new PromptAudioError('not a WAV file (no RIFF/WAVE header)');
  }
  let format: { code: number; channels: number; rate: number; bits: number } | null = null;
  let data: Buffer | null = null;
  // Chunks are word-aligned (a pad byte after an odd size); a truncated last data chunk is read as far as it goes.
  for (let at = 12; at + 8 <= file.length; ) {
    const id = file.toString('latin1', at, at + 4);
    const size = file.readUInt32LE(at + 4);
    const body = file.subarray(at + 8, Math.min(file.length, at + 8 + size));
    if (id === 'fmt ') {
      if (body.length < 16) throw new PromptAudioError('WAV fmt chunk too short');
      let code = body.readUInt16LE(0);
      if (code === FORMAT_EXTENSIBLE && body.length >= 26) code = body.readUInt16LE(24);
      format = { code, channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === 'data') {
      data = body;
    }
    at += 8 + size + (size & 1);
  }
  if (format === null || data === null) throw new PromptAudioError('WAV file without fmt or data chunk');
  const { code, channels, rate, bits } = format;
  if (code !== FORMAT_PCM) throw new PromptAudioError(`WAV format ${code} is not supported (only PCM)`);
  if (bits !== 8 && bits !== 16) throw new PromptAudioError(`${bits}-bit WAV is not supported (8 or 16-bit PCM)`);
  if (channels !== 1 && channels !== 2) throw new PromptAudioError(`WAV with ${channels} channels is not supported (mono or stereo)`);
  if (!RATES.has(rate)) throw new PromptAudioError(`WAV at ${rate} Hz is not supported (${[...RATES].join(', ')} Hz)`);
  return resample(monoSamples(data, bits, channels), rate);
}

/** Interleaved PCM as one channel of signed 16-bit samples (stereo averaged). */
function monoSamples(data: Buffer, bits: 8 | 16, channels: 1 | 2): Int16Array {
  const bytes = bits / 8;
  const frames = Math.floor(data.length / (bytes * channels));
  const out = new Int16Array(frames);
  // 8-bit WAV is unsigned (128 is silence), 16-bit is signed little-endian.
  const sample = bits === 8 ? (i: number) => (data[i]! - 128) << 8 : (i: number) => data.readInt16LE(i);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += sample((f * channels + c) * bytes);
    out[f] = Math.round(sum / channels);
  }
  return out;
}

/**
 * To 8 kHz by linear interpolation, after a moving average over the source
 * samples of one output period (a crude low-pass: telephone audio above
 * 4 kHz would otherwise fold back as noise).
 */
export function resample(samples: Int16Array, rate: number): Int16Array {
  if (rate === PROMPT_RATE) return samples;
  const ratio = rate / PROMPT_RATE;
  const width = Math.max(1, Math.floor(ratio));
  const smoothed = new Float64Array(samples.length);
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    sum += samples[i]!;
    if (i >= width) sum -= samples[i - width]!;
    smoothed[i] = sum / Math.min(i + 1, width);
  }
  const out = new Int16Array(Math.floor(samples.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const pos = i * ratio;
    const j = Math.floor(pos);
    const next = smoothed[Math.min(j + 1, smoothed.length - 1)]!;
    out[i] = Math.round(smoothed[j]! + (next - smoothed[j]!) * (pos - j));
  }
  return out;
}

/** A 16-bit mono PCM WAV file of `samples` at `rate` (tests write their tones with it). */
export function writeWav(samples: Int16Array, rate: number, channels = 1): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(s, i * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(FORMAT_PCM, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2 * channels, 28);
  header.writeUInt16LE(2 * channels, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
