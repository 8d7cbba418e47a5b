/**
 * What every kind of leg sends its peer: one Consumer of the other leg's
 * Producer (or of a prompt's), paused while the peer is on hold. The same
 * for a plain RTP leg and a browser leg, so both keep one here.
 */
import type { types as ms } from 'mediasoup';
import type { MediaDirection } from './sdp/audio-description.js';
import { consumerRtpCapabilities, type BridgeCodecs } from './sdp/codec-match.js';

export class LegConsumer {
  private consumer: ms.Consumer | null = null;
  private receiving = true;

  constructor(private readonly transport: ms.Transport) {}

  /**
   * The other leg's audio out to this peer. A new producer replaces the one
   * consumed so far (the fork that gave early media lost to another).
   */
  async consume(producer: ms.Producer, codecs: BridgeCodecs, routerCapabilities: ms.RtpCapabilities): Promise<ms.Consumer> {
    if (this.consumer !== null && this.consumer.producerId === producer.id && !this.consumer.closed) return this.consumer;
    this.consumer?.close();
    const consumer = await this.transport.consume({ producerId: producer.id, rtpCapabilities: consumerRtpCapabilities(routerCapabilities, codecs), paused: !this.receiving });
    // The call ended while the worker made it: the transport closed under it before it existed here, so nothing else closes it (and /v1/Node would count it for ever).
    if (this.transport.closed) consumer.close();
    this.consumer = consumer;
    return consumer;
  }

  /**
   * Whether the peer wants media now (its SDP says sendrecv or recvonly):
   * a peer on hold (sendonly, inactive) is sent nothing.
   */
  async setReceiving(direction: MediaDirection): Promise<void> {
    this.receiving = direction === 'sendrecv' || direction === 'recvonly';
    if (this.consumer === null || this.consumer.closed) return;
    if (this.receiving && this.consumer.paused) await this.consumer.resume();
    else if (!this.receiving && !this.consumer.paused) await this.consumer.pause();
  }
}
