/**
 * The 49 RFC 4475 torture messages sent to a running `herald serve` over UDP
 * and over TCP: each gets the answer of test/rfc4475-expectations.ts (400 with
 * a reason phrase that says what is wrong, 405/501, 416, 420, 505, 200), or no
 * answer where the RFC says to drop it. The server must survive all of them.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipResponse } from '../../src/sip/message.js';
import { StreamFramer } from '../../src/sip/stream-framer.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';

/** No trunks: an INVITE from the test's addresses is a caller without credentials (test/rfc4475-expectations.ts). */
const NO_TRUNKS = writeConfig('accounts: []\n');
import { request, UdpPeer } from '../helpers/sip-socket.js';
import { RFC4475_EXPECTATIONS, type Rfc4475Expectation, type Rfc4475File } from '../rfc4475-expectations.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'rfc4475');
const entries = Object.entries(RFC4475_EXPECTATIONS) as Array<[Rfc4475File, Rfc4475Expectation]>;

function checkAnswer(res: SipResponse, e: Rfc4475Expectation): void {
  expect(res.status).to.equal(e.expect);
  if (e.reason !== undefined && e.stage !== 'response') expect(res.reason).to.match(e.reason);
  if (e.unsupported !== undefined) expect(res.headers.get('unsupported')).to.equal(e.unsupported.join(', '));
  if (res.status === 405 || res.status === 501) expect(res.headers.get('allow')).to.include('OPTIONS');
}

/** Writes the bytes on a new TCP connection, half-closes, and collects every response until the server closes. */
function overTcp(port: number, bytes: Buffer): Promise<SipResponse[]> {
  return new Promise((resolveAll, reject) => {
    const socket = connect(port, '127.0.0.1');
    const framer = new StreamFramer(1 << 20);
    const out: SipResponse[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('server did not close the connection after our FIN'));
    }, 15000);
    socket.on('data', (d: Buffer) => {
      for (const ev of framer.push(d)) {
        if (ev.kind !== 'message') continue;
        const r = parseMessage(ev.bytes, { stream: true });
        // 100 Trying (sent at once for every INVITE) is not the answer under test.
        if (r.ok && r.message.type === 'response' && r.message.status !== 100) out.push(r.message);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolveAll(out);
    });
    socket.on('connect', () => {
      socket.write(bytes);
      socket.end();
    });
  });
}

describe('RFC 4475 torture messages against a running server', function () {
  let herald: HeraldProcess;
  let udp: UdpPeer;

  before(async () => {
    herald = await startHerald({ config: NO_TRUNKS });
    // The torture messages' Vias carry no rport: answers go to the source IP at
    // the Via port (5060, or 5050 for quotbal), so the peer listens there on an
    // address of its own.
    udp = await UdpPeer.open('127.0.0.77', [5060, 5050]);
  });
  after(async () => {
    udp.close();
    await herald.stop();
  });

  describe('over UDP', () => {
    for (const [file, e] of entries) {
      it(`${file} (RFC 4475 §${e.section}) → ${e.expect}`, async () => {
        udp.send(readFileSync(resolve(FIXTURES, file)), herald.listeners.udp!.port);
        if (e.expect === 'drop') {
          // Nothing may come back: the next answer must be the one to this probe.
          const probe = request('OPTIONS', { transport: 'UDP', port: udp.port });
          udp.send(probe, herald.listeners.udp!.port);
          const res = await udp.nextResponse(5000, true);
          expect(res?.status).to.equal(200);
          expect(res!.headers.get('call-id')).to.equal(/Call-ID: (.*)\r\n/.exec(probe)![1]);
          return;
        }
        const res = await udp.nextResponse(5000, true);
        expect(res, 'no answer').to.not.equal(null);
        checkAnswer(res!, e);
      });
    }
  });

  describe('over TCP', () => {
    // A server of its own: the same messages over UDP left transactions with
    // the same branches, which would absorb these as retransmissions (§17.2.3).
    let tcpHerald: HeraldProcess;
    before(async () => {
      tcpHerald = await startHerald({ config: NO_TRUNKS });
    });
    after(async () => {
      await tcpHerald.stop();
    });
    for (const [file, e] of entries) {
      // On a stream the RFC's "wait for more data" (clerr) ends when we half-close:
      // Herald then answers 400 so that the sender learns why nothing happened.
      const expected = [...(e.overStream ?? (e.expect === 'drop' ? [] : [e.expect])), ...(file === 'clerr.dat' ? [400] : [])];
      it(`${file} (RFC 4475 §${e.section}) → [${expected.join(', ')}]`, async () => {
        const answers = await overTcp(tcpHerald.listeners.tcp!.port, readFileSync(resolve(FIXTURES, file)));
        expect(answers.map((r) => r.status)).to.deep.equal(expected);
        if (answers.length === 1 && e.expect !== 'drop' && file !== 'clerr.dat') checkAnswer(answers[0]!, e);
      });
    }
  });

  it('is still alive and answering after all of them', async () => {
    udp.send(request('OPTIONS', { transport: 'UDP', port: udp.port }), herald.listeners.udp!.port);
    expect((await udp.nextResponse(5000, true))?.status).to.equal(200);
    expect(herald.proc.exitCode).to.equal(null);
  });
});
