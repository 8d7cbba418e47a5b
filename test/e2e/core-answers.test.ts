/**
 * A real `herald serve` process answers on every listener of CONTRACT §1 and
 * gives the core answers of RFC 3261: OPTIONS 200, 405, 420, 513, 400.
 */
import { expect } from 'chai';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { request, TcpPeer, UdpPeer } from '../helpers/sip-socket.js';

describe('herald serve: ready line and core SIP answers', function () {
  let herald: HeraldProcess;
  let udp: UdpPeer;

  before(async () => {
    const config = writeConfig('sip:\n  maxMessageBytes: 4096\n');
    herald = await startHerald({ config });
    udp = await UdpPeer.open();
  });

  after(async () => {
    udp.close();
    await herald.stop();
  });

  it('prints one ready line with the bound ports and serves them at /v1/Node', async () => {
    const ready = herald.logs.filter((l) => l.msg === 'ready');
    expect(ready).to.have.length(1);
    const { udp: u, tcp, ws, http } = herald.listeners;
    for (const l of [u, tcp, ws, http]) expect(l?.port).to.be.a('number').greaterThan(0);
    const node = (await (await fetch(`http://127.0.0.1:${http!.port}/v1/Node`)).json()) as { listeners: typeof herald.listeners };
    expect(node.listeners.udp?.port).to.equal(u!.port);
    expect(node.listeners.ws?.port).to.equal(ws!.port);
    const health = await fetch(`http://127.0.0.1:${http!.port}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ status: 'ok' });
  });

  it('answers OPTIONS over UDP with 200, Allow, Accept and Supported', async () => {
    udp.send(request('OPTIONS', { transport: 'UDP', port: udp.port }), herald.listeners.udp!.port);
    const res = await udp.nextResponse();
    expect(res?.status).to.equal(200);
    expect(res!.headers.get('allow')).to.include('OPTIONS');
    expect(res!.headers.get('accept')).to.include('application/sdp');
    expect(res!.headers.has('supported')).to.equal(true);
    expect(res!.headers.get('via')).to.match(/received=127\.0\.0\.1/).and.match(/rport=\d+/);
  });

  it('answers OPTIONS over TCP with 200', async () => {
    const tcp = await TcpPeer.open(herald.listeners.tcp!.port);
    tcp.send(request('OPTIONS', { transport: 'TCP', port: tcp.localPort }));
    expect((await tcp.nextResponse())?.status).to.equal(200);
    tcp.close();
  });

  it('answers a known but unsupported method with 405 and Allow, an unknown one with 501 and Allow', async () => {
    udp.send(request('REFER', { transport: 'UDP', port: udp.port }), herald.listeners.udp!.port);
    const res = await udp.nextResponse();
    expect(res?.status).to.equal(405);
    expect(res!.headers.get('allow')).to.include('OPTIONS');
    udp.send(request('FROBNICATE', { transport: 'UDP', port: udp.port }), herald.listeners.udp!.port);
    const unknown = await udp.nextResponse();
    expect(unknown?.status).to.equal(501);
    expect(unknown!.headers.get('allow')).to.include('OPTIONS');
  });

  it('answers an unsupported Require with 420 and Unsupported', async () => {
    udp.send(request('OPTIONS', { transport: 'UDP', port: udp.port, extra: ['Require: foo, 100rel-not-here'] }), herald.listeners.udp!.port);
    const res = await udp.nextResponse();
    expect(res?.status).to.equal(420);
    expect(res!.headers.get('unsupported')).to.equal('foo, 100rel-not-here');
  });

  it('answers a request larger than maxMessageBytes with 513 (UDP and TCP)', async () => {
    const big = 'x'.repeat(6000);
    udp.send(request('OPTIONS', { transport: 'UDP', port: udp.port, body: big, extra: ['Content-Type: text/plain'] }), herald.listeners.udp!.port);
    expect((await udp.nextResponse())?.status).to.equal(513);
    const tcp = await TcpPeer.open(herald.listeners.tcp!.port);
    tcp.send(request('OPTIONS', { transport: 'TCP', port: tcp.localPort, body: big, extra: ['Content-Type: text/plain'] }));
    expect((await tcp.nextResponse())?.status).to.equal(513);
    tcp.close();
  });

  it('answers a malformed request with 400 and a reason that says what is wrong', async () => {
    const msg = request('OPTIONS', { transport: 'UDP', port: udp.port }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE');
    udp.send(msg, herald.listeners.udp!.port);
    const res = await udp.nextResponse();
    expect(res?.status).to.equal(400);
    expect(res!.reason).to.match(/CSeq/);
  });

  it('answers a Via with port 0 (no rport) with 400 at the source address, and keeps no transaction', async () => {
    const node = async () =>
      ((await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Node`)).json()) as { transactions: { server: number } }).transactions.server;
    const before = await node();
    const msg = request('OPTIONS', { transport: 'UDP', port: udp.port }).replace(/127\.0\.0\.1:\d+;branch=([^;]+);rport/, '127.0.0.1:0;branch=$1');
    udp.send(msg, herald.listeners.udp!.port);
    const res = await udp.nextResponse();
    expect(res?.status).to.equal(400);
    expect(res!.reason).to.match(/Via/);
    // Earlier transactions can only have ended meanwhile; this one must not have been added.
    expect(await node()).to.be.at.most(before);
  });

  it('drains on SIGTERM: health says draining, then the process exits 0', async () => {
    const other = await startHerald();
    other.proc.kill('SIGTERM');
    expect(await other.exited).to.equal(0);
    expect(other.logs.some((l) => l.msg === 'stopped')).to.equal(true);
  });
});
