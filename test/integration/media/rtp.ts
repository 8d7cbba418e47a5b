/**
 * Real RTP over real UDP sockets through a real mediasoup router: a sender
 * socket, a PlainTransport in comedia mode (it learns the sender's address
 * from the first packet), a producer, a consumer on a second PlainTransport
 * that sends to a receiver socket. Adapted from
 * ../shared/reference/mediasoup-worker/relay-test.js.
 */
import dgram from 'node:dgram';
import { expect } from 'chai';
import type { types as ms } from 'mediasoup';
import { MediaEngine, type MediaEngineOptions } from '../../../src/media/media-engine.js';
import { rtpPayload } from '../../helpers/rtp-peer.js';

export const LOCAL = '127.0.0.1';
const OPUS_PT = 101;
const SSRC = 1111;

/** An engine on 127.0.0.1 that must run: a missing worker binary fails the test with the reason. */
export async function runningEngine(options: Partial<MediaEngineOptions> = {}): Promise<MediaEngine> {
  const engine = new MediaEngine({ enabled: true, rtpPorts: { min: 42000, max: 42999 }, publicHost: LOCAL, listenIp: LOCAL, workers: 1, ...options });
  const status = await engine.start();
  expect(engine.info(), 'media engine status (build the worker: npm run mediasoup-worker)').to.include({ status: 'running' });
  expect(status).to.equal('running');
  return engine;
}

export function bindUdp(port = 0, address = LOCAL): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

export function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** An RTP packet (RFC 3550): V=2, opus payload type, a payload that names the packet. */
export function rtpPacket(seq: number, ssrc = SSRC): Buffer {
  const b = Buffer.alloc(12 + 40);
  b[0] = 0x80;
  b[1] = OPUS_PT;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 960, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0xfc; // opus TOC byte
  b.write(`packet-${seq}`, 13, 'latin1');
  return b;
}

export interface Relay {
  router: ms.Router;
  /** Where the sender's packets go (the comedia transport's port). */
  inPort: number;
  /** The mediasoup port that sends to the receiver. */
  outPort: number;
  consumer: ms.Consumer;
  producer: ms.Producer;
  sender: dgram.Socket;
  receiver: dgram.Socket;
  close(): Promise<void>;
}

/** sender → PlainTransport(comedia) → producer → consumer → PlainTransport → receiver, all on one router. */
export async function buildRelay(engine: MediaEngine, router?: ms.Router): Promise<Relay> {
  const r = router ?? (await engine.createRouter({ test: true }));
  const plainIn = await r.createPlainTransport({ listenInfo: engine.listenInfo(), rtcpMux: true, comedia: true });
  const producer = await plainIn.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: OPUS_PT }],
      encodings: [{ ssrc: SSRC }],
    },
  });
  const receiver = await bindUdp();
  const sender = await bindUdp();
  const plainOut = await r.createPlainTransport({ listenInfo: engine.listenInfo(), rtcpMux: true, comedia: false });
  await plainOut.connect({ ip: LOCAL, port: receiver.address().port });
  const consumer = await plainOut.consume({ producerId: producer.id, rtpCapabilities: r.rtpCapabilities });
  if (consumer.paused) await consumer.resume();
  return {
    router: r,
    inPort: plainIn.tuple.localPort,
    outPort: plainOut.tuple.localPort,
    consumer,
    producer,
    sender,
    receiver,
    close: async () => {
      await Promise.all([closeUdp(sender), closeUdp(receiver)]);
    },
  };
}

/**
 * Sends `count` RTP packets one at a time and waits for each to come out at
 * the receiver (RTCP, which shares the port with rtcp-mux, is skipped).
 * Resolves with the payloads received, in order; rejects if one does not
 * arrive within `timeoutMs`.
 */
export async function relayPackets(relay: Relay, count: number, timeoutMs = 5000): Promise<Buffer[]> {
  const outSsrc = relay.consumer.rtpParameters.encodings?.[0]?.ssrc;
  const outPt = relay.consumer.rtpParameters.codecs[0]?.payloadType;
  const received: Buffer[] = [];
  let waiting: (() => void) | null = null;
  const onMessage = (msg: Buffer) => {
    const pt = (msg[1] ?? 0) & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP
    if (msg.readUInt32BE(8) !== outSsrc || pt !== outPt) return;
    received.push(rtpPayload(msg));
    waiting?.();
  };
  relay.receiver.on('message', onMessage);
  try {
    for (let i = 0; i < count; i++) {
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`RTP packet ${i} did not arrive within ${timeoutMs} ms (${received.length} arrived)`)), timeoutMs);
        waiting = () => {
          if (received.length > i) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      relay.sender.send(rtpPacket(1000 + i), relay.inPort, LOCAL);
      await arrived;
    }
  } finally {
    relay.receiver.off('message', onMessage);
    waiting = null;
  }
  return received;
}

/** The payloads rtpPacket() put in, for comparison with what relayPackets() got. */
export function sentPayloads(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => rtpPacket(1000 + i).subarray(12));
}
