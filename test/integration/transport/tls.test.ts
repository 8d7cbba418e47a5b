import tls from 'node:tls';
import { expect } from 'chai';
import { topViaOf } from '../../../src/sip/fields.js';
import { parseMessage } from '../../../src/sip/parser.js';
import type { SipRequest } from '../../../src/sip/message.js';
import type { SipTransport } from '../../../src/transport/sip-transport.js';
import { testCert } from '../../helpers/tls-cert.js';
import { ANY_PORT, LOCAL, Received, makeTransport, nextEvent, nextTransportEvent, portOf, request, responseTo } from './helpers.js';

describe('transport: TLS', () => {
  let t: SipTransport;
  let port: number;
  const sockets: tls.TLSSocket[] = [];

  before(function () {
    this.timeout(30000); // key generation on a slow machine
    testCert();
  });

  beforeEach(async () => {
    const { cert, key } = testCert();
    t = makeTransport({ tls: ANY_PORT, tlsCert: cert, tlsKey: key });
    await t.start();
    port = portOf(t, 'tls');
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await t.stop();
  });

  async function connect(): Promise<{ socket: tls.TLSSocket; rx: Received }> {
    // The client trusts exactly the test certificate: the server must present it.
    const socket = tls.connect({ host: LOCAL, port, ca: testCert().cert, servername: 'localhost' });
    sockets.push(socket);
    const rx = new Received(socket);
    await nextEvent(socket, 'secureConnect');
    return { socket, rx };
  }

  it('receives a request over TLS and answers on the same connection', async () => {
    const got = nextTransportEvent(t, 'message');
    const { socket, rx } = await connect();
    socket.write(request({ transport: 'TLS', sentBy: 'client.invalid:5061', viaParams: ';rport' }));
    const { message, flow } = await got;
    expect(flow.protocol).to.equal('tls');
    expect(flow.reliable).to.equal(true);
    expect(flow.id).to.match(/^tls:\d+$/);
    const via = topViaOf(message);
    expect(via?.params.get('received')).to.equal(LOCAL);
    expect(via?.params.get('rport')).to.equal(String(socket.localPort));
    t.sendResponse(responseTo(message as SipRequest), flow);
    await rx.waitFor((s) => s.includes('\r\n\r\n'), 'response');
    expect(rx.text).to.match(/^SIP\/2\.0 200 OK\r\n/);
    expect(t.connectionCount()).to.equal(1);
    expect(t.viaSentBy('tls')).to.deep.equal({ address: LOCAL, port });
  });

  it('answers CRLFCRLF with CRLF and announces the close', async () => {
    const { socket, rx } = await connect();
    socket.write('\r\n\r\n');
    await rx.waitFor((s) => s === '\r\n', 'pong');
    const gone = nextTransportEvent(t, 'flowClosed');
    socket.end();
    expect((await gone).protocol).to.equal('tls');
    expect(t.connectionCount()).to.equal(0);
  });

  it('opens a TLS connection to send to an address, verifying the peer with tlsCa', async () => {
    const { cert, key } = testCert();
    const server = tls.createServer({ cert, key });
    await new Promise<void>((resolve) => server.listen(0, LOCAL, () => resolve()));
    const peerPort = (server.address() as { port: number }).port;
    const sender = makeTransport({ tcp: ANY_PORT, tlsCa: cert });
    await sender.start();
    try {
      const accepted = nextEvent<[tls.TLSSocket]>(server, 'secureConnection');
      const parsed = parseMessage(Buffer.from(request({ transport: 'TLS' })));
      if (!parsed.ok) throw new Error(parsed.reason);
      // Verified against the IP subjectAltName of the test certificate.
      sender.send(parsed.message, { protocol: 'tls', address: LOCAL, port: peerPort });
      const [conn] = await accepted;
      const rx = new Received(conn);
      await rx.waitFor((s) => s.endsWith('\r\n\r\n'), 'request');
      expect(rx.text.startsWith('OPTIONS sip:herald@127.0.0.1 SIP/2.0\r\n')).to.equal(true);
      conn.destroy();
    } finally {
      await sender.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('answers a half-close with an incomplete message with a 400 before closing', async () => {
    t.on('malformed', (f) => {
      if (f.partial?.type === 'request') t.sendResponse(responseTo(f.partial, f.status, 'Bad Request'), f.flow);
    });
    const got = nextTransportEvent(t, 'malformed');
    const { socket, rx } = await connect();
    const ended = nextEvent(socket, 'end');
    socket.end(request({ transport: 'TLS', body: 'short', contentLength: 50 }));
    expect((await got).reason).to.equal('Content-Length larger than the message');
    await ended;
    expect(rx.text).to.match(/^SIP\/2\.0 400 Bad Request\r\n/);
  });
});
