import http from 'node:http';
import { expect } from 'chai';
import WebSocket from 'ws';
import { topViaOf } from '../../../src/sip/fields.js';
import { parseMessage } from '../../../src/sip/parser.js';
import type { SipRequest } from '../../../src/sip/message.js';
import type { SipTransport } from '../../../src/transport/sip-transport.js';
import { testCert } from '../../helpers/tls-cert.js';
import {
  ANY_PORT,
  LOCAL,
  collectTransportEvents,
  makeTransport,
  nextEvent,
  nextTransportEvent,
  portOf,
  request,
  responseTo,
} from './helpers.js';

type Frame = { data: string; isBinary: boolean };

describe('transport: WebSocket', () => {
  let t: SipTransport;
  const clients: WebSocket[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await t.stop();
  });

  async function start(options: Parameters<typeof makeTransport>[0] = {}): Promise<string> {
    t = makeTransport({ ws: ANY_PORT, ...options });
    await t.start();
    return `ws://${LOCAL}:${portOf(t, 'ws')}`;
  }

  function client(url: string, protocols: string[] = ['sip'], options: WebSocket.ClientOptions = {}): WebSocket {
    const ws = new WebSocket(url, protocols, options);
    clients.push(ws);
    ws.on('error', () => {}); // terminate() in afterEach on a refused or half-open socket
    return ws;
  }

  async function open(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
    const ws = client(url, ['sip'], options);
    await nextEvent(ws, 'open');
    return ws;
  }

  function nextFrame(ws: WebSocket): Promise<Frame> {
    return nextEvent<[Buffer, boolean]>(ws, 'message').then(([data, isBinary]) => ({ data: data.toString('utf8'), isBinary }));
  }

  /** Status of a refused handshake. */
  async function refusedStatus(ws: WebSocket): Promise<number> {
    const [, res] = await nextEvent<[http.ClientRequest, http.IncomingMessage]>(ws, 'unexpected-response');
    res.resume();
    return res.statusCode ?? 0;
  }

  it('refuses a handshake that does not offer the sip subprotocol with 400', async () => {
    const url = await start();
    expect(await refusedStatus(client(url, []))).to.equal(400);
    expect(await refusedStatus(client(url, ['chat']))).to.equal(400);
    const ok = await open(url);
    expect(ok.protocol).to.equal('sip');
  });

  it('refuses an Origin that is not allowed with 403 and accepts an allowed one', async () => {
    const url = await start({ wsAllowedOrigins: ['https://app.example.com'] });
    expect(await refusedStatus(client(url, ['sip'], { origin: 'https://evil.example.net' }))).to.equal(403);
    expect(await refusedStatus(client(url, ['sip']))).to.equal(403);
    const ok = await open(url, { origin: 'https://App.Example.com' });
    expect(ok.readyState).to.equal(WebSocket.OPEN);
    expect(t.connectionCount()).to.equal(1);
  });

  it('takes one message per frame and stamps received on the .invalid Via', async () => {
    const url = await start();
    const ws = await open(url);
    const got = collectTransportEvents(t, 'message', 2);
    // No Content-Length in the first: the frame bounds the message (RFC 7118 §5).
    ws.send(request({ transport: 'WS', sentBy: 'df7jal23ls0d.invalid', body: 'frame-one-body', contentLength: null }));
    ws.send(Buffer.from(request({ transport: 'WS', sentBy: 'df7jal23ls0d.invalid', callId: 'second' })), { binary: true });
    const [a, b] = await got;
    expect(a?.message.body.toString()).to.equal('frame-one-body');
    expect(b?.message.headers.get('call-id')).to.equal('second');
    expect(a?.flow.protocol).to.equal('ws');
    expect(a?.flow.id).to.equal(b?.flow.id);
    expect(a?.flow.id).to.match(/^ws:\d+$/);
    const via = topViaOf(a!.message);
    expect(via?.host).to.equal('df7jal23ls0d.invalid');
    expect(via?.params.get('received')).to.equal(LOCAL);
  });

  it('reports a malformed frame without closing the WebSocket', async () => {
    const url = await start();
    const ws = await open(url);
    const bad = nextTransportEvent(t, 'malformed');
    ws.send(request({ transport: 'WS', body: 'short', contentLength: 99 }));
    const f = await bad;
    expect(f.status).to.equal(400);
    expect(f.reason).to.equal('Content-Length larger than the message');
    const got = nextTransportEvent(t, 'message');
    ws.send(request({ transport: 'WS' }));
    await got;
    expect(ws.readyState).to.equal(WebSocket.OPEN);
  });

  it('answers a CRLFCRLF frame with a CRLF frame and a ping with a pong', async () => {
    const url = await start();
    const ws = await open(url);
    const frame = nextFrame(ws);
    ws.send('\r\n\r\n');
    expect((await frame).data).to.equal('\r\n');
    const pong = nextEvent<[Buffer]>(ws, 'pong');
    ws.ping(Buffer.from('hello'));
    expect((await pong)[0].toString()).to.equal('hello');
  });

  it('sends by flow id as a text frame, answers on the flow, and announces the close', async () => {
    const url = await start();
    const ws = await open(url);
    const got = nextTransportEvent(t, 'message');
    ws.send(request({ transport: 'WS', sentBy: 'abc.invalid', method: 'REGISTER' }));
    const { message, flow } = await got;

    let frame = nextFrame(ws);
    t.sendResponse(responseTo(message as SipRequest), flow);
    let f = await frame;
    expect(f.isBinary).to.equal(false);
    expect(f.data).to.match(/^SIP\/2\.0 200 OK\r\n/);

    const invite = parseMessage(Buffer.from(request({ method: 'INVITE', transport: 'WS', sentBy: 'herald.invalid' })));
    if (!invite.ok) throw new Error(invite.reason);
    frame = nextFrame(ws);
    t.send(invite.message, { flowId: flow.id });
    f = await frame;
    expect(f.isBinary).to.equal(false);
    expect(f.data.startsWith('INVITE sip:herald@127.0.0.1 SIP/2.0\r\n')).to.equal(true);

    // By address too, over the existing connection only.
    frame = nextFrame(ws);
    t.send(invite.message, { protocol: 'ws', address: flow.remote.address, port: flow.remote.port });
    expect((await frame).data.startsWith('INVITE ')).to.equal(true);
    const noConn = await new Promise<Error>((resolve) =>
      t.send(invite.message, { protocol: 'ws', address: LOCAL, port: 1 }, resolve),
    );
    expect(noConn.message).to.match(/no ws connection/);

    const gone = nextTransportEvent(t, 'flowClosed');
    ws.close();
    expect((await gone).id).to.equal(flow.id);
    const lost = await new Promise<Error>((resolve) => t.sendResponse(responseTo(message as SipRequest), flow, resolve));
    expect(lost.message).to.match(/closed/);
    expect(t.connectionCount()).to.equal(0);
  });

  it('closes an idle WebSocket', async () => {
    const url = await start({ idleTimeoutMs: 300 });
    const ws = await open(url);
    const gone = nextTransportEvent(t, 'flowClosed');
    const [code] = await nextEvent<[number]>(ws, 'close');
    expect(code).to.equal(1000);
    expect((await gone).protocol).to.equal('ws');
  });

  it('works over WSS with the test certificate', async () => {
    const { cert, key } = testCert();
    t = makeTransport({ wss: ANY_PORT, tlsCert: cert, tlsKey: key });
    await t.start();
    const url = `wss://localhost:${portOf(t, 'wss')}`;
    const ws = client(url, ['sip'], { ca: cert });
    await nextEvent(ws, 'open');
    const got = nextTransportEvent(t, 'message');
    ws.send(request({ transport: 'WSS', sentBy: 'x.invalid' }));
    const { message, flow } = await got;
    expect(flow.protocol).to.equal('wss');
    const frame = nextFrame(ws);
    t.sendResponse(responseTo(message as SipRequest), flow);
    expect((await frame).data).to.match(/^SIP\/2\.0 200 OK\r\n/);
    expect(t.viaSentBy('wss')).to.deep.equal({ address: LOCAL, port: portOf(t, 'wss') });
  });
});
