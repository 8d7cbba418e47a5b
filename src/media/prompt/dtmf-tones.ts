/**
 * `<Play digits="…">`: DTMF as in-band tones (ITU-T Q.23 frequency pairs),
 * 8 kHz samples the prompt player sends like any other prompt. In-band, not
 * RFC 4733 events, because every leg carries audio while telephone-event is
 * negotiated only with some peers; IVRs and trunks detect both.
 *
 * Each digit sounds for 100 ms followed by 100 ms of silence (Q.24 asks for
 * at least 40 ms of each); `w` is half a second of silence, as in Twilio's
 * `digits`.
 */
const RATE = 8000;
const TONE_MS = 100;
const GAP_MS = 100;
const WAIT_MS = 500;
/** Each of the two tones at about -10 dBFS: together well under full scale, loud enough for any detector. */
const AMPLITUDE = 0.3 * 32767;

/** Row (low) and column (high) frequencies of each key, in Hz. */
export const DTMF_FREQUENCIES: Readonly<Record<string, readonly [number, number]>> = {
  '1': [697, 1209], '2': [697, 1336], '3': [697, 1477],
  '4': [770, 1209], '5': [770, 1336], '6': [770, 1477],
  '7': [852, 1209], '8': [852, 1336], '9': [852, 1477],
  '*': [941, 1209], '0': [941, 1336], '#': [941, 1477],
};

/** The samples of `digits` (0-9, *, #, w); throws RangeError for anything else (the TwiML parser has checked it). */
export function dtmfToneSamples(digits: string): Int16Array {
  const samplesOf = (ms: number) => (RATE * ms) / 1000;
  let length = 0;
  for (const d of digits) length += d === 'w' ? samplesOf(WAIT_MS) : samplesOf(TONE_MS + GAP_MS);
  const out = new Int16Array(length);
  let at = 0;
  for (const d of digits) {
    if (d === 'w') {
      at += samplesOf(WAIT_MS);
      continue;
    }
    const pair = DTMF_FREQUENCIES[d];
    if (pair === undefined) throw new RangeError(`${JSON.stringify(d)} is not a DTMF digit`);
    const [low, high] = pair;
    for (let i = 0; i < samplesOf(TONE_MS); i++) {
      const t = i / RATE;
      out[at + i] = Math.round(AMPLITUDE * (Math.sin(2 * Math.PI * low * t) + Math.sin(2 * Math.PI * high * t)));
    }
    at += samplesOf(TONE_MS + GAP_MS);
  }
  return out;
}
