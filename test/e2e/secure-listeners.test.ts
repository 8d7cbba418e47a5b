/**
 * The secure listeners of CONTRACT §1 wired from the environment: WSS
 * (HERALD_SIP_WSS with HERALD_TLS_CERT/KEY) and SIP over TLS (HERALD_SIP_TLS)
 * answer OPTIONS; a WSS listener without a certificate stops the start.
 */
import { expect } from 'chai';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { WebSocket } from 'ws';
import { parseMessage } from '../../src/sip/parser.js';
import { StreamFramer } from '../../src/sip/stream-framer.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { run } from '../helpers/run.js';
import { request } from '../helpers/sip-socket.js';
import { testCert } from '../helpers/tls-cert.js';

describe('secure listeners from the environment (WSS, TLS)', function () {
  let herald: HeraldProcess;

  before(async () => {
    const cert = testCert();
    const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    writeFileSync(join(dir, 'cert.pem'), cert.cert);
    writeFileSync(join(dir, 'key.pem'), cert.key);
    herald = await startHerald({
      env: {
        HERALD_SIP_WSS: '127.0.0.1:0',
        HERALD_SIP_TLS: '127.0.0.1:0',
        HERALD_TLS_CERT: join(dir, 'cert.pem'),
        HERALD_TLS_KEY: join(dir, 'key.pem'),
      },
    });
  });
  after(async () => {
    await herald.stop();
  });

  it('answers OPTIONS over WSS (subprotocol sip) with 200', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${herald.listeners.wss!.port}`, 'sip', { rejectUnauthorized: false });
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    const answer = new Promise<string>((res) => ws.once('message', (d: Buffer) => res(d.toString())));
    ws.send(request('OPTIONS', { transport: 'TCP', port: 5061 }).replace('SIP/2.0/TCP 127.0.0.1:5061', 'SIP/2.0/WSS client.invalid'));
    const r = parseMessage(Buffer.from(await answer));
    expect(r.ok && r.message.type === 'response' && r.message.status).to.equal(200);
    ws.close();
  });

  it('answers OPTIONS over SIP/TLS with 200', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: herald.listeners.tls!.port, rejectUnauthorized: false });
    await new Promise<void>((res, rej) => {
      socket.once('secureConnect', () => res());
      socket.once('error', rej);
    });
    const framer = new StreamFramer(65535);
    const answer = new Promise<number>((res) => {
      socket.on('data', (d: Buffer) => {
        for (const ev of framer.push(d)) {
          if (ev.kind !== 'message') continue;
          const r = parseMessage(ev.bytes, { stream: true });
          if (r.ok && r.message.type === 'response') res(r.message.status);
        }
      });
    });
    socket.write(request('OPTIONS', { transport: 'TCP', port: socket.localPort ?? 0 }).replace('SIP/2.0/TCP', 'SIP/2.0/TLS'));
    expect(await answer).to.equal(200);
    socket.destroy();
  });

  it('refuses to start a WSS listener without a certificate, naming the variables', async () => {
    const env = { ...process.env, HERALD_SIP_WSS: '127.0.0.1:0', HERALD_TLS_CERT: '', HERALD_TLS_KEY: '' };
    const r = await run(process.execPath, [resolve(import.meta.dirname, '..', '..', 'bin', 'herald.js'), 'serve'], { timeoutMs: 20000, env });
    expect(r.code).to.equal(78);
    expect(r.stderr).to.include('HERALD_TLS_CERT').and.include('HERALD_TLS_KEY');
  });
});
