/**
 * A `herald serve` with media on (one worker) whose application dials the
 * SIP peer of the moment: every call gets
 * `<Dial><Sip>sip:device@127.0.0.1:PORT</Sip></Dial>` with the port last
 * given to `dialTo` (calls set up one after the other each reach their own
 * callee). For media tests that drive both legs with raw peers.
 */
import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accountYaml } from './test-account.js';
import { startHerald, writeConfig, type HeraldProcess } from './herald-process.js';
import { nodeMedia } from './node-media.js';

export interface DialToPeer {
  herald: HeraldProcess;
  /** The next calls dial the SIP peer on this UDP port of 127.0.0.1. */
  dialTo(port: number): void;
  close(): Promise<void>;
}

export async function startDialToPeer(o: { rtpPorts: string; calls?: number }): Promise<DialToPeer> {
  let calleePort = 0;
  const app = createServer((_req, res) => {
    res.setHeader('content-type', 'text/xml');
    res.end(`<Response><Dial><Sip>sip:device@127.0.0.1:${calleePort}</Sip></Dial></Response>`);
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const voiceUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/voice`;
  const herald = await startHerald({
    config: writeConfig(accountYaml({ voiceUrl, ...(o.calls !== undefined ? { calls: o.calls } : {}), extra: 'media: { workers: 1 }\n' })),
    env: { HERALD_MEDIA: 'on', HERALD_RTP_PORTS: o.rtpPorts },
  });
  expect((await nodeMedia(herald)).status, 'media engine (build the worker: npm run mediasoup-worker)').to.equal('running');
  return {
    herald,
    dialTo: (port) => (calleePort = port),
    close: async () => {
      await herald.stop();
      await new Promise((r) => app.close(r));
    },
  };
}
