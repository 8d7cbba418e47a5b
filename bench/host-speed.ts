/**
 * How fast this machine's core is right now, as the CPU time of a fixed piece
 * of work: parsing a REGISTER (µs each). On a shared VM the same code runs up
 * to 2× slower from one minute to the next (measured here: the same build at
 * 155 and 264 µs per registration); a benchmark that divides its CPU cost by
 * this unit, taken right around its run, compares builds, and servers run
 * minutes apart, on a steadier scale. Run alone (pin it to the core being
 * measured) it prints the unit as JSON:
 *   taskset -c 0 node --import tsx bench/host-speed.ts
 */
import { parseMessage } from '../src/sip/parser.js';

const MESSAGE = Buffer.from(
  'REGISTER sip:demo.sip.localhost SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport\r\n' +
    'From: <sip:u@demo.sip.localhost>;tag=1\r\nTo: <sip:u@demo.sip.localhost>\r\nCall-ID: c@h\r\nCSeq: 1 REGISTER\r\n' +
    'Contact: <sip:u@127.0.0.1:5061;transport=UDP>\r\nMax-Forwards: 70\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n',
  'latin1',
);

/** CPU µs per parse of MESSAGE, over `count` parses. */
export function hostUnitMicros(count = 20000): number {
  const cpu0 = process.cpuUsage();
  let n = 0;
  for (let i = 0; i < count; i++) {
    const r = parseMessage(MESSAGE);
    if (r.ok) n += r.message.headers.size;
  }
  const cpu = process.cpuUsage(cpu0);
  if (n === 0) throw new Error('calibration message does not parse');
  return (cpu.user + cpu.system) / count;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Warm the JIT first, then take the median of a few samples.
  hostUnitMicros(100000);
  const samples = Array.from({ length: 7 }, () => hostUnitMicros()).sort((a, b) => a - b);
  console.log(JSON.stringify({ hostUnitUs: samples[3] }));
}
