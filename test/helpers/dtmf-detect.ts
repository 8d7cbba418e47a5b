/**
 * A DTMF detector for tests: Goertzel power at the eight Q.23 frequencies
 * over 20 ms blocks of 8 kHz audio; a block is a key when the strongest row
 * and column tones both stand well above the other tones of their group and
 * the block is not silence. Consecutive blocks of one key are one digit;
 * a silent block ends it. Independent of how Herald makes its tones (it
 * only knows the frequency table).
 */
const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477];
const KEYS = ['123', '456', '789', '*0#'];
const BLOCK = 160;

function goertzel(samples: Int16Array, from: number, hz: number): number {
  const k = (2 * Math.cos((2 * Math.PI * hz) / 8000));
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < from + BLOCK; i++) {
    const s = samples[i]! + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/** The strongest tone of a group, if it is at least 10 times (10 dB) the power of each other one. */
function dominant(powers: number[]): number | null {
  const best = powers.indexOf(Math.max(...powers));
  return powers.every((p, i) => i === best || p * 10 < powers[best]!) ? best : null;
}

/** The digits heard in `samples` (8 kHz), in order. */
export function detectDtmf(samples: Int16Array): string {
  let digits = '';
  let current: string | null = null;
  for (let from = 0; from + BLOCK <= samples.length; from += BLOCK) {
    let energy = 0;
    for (let i = from; i < from + BLOCK; i++) energy += samples[i]! * samples[i]!;
    const loud = Math.sqrt(energy / BLOCK) > 500;
    const row = loud ? dominant(ROWS.map((hz) => goertzel(samples, from, hz))) : null;
    const column = loud ? dominant(COLUMNS.map((hz) => goertzel(samples, from, hz))) : null;
    const key = row !== null && column !== null ? KEYS[row]![column]! : null;
    if (key !== null && key !== current) digits += key;
    current = key;
  }
  return digits;
}
