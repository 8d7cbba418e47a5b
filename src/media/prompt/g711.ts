/**
 * G.711 (ITU-T G.711) µ-law and A-law: 16-bit linear PCM to the 8-bit codes
 * PCMU and PCMA carry, and back. Prompts are made as linear PCM and sent in
 * the caller's codec; mediasoup does not transcode, so Herald encodes.
 *
 * The segment tables follow the reference implementation (g711.c of Sun
 * Microsystems, public domain) that every SIP stack copies.
 */

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

/** One linear sample (-32768..32767) as a µ-law code. */
export function linearToMulaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.trunc(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  s += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** One µ-law code as a linear sample. */
export function mulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + MULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? MULAW_BIAS - t : t - MULAW_BIAS;
}

/** One linear sample as an A-law code. */
export function linearToAlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.trunc(sample))) >> 3;
  let mask: number;
  if (s >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    s = -s - 1;
  }
  // Segment ends of the 13-bit magnitude.
  const ends = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
  let seg = ends.findIndex((end) => s <= end);
  if (seg === -1) seg = 8;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | (seg < 2 ? (s >> 1) & 0x0f : (s >> seg) & 0x0f);
  return aval ^ mask;
}

/** One A-law code as a linear sample. */
export function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

export type G711Law = 'PCMU' | 'PCMA';

/** A block of linear samples in `law`, one byte a sample. */
export function encodeG711(law: G711Law, samples: Int16Array): Buffer {
  const encode = law === 'PCMU' ? linearToMulaw : linearToAlaw;
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encode(samples[i]!);
  return out;
}

/** A G.711 payload back to linear samples. */
export function decodeG711(law: G711Law, payload: Uint8Array): Int16Array {
  const decode = law === 'PCMU' ? mulawToLinear : alawToLinear;
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = decode(payload[i]!);
  return out;
}
