import net from 'node:net';
import { expect } from 'chai';
import { topViaOf } from '../../../src/sip/fields.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { SipResponse, type SipRequest } from '../../../src/sip/message.js';
import type { SipTransport } from '../../../src/transport/sip-transport.js';
import type { Flow } from '../../../src/transport/types.js';
import {
  ANY_PORT,
  LOCAL,
  Received,
  collectTransportEvents,
  makeTransport,
  nextEvent,
  nextTransportEvent,
  portOf,
  request,
  responseTo,
} from './helpers.js';

describe('transport: TCP', () => {
  let t: SipTransport;
  let port: number;
  const sockets: net.Socket[] = [];
  const servers: net.Server[] = [];

  async function start(options: Parameters<typeof makeTransport>[0] = {}): Promise<void> {
    t = makeTransport({ tcp: ANY_PORT, ...options });
    await t.start();
    port = portOf(t, 'tcp');
  }

  async function connect(): Promise<{ socket: net.Socket; rx: Received }> {
    const socket = net.connect({ host: LOCAL, port });
    sockets.push(socket);
    socket.on('error', () => {}); // resets are expected in some tests
    const rx = new Received(socket);
    await nextEvent(socket, 'connect');
    return { socket, rx };
  }

  /** A net.Server standing for a UA's listening port. */
  async function peerServer(): Promise<{ server: net.Server; port: number }> {
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, LOCAL, () => resolve()));
    return { server, port: (server.address() as net.AddressInfo).port };
  }

  afterEach(async () => {
    await t.stop();
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  it('delivers two messages written at once, on one flow, with received stamped', async () => {
    await start();
    const got = collectTransportEvents(t, 'message', 2);
    const { socket } = await connect();
    socket.write(
      request({ transport: 'TCP', sentBy: 'client.example.com:5070', callId: 'one' }) +
        request({ transport: 'TCP', body: 'abc', callId: 'two' }),
    );
    const [a, b] = await got;
    expect([a?.message.headers.get('call-id'), b?.message.headers.get('call-id')]).to.deep.equal(['one', 'two']);
    expect(b?.message.body.toString()).to.equal('abc');
    expect(a?.flow.id).to.equal(b?.flow.id);
    expect(a?.flow.protocol).to.equal('tcp');
    expect(a?.flow.reliable).to.equal(true);
    expect(a?.flow.remote).to.deep.equal({ address: LOCAL, port: socket.localPort });
    expect(topViaOf(a!.message)?.params.get('received')).to.equal(LOCAL);
    expect(t.connectionCount()).to.equal(1);
    expect(t.flow(a!.flow.id)).to.equal(a?.flow);
  });

  it('reassembles a message split over three writes (the header byte by byte)', async () => {
    await start();
    const got = nextTransportEvent(t, 'message');
    const { socket } = await connect();
    const text = request({ transport: 'TCP', body: 'v=0\r\nbody-split\r\n' });
    const headEnd = text.indexOf('\r\n\r\n') + 4;
    // Part one: the header, one byte per write (the framer must wait for the blank line).
    for (const ch of text.slice(0, headEnd)) socket.write(ch);
    socket.write(text.slice(headEnd, headEnd + 5));
    socket.write(text.slice(headEnd + 5));
    const { message } = await got;
    expect(message.body.toString()).to.equal('v=0\r\nbody-split\r\n');
  });

  it('answers a CRLFCRLF ping with a single CRLF pong', async () => {
    await start();
    const { socket, rx } = await connect();
    socket.write('\r\n\r\n');
    await rx.waitFor((s) => s.length >= 2, 'pong');
    // Then a request on the same connection still works and its answer follows the pong directly.
    const got = nextTransportEvent(t, 'message');
    socket.write(request({ transport: 'TCP' }));
    const { message, flow } = await got;
    t.sendResponse(responseTo(message as SipRequest), flow);
    await rx.waitFor((s) => s.includes('200 OK'), 'response');
    expect(rx.text.startsWith('\r\nSIP/2.0 200 OK\r\n')).to.equal(true);
  });

  it('reports a bad Content-Length as malformed (the 400 is written) and then closes the connection', async () => {
    await start();
    t.on('malformed', (f) => {
      if (f.partial?.type === 'request') t.sendResponse(responseTo(f.partial, f.status, 'Bad Request'), f.flow);
    });
    const got = nextTransportEvent(t, 'malformed');
    const { socket, rx } = await connect();
    const ended = nextEvent(socket, 'end');
    socket.write(request({ transport: 'TCP', contentLength: null, extraHeaders: ['Content-Length: abc'] }));
    const f = await got;
    expect(f.status).to.equal(400);
    expect(f.reason).to.equal('bad Content-Length');
    expect(f.partial?.method).to.equal('OPTIONS');
    await ended;
    expect(rx.text).to.match(/^SIP\/2\.0 400 Bad Request\r\n/);
  });

  it('answers a half-close with an incomplete body with malformed 400', async () => {
    await start();
    t.on('malformed', (f) => {
      if (f.partial?.type === 'request') t.sendResponse(responseTo(f.partial, f.status, 'Bad Request'), f.flow);
    });
    const got = nextTransportEvent(t, 'malformed');
    const { socket, rx } = await connect();
    const ended = nextEvent(socket, 'end');
    socket.end(request({ transport: 'TCP', body: 'short', contentLength: 50 }));
    const f = await got;
    expect(f.status).to.equal(400);
    expect(f.reason).to.equal('Content-Length larger than the message');
    expect(f.partial?.headers.get('cseq')).to.equal('1 OPTIONS');
    await ended;
    expect(rx.text).to.match(/^SIP\/2\.0 400 Bad Request\r\n/);
  });

  it('emits flowClosed exactly once when the client closes', async () => {
    await start();
    const closed: Flow[] = [];
    t.on('flowClosed', (f) => closed.push(f));
    const got = nextTransportEvent(t, 'message');
    const { socket } = await connect();
    socket.write(request({ transport: 'TCP' }));
    const { flow } = await got;
    const gone = nextTransportEvent(t, 'flowClosed');
    socket.end();
    expect((await gone).id).to.equal(flow.id);
    // A message for it now fails, and no second flowClosed follows.
    const err = await new Promise<Error>((resolve) => t.send(new SipResponse(200, 'OK'), { flowId: flow.id }, resolve));
    expect(err.message).to.match(/closed/);
    expect(closed.map((f) => f.id)).to.deep.equal([flow.id]);
    expect(t.flow(flow.id)).to.equal(null);
    expect(t.connectionCount()).to.equal(0);
  });

  it('closes a connection on which nothing was received for idleTimeoutMs', async () => {
    await start({ idleTimeoutMs: 300 });
    const got = nextTransportEvent(t, 'message');
    const { socket } = await connect();
    socket.write(request({ transport: 'TCP' }));
    const { flow } = await got;
    const closedAt = nextTransportEvent(t, 'flowClosed');
    await nextEvent(socket, 'end');
    expect((await closedAt).id).to.equal(flow.id);
    expect(t.connectionCount()).to.equal(0);
  });

  it('keeps a connection that keeps sending past idleTimeoutMs', async () => {
    await start({ idleTimeoutMs: 800 });
    const { socket, rx } = await connect();
    // Pings every 50 ms for 2.5 timeouts; each pong proves the flow is still open.
    for (let i = 1; i <= 40; i++) {
      socket.write('\r\n\r\n');
      await rx.waitFor((s) => s.length >= 2 * i, `pong ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(socket.readyState).to.equal('open');
  });

  it('refuses connections beyond maxConnectionsPerAddress', async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (_o: object, msg: string) => void warnings.push(msg) };
    await start({ maxConnectionsPerAddress: 2, logger });
    const flows = collectTransportEvents(t, 'message', 2);
    const a = await connect();
    const b = await connect();
    a.socket.write(request({ transport: 'TCP' }));
    b.socket.write(request({ transport: 'TCP' }));
    const [ma, mb] = await flows;
    const third = net.connect({ host: LOCAL, port });
    sockets.push(third);
    third.on('error', () => {});
    await nextEvent(third, 'close');
    expect(t.connectionCount()).to.equal(2);
    expect(warnings.some((w) => /too many connections/.test(w))).to.equal(true);
    // The first two still work.
    t.send(responseTo(ma!.message as SipRequest), { flowId: ma!.flow.id });
    t.send(responseTo(mb!.message as SipRequest), { flowId: mb!.flow.id });
    await a.rx.waitFor((s) => s.includes('200 OK'), 'response on a');
    await b.rx.waitFor((s) => s.includes('200 OK'), 'response on b');
    // Once one closes, a new connection is admitted again.
    const gone = nextTransportEvent(t, 'flowClosed');
    a.socket.end();
    await gone;
    const c = await connect();
    const got = nextTransportEvent(t, 'message');
    c.socket.write(request({ transport: 'TCP' }));
    await got;
    expect(t.connectionCount()).to.equal(2);
  });

  it('sends a request by flow id on the connection it came from', async () => {
    await start();
    const got = nextTransportEvent(t, 'message');
    const { socket, rx } = await connect();
    socket.write(request({ transport: 'TCP', method: 'REGISTER' }));
    const { flow } = await got;
    const notify = request({ method: 'NOTIFY', transport: 'TCP', sentBy: `${LOCAL}:${port}` });
    const parsed = parseMessage(Buffer.from(notify));
    if (!parsed.ok) throw new Error(parsed.reason);
    t.send(parsed.message, { flowId: flow.id });
    await rx.waitFor((s) => s.startsWith('NOTIFY sip:herald@127.0.0.1 SIP/2.0\r\n') && s.endsWith('\r\n\r\n'), 'NOTIFY');
  });

  it('opens a connection to send to an address, and reuses it', async () => {
    await start();
    const peer = await peerServer();
    let connections = 0;
    peer.server.on('connection', () => connections++);
    const accepted = nextEvent<[net.Socket]>(peer.server, 'connection');
    const target = { protocol: 'tcp' as const, address: LOCAL, port: peer.port };
    t.send(new SipResponse(200, 'First'), target);
    t.send(new SipResponse(200, 'Second'), target); // queued while the connection is being opened
    const [conn] = await accepted;
    const rx = new Received(conn);
    await rx.waitFor((s) => s.includes('Second'), 'both messages');
    expect(rx.text).to.equal('SIP/2.0 200 First\r\n\r\nSIP/2.0 200 Second\r\n\r\n');
    t.send(new SipResponse(200, 'Third'), target);
    await rx.waitFor((s) => s.includes('Third'), 'third message');
    expect(connections).to.equal(1);
    expect(t.connectionCount()).to.equal(1);
    // The peer can send on that connection: it is a flow like an accepted one.
    const got = nextTransportEvent(t, 'message');
    conn.write(request({ transport: 'TCP' }));
    const { flow } = await got;
    expect(flow.remote).to.deep.equal({ address: LOCAL, port: peer.port });
    expect(flow.id).to.match(/^tcp:\d+$/);
  });

  it('reports a failed connect to onError', async () => {
    await start();
    const closedPort = await peerServer();
    await new Promise<void>((resolve) => closedPort.server.close(() => resolve()));
    servers.splice(servers.indexOf(closedPort.server), 1);
    const err = await new Promise<Error>((resolve) =>
      t.send(new SipResponse(200, 'OK'), { protocol: 'tcp', address: LOCAL, port: closedPort.port }, resolve),
    );
    expect(err.message).to.match(/could not connect/);
    expect(t.connectionCount()).to.equal(0);
  });

  it('sends a response for a closed flow over a new connection to Via received:port', async () => {
    await start();
    // The UA listens on its Via port; its request came from another (ephemeral) port.
    const ua = await peerServer();
    const got = nextTransportEvent(t, 'message');
    const { socket } = await connect();
    socket.write(request({ transport: 'TCP', sentBy: `ua.example.invalid:${ua.port}` }));
    const { message, flow } = await got;
    expect(topViaOf(message)?.params.get('received')).to.equal(LOCAL);
    const gone = nextTransportEvent(t, 'flowClosed');
    socket.destroy();
    await gone;

    const accepted = nextEvent<[net.Socket]>(ua.server, 'connection');
    t.sendResponse(responseTo(message as SipRequest), flow);
    const [conn] = await accepted;
    const rx = new Received(conn);
    await rx.waitFor((s) => s.includes('\r\n\r\n'), 'response');
    expect(rx.text).to.match(/^SIP\/2\.0 200 OK\r\n/);
  });

  it('survives a garbage header section: malformed 400, and the connection keeps working', async () => {
    await start();
    const bad = nextTransportEvent(t, 'malformed');
    const { socket } = await connect();
    socket.write(Buffer.concat([Buffer.from([0xff, 0x00, 0xfe, 0x3a, 0x0a, 0x80]), Buffer.from('\r\n\r\n')]));
    const f = await bad;
    expect(f.status).to.equal(400);
    expect(f.partial?.method ?? null).to.equal(null);
    const got = nextTransportEvent(t, 'message');
    socket.write(request({ transport: 'TCP' }));
    await got;
    expect(t.connectionCount()).to.equal(1);
  });
});
