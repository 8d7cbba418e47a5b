/**
 * Real SIP peers against a running server: sipp over UDP and TCP, sipsak
 * (which needs rport: it listens on a port other than the one in its Via),
 * and SIP.js 0.21 in Node over WebSocket sending OPTIONS and MESSAGE.
 */
import { expect } from 'chai';
import { resolve } from 'node:path';
import { WebSocket } from 'ws';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { run } from '../helpers/run.js';

const SCENARIO = resolve(import.meta.dirname, '..', 'fixtures', 'sipp', 'options-uac.xml');

describe('OPTIONS from real peers', function () {
  let herald: HeraldProcess;

  before(async () => {
    herald = await startHerald();
  });
  after(async () => {
    await herald.stop();
  });

  it('sipp over UDP: 200 calls of OPTIONS all answered 200 with Allow', async () => {
    const target = `127.0.0.1:${herald.listeners.udp!.port}`;
    const r = await run('sipp', ['-sf', SCENARIO, '-m', '200', '-r', '200', '-l', '50', '-t', 'u1', '-i', '127.0.0.1', '-timeout', '30s', '-timeout_error', '-nostdin', target]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
  });

  it('sipp over TCP (one connection per call): 100 OPTIONS answered 200', async () => {
    const target = `127.0.0.1:${herald.listeners.tcp!.port}`;
    const r = await run('sipp', ['-sf', SCENARIO, '-m', '100', '-r', '100', '-l', '20', '-t', 'tn', '-max_socket', '1000', '-i', '127.0.0.1', '-timeout', '30s', '-timeout_error', '-nostdin', target]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
  });

  it('sipsak: OPTIONS answered 200 (response routed by rport)', async () => {
    const r = await run('sipsak', ['-vv', '-s', `sip:ping@127.0.0.1:${herald.listeners.udp!.port}`], { timeoutMs: 30000 });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/SIP\/2\.0 200 OK/);
  });

  it('SIP.js over WebSocket: OPTIONS gets 200 with Allow, MESSAGE gets 405 with Allow', async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    const { UserAgent, Messager } = await import('sip.js');
    const ws = `ws://127.0.0.1:${herald.listeners.ws!.port}`;
    const ua = new UserAgent({
      uri: UserAgent.makeURI('sip:alice@herald.test'),
      transportOptions: { server: ws },
      logLevel: 'error',
    });
    await ua.start();
    try {
      const target = UserAgent.makeURI('sip:herald.test')!;
      const core = ua.userAgentCore;
      const options = core.makeOutgoingRequestMessage('OPTIONS', target, ua.configuration.uri, target, {});
      const optionsResponse = await new Promise<{ statusCode: number; allow: string }>((res) => {
        core.request(options, {
          onAccept: (r) => res({ statusCode: r.message.statusCode ?? 0, allow: r.message.getHeader('allow') ?? '' }),
          onReject: (r) => res({ statusCode: r.message.statusCode ?? 0, allow: r.message.getHeader('allow') ?? '' }),
        });
      });
      expect(optionsResponse.statusCode).to.equal(200);
      expect(optionsResponse.allow).to.include('OPTIONS');

      const messageResponse = await new Promise<{ statusCode: number; allow: string }>((res, rej) => {
        const messager = new Messager(ua, UserAgent.makeURI('sip:bob@herald.test')!, 'hello');
        messager
          .message({
            requestDelegate: {
              onAccept: (r) => res({ statusCode: r.message.statusCode ?? 0, allow: r.message.getHeader('allow') ?? '' }),
              onReject: (r) => res({ statusCode: r.message.statusCode ?? 0, allow: r.message.getHeader('allow') ?? '' }),
            },
          })
          .catch(rej);
      });
      expect(messageResponse.statusCode).to.equal(405);
      expect(messageResponse.allow).to.include('OPTIONS');
    } finally {
      await ua.stop();
    }
  });
});
