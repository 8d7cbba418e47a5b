import dgram from 'node:dgram';
import net from 'node:net';
import { expect } from 'chai';
import pino from 'pino';
import WebSocket from 'ws';
import type { TransportLogger } from '../../../src/transport/options.js';
import type { Flow } from '../../../src/transport/types.js';
import { testCert } from '../../helpers/tls-cert.js';
import { ANY_PORT, LOCAL, makeTransport, nextEvent, nextTransportEvent, portOf, request } from './helpers.js';

/** Sockets, servers and timers keeping the process alive, by type (file and stdio requests left out). */
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) {
    if (/^(TCP|UDP|TLS|Timeout|Immediate|GetAddrInfo)/i.test(r)) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return counts;
}

/** The handles of a running async test (mocha's own timer included). */
async function baseline(): Promise<Map<string, number>> {
  await new Promise((resolve) => setImmediate(resolve));
  return handles();
}

/**
 * Node drops a closed handle from the list a loop turn or two after the close
 * callback; give it up to a second, then report what is left.
 */
async function handlesBackTo(expected: Map<string, number>): Promise<Map<string, number>> {
  const same = (m: Map<string, number>): boolean =>
    m.size === expected.size && [...m].every(([k, v]) => expected.get(k) === v);
  for (let i = 0; i < 100; i++) {
    const now = handles();
    if (same(now)) return now;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return handles();
}

describe('transport: lifecycle', () => {
  it('reports every listener with its bound port, and logs through a pino logger', async () => {
    const { cert, key } = testCert();
    const lines: string[] = [];
    const logger: TransportLogger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const t = makeTransport({ udp: ANY_PORT, tcp: ANY_PORT, tls: ANY_PORT, ws: ANY_PORT, wss: ANY_PORT, tlsCert: cert, tlsKey: key, logger });
    try {
      const bound = await t.start();
      expect(lines.some((l) => l.includes('"msg":"SIP transport listening"'))).to.equal(true);
      expect(bound.map((l) => l.protocol)).to.deep.equal(['udp', 'tcp', 'tls', 'ws', 'wss']);
      for (const l of bound) {
        expect(l.address).to.equal(LOCAL);
        expect(l.port).to.be.greaterThan(0);
        expect(t.viaSentBy(l.protocol)).to.deep.equal({ address: LOCAL, port: l.port });
      }
      expect(t.listeners()).to.deep.equal(bound);
    } finally {
      await t.stop();
    }
  });

  it('rejects start() when a port is taken, leaving nothing open', async () => {
    const before = await baseline();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, LOCAL, () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    const t = makeTransport({ udp: ANY_PORT, tcp: { host: LOCAL, port } });
    let failed: unknown = null;
    await t.start().catch((err: unknown) => (failed = err));
    expect(failed).to.be.instanceOf(Error);
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    expect(await handlesBackTo(before)).to.deep.equal(before);
  });

  it('stop() closes every listener and connection, emits flowClosed, and leaves no handle behind', async () => {
    const before = await baseline();
    const { cert, key } = testCert();
    const t = makeTransport({ udp: ANY_PORT, tcp: ANY_PORT, tls: ANY_PORT, ws: ANY_PORT, wss: ANY_PORT, tlsCert: cert, tlsKey: key });
    await t.start();
    const closed: Flow[] = [];
    t.on('flowClosed', (f) => closed.push(f));

    const udp = dgram.createSocket('udp4');
    const tcp = net.connect({ host: LOCAL, port: portOf(t, 'tcp') });
    const ws = new WebSocket(`ws://${LOCAL}:${portOf(t, 'ws')}`, 'sip');
    for (const e of [tcp, ws]) e.on('error', () => {});
    try {
      const m1 = nextTransportEvent(t, 'message');
      udp.send(request(), portOf(t, 'udp'), LOCAL);
      await m1;
      const m2 = nextTransportEvent(t, 'message');
      await nextEvent(tcp, 'connect');
      tcp.write(request({ transport: 'TCP' }));
      await m2;
      await nextEvent(ws, 'open');
      expect(t.connectionCount()).to.equal(2);

      const tcpClosed = nextEvent(tcp, 'close');
      const wsClosed = nextEvent(ws, 'close');
      await t.stop();
      await Promise.all([tcpClosed, wsClosed]);
      expect(closed.map((f) => f.protocol).sort()).to.deep.equal(['tcp', 'ws']);
      expect(t.connectionCount()).to.equal(0);
      await t.stop(); // idempotent
    } finally {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      tcp.destroy();
      ws.terminate();
    }
    expect(await handlesBackTo(before)).to.deep.equal(before);
  });
});
