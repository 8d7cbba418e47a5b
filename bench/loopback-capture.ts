/**
 * A packet capture on the loopback interface (`tcpdump`, Debian package
 * `tcpdump`) and a reader for what it writes, so a bench can time messages on
 * the wire — kernel timestamps, one clock for every process — instead of in
 * each peer's event loop, where a busy load core adds its own delay.
 *
 * The reader knows just what loopback captures hold: pcap (µs timestamps),
 * Ethernet link type, IPv4, UDP or TCP. A packet it cannot read is skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { onCore } from './bench-process.js';

/** True when tcpdump is installed and may capture here (root, or the capability). */
export const canCapture = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

export interface Packet {
  /** Kernel timestamp, µs since the epoch. */
  us: number;
  protocol: 'udp' | 'tcp';
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

export interface Capture {
  /** Ends the capture; resolves with tcpdump's count of packets the kernel dropped (a capture that lost packets under-counts). */
  stop(): Promise<{ dropped: number }>;
}

/**
 * Captures `filter` (tcpdump syntax) on `lo` into `file`, whole packets, on
 * `core` (the load core: tcpdump's work must not land on the server's). Resolves
 * once tcpdump is listening.
 */
export async function captureLoopback(file: string, filter: string, core: string): Promise<Capture> {
  // -B: a 32 MB kernel buffer, so bursts of small datagrams are not dropped; -U is not needed (read after stop).
  const [cmd, args] = onCore(core, 'tcpdump', ['-i', 'lo', '-n', '-s', '0', '-B', '32768', '-w', file, filter]);
  const proc: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const listening = new Promise<void>((resolve, reject) => {
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${stderr}`)));
  });
  await listening;
  return {
    async stop() {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGINT');
      await exited;
      return { dropped: Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? 0) };
    },
  };
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const ETHERNET_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;

/** The UDP and TCP packets (with a payload) of a pcap file written by `captureLoopback`. */
export function* readCapture(file: string): Generator<Packet> {
  const data = readFileSync(file);
  if (data.length < 24) return;
  const little = data.readUInt32LE(0) === PCAP_MAGIC_US;
  if (!little && data.readUInt32BE(0) !== PCAP_MAGIC_US) throw new Error(`${file}: not a µs pcap file`);
  const u32 = (at: number): number => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  if (u32(20) !== LINKTYPE_ETHERNET) throw new Error(`${file}: link type ${u32(20)}, expected Ethernet (a capture on lo)`);
  for (let at = 24; at + 16 <= data.length; ) {
    const us = u32(at) * 1e6 + u32(at + 4);
    const length = u32(at + 8);
    const frame = data.subarray(at + 16, at + 16 + length);
    at += 16 + length;
    const packet = ipv4Packet(us, frame);
    if (packet !== null) yield packet;
  }
}

function ipv4Packet(us: number, frame: Buffer): Packet | null {
  if (frame.length < ETHERNET_HEADER + 20 || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return null;
  const ip = frame.subarray(ETHERNET_HEADER);
  const ipHeader = (ip[0]! & 0x0f) * 4;
  const total = ip.readUInt16BE(2);
  const protocolNumber = ip[9];
  const l4 = ip.subarray(ipHeader, total);
  if (protocolNumber === 17 && l4.length >= 8) {
    return { us, protocol: 'udp', srcPort: l4.readUInt16BE(0), dstPort: l4.readUInt16BE(2), payload: l4.subarray(8) };
  }
  if (protocolNumber === 6 && l4.length >= 20) {
    const payload = l4.subarray((l4[12]! >> 4) * 4);
    if (payload.length === 0) return null;
    return { us, protocol: 'tcp', srcPort: l4.readUInt16BE(0), dstPort: l4.readUInt16BE(2), payload };
  }
  return null;
}
