/**
 * Plays a prompt (8 kHz mono samples) into one leg: a DirectTransport
 * Producer on the call's router, fed RTP packets Herald builds — 20 ms,
 * 160 samples, in the leg's G.711 codec — paced by the clock, and the leg's
 * Consumer on it. A DirectTransport needs no port and no SSRC latching: the
 * Producer is created with the SSRC Herald sends under.
 *
 * Everything made here is closed when the playback ends, however it ends
 * (done, aborted, or the router closed under it with the call).
 */
import { randomInt } from 'node:crypto';
import type { types as ms } from 'mediasoup';
import type { MediaLeg } from '../media-leg.js';
import { producerRtpParameters, type BridgeCodecs } from '../sdp/codec-match.js';
import { encodeG711, type G711Law } from './g711.js';
import { PROMPT_RATE } from './wav.js';

const FRAME_MS = 20;
const FRAME_SAMPLES = (PROMPT_RATE * FRAME_MS) / 1000;
/** `loop` 0 ("until the call moves on") still ends: after an hour of audio. */
const ENDLESS_CAP_MS = 60 * 60 * 1000;

export interface PromptPlayback {
  router: ms.Router;
  leg: MediaLeg;
  /** The leg's codec (PCMU or PCMA), numbered as the router numbers it. */
  codecs: BridgeCodecs;
  samples: Int16Array;
  /** Times to play it; 0 = until `signal` (capped at an hour). */
  loop: number;
  signal: AbortSignal;
  cname: string;
}

/** Is this a codec prompts can be encoded in? */
export function promptLaw(name: string): G711Law | null {
  const upper = name.toUpperCase();
  return upper === 'PCMU' || upper === 'PCMA' ? upper : null;
}

/** Resolves when the prompt has been played `loop` times, or at once when `signal` aborts. */
export async function playPrompt(p: PromptPlayback): Promise<void> {
  const law = promptLaw(p.codecs.audio.name);
  if (law === null) throw new Error(`prompts are played in PCMU or PCMA, not ${p.codecs.audio.name}`);
  if (p.signal.aborted || p.router.closed) return;
  const transport = await p.router.createDirectTransport({ appData: { prompt: p.cname } });
  try {
    const ssrc = randomInt(1, 0xffffffff);
    const parameters = producerRtpParameters(p.codecs, p.cname);
    const producer = await transport.produce({ kind: 'audio', rtpParameters: { ...parameters, encodings: [{ ssrc }] } });
    await p.leg.consume(producer, p.codecs, p.router.rtpCapabilities);
    const frames = framesOf(p.samples, law);
    const times = p.loop === 0 ? Math.max(1, Math.floor(ENDLESS_CAP_MS / (frames.length * FRAME_MS))) : p.loop;
    const packets = new RtpPacketizer(p.codecs.audio.payloadType, ssrc);
    await paced(frames.length * times, p.signal, (n) => {
      if (!producer.closed) producer.send(packets.next(frames[n % frames.length]!));
    });
  } finally {
    // Closes the Producer, and with it the leg's Consumer of it.
    if (!transport.closed) transport.close();
  }
}

/** The samples in 20 ms G.711 payloads, the last one filled with silence. */
function framesOf(samples: Int16Array, law: G711Law): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at < samples.length; at += FRAME_SAMPLES) {
    const frame = new Int16Array(FRAME_SAMPLES);
    frame.set(samples.subarray(at, at + FRAME_SAMPLES));
    frames.push(encodeG711(law, frame));
  }
  return frames;
}

/** RTP headers (RFC 3550) for one stream: random first sequence number and timestamp, the marker on the first packet. */
class RtpPacketizer {
  private seq = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 0xffffffff);
  private first = true;

  constructor(
    private readonly payloadType: number,
    private readonly ssrc: number,
  ) {}

  next(payload: Buffer): Buffer {
    const packet = Buffer.alloc(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = (this.first ? 0x80 : 0) | this.payloadType;
    packet.writeUInt16BE(this.seq, 2);
    packet.writeUInt32BE(this.timestamp, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    payload.copy(packet, 12);
    this.first = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + FRAME_SAMPLES) >>> 0;
    return packet;
  }
}

/**
 * Calls `send(n)` for n = 0..count-1, packet n at start + n·20 ms. Timed from
 * the start, not from the previous packet, so a late timer on a loaded
 * machine does not stretch the prompt: the packets due are sent at once.
 */
function paced(count: number, signal: AbortSignal, send: (n: number) => void): Promise<void> {
  return new Promise((resolve) => {
    const start = performance.now();
    let n = 0;
    let timer: NodeJS.Timeout | null = null;
    const stop = () => {
      if (timer !== null) clearTimeout(timer);
      resolve();
    };
    const finish = () => {
      signal.removeEventListener('abort', stop);
      resolve();
    };
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', stop, { once: true });
    const tick = () => {
      const due = Math.min(count, Math.floor((performance.now() - start) / FRAME_MS) + 1);
      while (n < due) send(n++);
      // Sent all: the prompt ends when its last packet has played (closing sooner could drop packets still on their way to the worker).
      const next = n >= count ? start + count * FRAME_MS : start + n * FRAME_MS;
      timer = setTimeout(n >= count ? finish : tick, next - performance.now());
    };
    tick();
  });
}
