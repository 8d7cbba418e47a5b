/**
 * A plain RTP endpoint on a UDP socket of 127.0.0.1, for media tests that
 * must not rely on mediasoup's own counters: it sends RTP packets it builds
 * itself, records every packet it receives (payload type, SSRC, payload,
 * source), and can echo what it receives back to its source.
 */
import dgram from 'node:dgram';

export interface RtpReceived {
  payloadType: number;
  marker: boolean;
  ssrc: number;
  seq: number;
  payload: Buffer;
  from: { address: string; port: number };
}

export class RtpPeer {
  readonly received: RtpReceived[] = [];
  /** Send every received packet back to where it came from (an echo, like sipp -rtp_echo). */
  echo = false;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg, rinfo) => {
      if (msg.length < 12 || (msg[0]! & 0xc0) !== 0x80) return;
      const pt = msg[1]! & 0x7f;
      // RTCP (RFC 5761 §4: packet types 200-204 read as payload types 72-76) is not media.
      if (pt >= 72 && pt <= 76) return;
      this.received.push({ payloadType: pt, marker: (msg[1]! & 0x80) !== 0, ssrc: msg.readUInt32BE(8), seq: msg.readUInt16BE(2), payload: rtpPayload(msg), from: { address: rinfo.address, port: rinfo.port } });
      if (this.echo) socket.send(msg, rinfo.port, rinfo.address);
      for (const w of this.waiters) w();
    });
  }

  static open(): Promise<RtpPeer> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(new RtpPeer(s)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(packet: Buffer, port: number, address = '127.0.0.1'): void {
    this.socket.send(packet, port, address);
  }

  /** Resolves once `predicate` holds for what was received; rejects after `timeoutMs` saying what did arrive. */
  waitFor(predicate: (received: readonly RtpReceived[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (predicate(this.received)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this.received)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what}: not within ${timeoutMs} ms (${this.received.length} RTP packets received)`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** An RTP packet (RFC 3550): V=2, the given payload type and SSRC, a payload that names it. */
export function rtpPacket(o: { payloadType: number; seq: number; ssrc: number; payload?: Buffer; marker?: boolean; timestamp?: number }): Buffer {
  const payload = o.payload ?? Buffer.from(`audio ${o.ssrc} ${o.seq}`.padEnd(160, '.'), 'latin1');
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = (o.marker === true ? 0x80 : 0) | o.payloadType;
  b.writeUInt16BE(o.seq & 0xffff, 2);
  b.writeUInt32BE((o.timestamp ?? o.seq * 160) >>> 0, 4);
  b.writeUInt32BE(o.ssrc >>> 0, 8);
  payload.copy(b, 12);
  return b;
}

/** The payload of an RTP packet: after the CSRCs and any header extension (mediasoup adds some), before padding. */
export function rtpPayload(packet: Buffer): Buffer {
  const first = packet[0] ?? 0;
  let offset = 12 + 4 * (first & 0x0f);
  if (first & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  const padding = first & 0x20 ? (packet[packet.length - 1] ?? 0) : 0;
  return packet.subarray(offset, packet.length - padding);
}
