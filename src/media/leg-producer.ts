/**
 * What a leg's peer sends, for the legs that consume it: the current
 * Producer and who consumes it. A new Producer (the peer restarted its stream
 * under another SSRC, or a browser replaced its track) is handed to every
 * consumer, then the old one is closed. The same for a plain RTP leg and a
 * browser leg; they differ only in how a Producer is made.
 */
import type { types as ms } from 'mediasoup';
import type { BridgeCodecs } from './sdp/codec-match.js';

export class LegProducer {
  current: ms.Producer | null = null;
  private readonly listeners: Array<(p: ms.Producer) => Promise<void>> = [];

  constructor(
    /** The codecs the peer sends (the first consumer's stand for every later one: a peer sends one codec). */
    readonly codecs: BridgeCodecs,
    readonly cname: string,
    /** Aborted when the call ends. */
    readonly signal: AbortSignal,
    private readonly transport: ms.Transport,
  ) {}

  /** `onProducer` gets the current Producer at once if there is one, and every later one. */
  listen(onProducer: (p: ms.Producer) => Promise<void>): void {
    this.listeners.push(onProducer);
    if (this.current !== null) void onProducer(this.current);
  }

  /** A Producer being made becomes the current one; `done` runs once it is settled either way. */
  adopt(made: Promise<ms.Producer>, done?: () => void): void {
    made.then(
      async (producer) => {
        done?.();
        // Made while the call ended: the transport closed under it before it existed here, so nothing else would close it.
        if (this.transport.closed) return producer.close();
        const previous = this.current;
        this.current = producer;
        for (const listener of this.listeners) await listener(producer);
        previous?.close();
      },
      // The call ended first (transport closed, latch aborted): nothing is left to produce for.
      () => done?.(),
    );
  }
}
