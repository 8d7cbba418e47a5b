import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { topViaOf } from '../../../src/sip/fields.js';
import { SipResponse, type SipRequest } from '../../../src/sip/message.js';
import type { SipTransport } from '../../../src/transport/sip-transport.js';
import type { InboundFailure } from '../../../src/transport/types.js';
import { ANY_PORT, LOCAL, makeTransport, nextEvent, nextTransportEvent, portOf, request, responseTo } from './helpers.js';

describe('transport: UDP', () => {
  let t: SipTransport;
  let client: dgram.Socket;
  let serverPort: number;
  let clientPort: number;

  beforeEach(async () => {
    t = makeTransport({ udp: ANY_PORT, maxMessageBytes: 2000 });
    await t.start();
    serverPort = portOf(t, 'udp');
    client = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, LOCAL, () => resolve()));
    clientPort = (client.address() as AddressInfo).port;
  });

  afterEach(async () => {
    client.close();
    await t.stop();
  });

  const sendRaw = (text: string | Buffer): void => {
    client.send(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, serverPort, LOCAL);
  };
  const nextDatagram = async (): Promise<string> => {
    const [msg] = await nextEvent<[Buffer]>(client, 'message');
    return msg.toString('latin1');
  };

  it('stamps received and rport on the top Via and routes the response to rport', async () => {
    const got = nextTransportEvent(t, 'message');
    // The sent-by claims another address and port, as a UA behind a NAT would.
    sendRaw(request({ sentBy: '192.0.2.10:5999', viaParams: ';rport' }));
    const { message, flow, bytes } = await got;
    expect(message.type).to.equal('request');
    expect(flow.protocol).to.equal('udp');
    expect(flow.reliable).to.equal(false);
    expect(flow.remote).to.deep.equal({ address: LOCAL, port: clientPort });
    expect(flow.id).to.equal(`udp:${serverPort}:${LOCAL}:${clientPort}`);
    expect(bytes).to.be.greaterThan(100);
    const via = topViaOf(message);
    expect(via?.params.get('received')).to.equal(LOCAL);
    expect(via?.params.get('rport')).to.equal(String(clientPort));
    expect(via?.host).to.equal('192.0.2.10');

    // Goes to 127.0.0.1:<client port>, not to the sent-by 192.0.2.10:5999.
    const reply = nextDatagram();
    t.sendResponse(responseTo(message as SipRequest), flow);
    const text = await reply;
    expect(text).to.match(/^SIP\/2\.0 200 OK\r\n/);
    expect(text).to.include(`received=127.0.0.1`);
  });

  it('adds received without rport when the sent-by host is not the source, and keeps other Vias', async () => {
    const got = nextTransportEvent(t, 'message');
    const req = request({ sentBy: 'phone.example.com:5999' }).replace(
      'Max-Forwards',
      'Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-second\r\nMax-Forwards',
    );
    sendRaw(req);
    const { message } = await got;
    const vias = message.headers.getAll('via');
    expect(vias).to.have.length(2);
    expect(vias[0]).to.match(/^SIP\/2\.0\/UDP phone\.example\.com:5999;branch=z9hG4bK-test-\d+;received=127\.0\.0\.1$/);
    expect(vias[1]).to.equal('SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-second');
    expect(topViaOf(message)?.params.has('rport')).to.equal(false);
  });

  it('leaves the Via alone when sent-by is the source address and rport is not asked for', async () => {
    const got = nextTransportEvent(t, 'message');
    const raw = request({ sentBy: `${LOCAL}:${clientPort}` });
    sendRaw(raw);
    const { message } = await got;
    expect(message.headers.get('via')).to.match(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${clientPort};branch=[^;]+$`));
  });

  it('routes a response by the Via sent-by port when there is no rport', async () => {
    const other = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => other.bind(0, LOCAL, () => resolve()));
    const otherPort = (other.address() as AddressInfo).port;
    try {
      const got = nextTransportEvent(t, 'message');
      sendRaw(request({ sentBy: `${LOCAL}:${otherPort}` }));
      const { message, flow } = await got;
      const reply = nextEvent<[Buffer]>(other, 'message');
      t.sendResponse(responseTo(message as SipRequest), flow);
      const [buf] = await reply;
      expect(buf.toString('latin1')).to.match(/^SIP\/2\.0 200 OK/);
    } finally {
      other.close();
    }
  });

  it('ignores octets after Content-Length in a datagram', async () => {
    const got = nextTransportEvent(t, 'message');
    sendRaw(request({ body: 'hello', contentLength: 5 }) + 'GARBAGE-AFTER-THE-BODY');
    const { message } = await got;
    expect(message.body.toString()).to.equal('hello');
  });

  it('answers a CRLFCRLF keep-alive with CRLF and ignores a lone CRLF', async () => {
    const malformed: InboundFailure[] = [];
    t.on('malformed', (f) => malformed.push(f));
    const first = nextDatagram();
    sendRaw('\r\n');
    sendRaw('\r\n\r\n');
    expect(await first).to.equal('\r\n');
    // A real request after them is still delivered, and nothing was reported as malformed.
    const got = nextTransportEvent(t, 'message');
    sendRaw(request());
    await got;
    expect(malformed).to.have.length(0);
  });

  it('reports an unparsable datagram as malformed 400 with the headers read so far', async () => {
    const got = nextTransportEvent(t, 'malformed');
    sendRaw(request().replace('Max-Forwards: 70', 'this line has no colon'));
    const f = await got;
    expect(f.status).to.equal(400);
    expect(f.reason).to.match(/colon/);
    expect(f.partial?.type).to.equal('request');
    expect(f.partial?.method).to.equal('OPTIONS');
    expect(f.partial?.headers.get('call-id')).to.match(/@test$/);
    expect(f.flow.remote.port).to.equal(clientPort);
  });

  it('answers a datagram over maxMessageBytes with 513 when its head parses', async () => {
    const got = nextTransportEvent(t, 'malformed');
    const body = 'x'.repeat(3000);
    sendRaw(request({ body }));
    const f = await got;
    expect(f.status).to.equal(513);
    expect(f.partial?.method).to.equal('OPTIONS');
    expect(f.partial?.headers.get('cseq')).to.equal('1 OPTIONS');
  });

  it('sends by flow id and by address, and looks up UDP flows', async () => {
    const got = nextTransportEvent(t, 'message');
    sendRaw(request());
    const { flow, message } = await got;
    const same = t.flow(flow.id);
    expect(same?.id).to.equal(flow.id);
    expect(same?.remote).to.deep.equal({ address: LOCAL, port: clientPort });
    expect(t.flow(`udp:${serverPort + 1 === 65536 ? 1 : serverPort + 1}:${LOCAL}:1234`)).to.equal(null);

    const byFlow = nextDatagram();
    t.send(responseTo(message as SipRequest, 180, 'Ringing'), { flowId: flow.id });
    expect(await byFlow).to.match(/^SIP\/2\.0 180 Ringing/);

    const byAddress = nextDatagram();
    t.send(responseTo(message as SipRequest, 183, 'Progress'), { protocol: 'udp', address: LOCAL, port: clientPort });
    expect(await byAddress).to.match(/^SIP\/2\.0 183 Progress/);
    expect(t.viaSentBy('udp')).to.deep.equal({ address: LOCAL, port: serverPort });
  });

  it('reports sends to an unknown flow to onError, asynchronously', async () => {
    let sync = true;
    const err = new Promise<Error>((resolve) => {
      t.send(new SipResponse(200, 'OK'), { flowId: 'tcp:999999' }, (e) => {
        expect(sync).to.equal(false);
        resolve(e);
      });
    });
    sync = false;
    expect((await err).message).to.match(/closed/);
  });

  it('keeps delivering after a listener throws', async () => {
    let calls = 0;
    t.on('message', () => {
      calls++;
      throw new Error('listener bug');
    });
    const a = nextTransportEvent(t, 'message');
    sendRaw(request());
    await a;
    const b = nextTransportEvent(t, 'message');
    sendRaw(request());
    await b;
    expect(calls).to.equal(2);
  });

  it('rewrites only the first element of a comma-joined Via line', async () => {
    const got = nextTransportEvent(t, 'message');
    const raw = request({ viaParams: ';rport' }).replace(/^(Via: [^\r]+)/m, '$1, SIP/2.0/UDP 198.51.100.1:5080;branch=z9hG4bK-second');
    sendRaw(raw);
    const { message } = await got;
    const vias = message.headers.list('via');
    expect(vias).to.have.length(2);
    expect(vias?.[0]).to.match(new RegExp(`;rport=${clientPort};received=127\\.0\\.0\\.1$`));
    expect(vias?.[1]).to.equal('SIP/2.0/UDP 198.51.100.1:5080;branch=z9hG4bK-second');
    expect(message.headers.all()[1]?.name).to.equal('Via');
  });
});
