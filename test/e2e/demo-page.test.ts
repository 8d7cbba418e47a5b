/**
 * The demo phone page (CONTRACT §7) in two headless Chromium pages driven by
 * playwright-core against a real `herald serve` with HERALD_MEDIA=on (the default): alice
 * (`autoanswer=1`) and bob register from the URL, bob calls alice through the
 * demo application, both are in the call and each receives the other's
 * (fake-device) audio through Herald's mediasoup (each page's selected ICE
 * pair ends at Herald's media port), and `#hangup` brings both back to
 * `registered` with no media resource left.
 */
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, packetsReceivedAbove, stateBecomes, statsOf, type PageGlobals } from '../helpers/demo-page-browser.js';
import { resolve } from 'node:path';
import { ACCOUNT, accountYaml, APP } from '../helpers/test-account.js';
import { run } from '../helpers/run.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { freeTcpPort, freeUdpPort } from '../helpers/free-port.js';
import { mediaBecomesEmpty, nodeMedia } from '../helpers/node-media.js';

const RTP_MIN = 47200;
const RTP_MAX = 47299;

describe('demo page: two browsers call each other', function () {
  this.timeout(90_000);
  let herald: HeraldProcess;
  let browser: Browser;
  let base: string;
  const errors: string[] = [];
  const pages: Page[] = [];

  before(async () => {
    const port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    // bob also exists as a Digest softphone user that may place calls (as in config/default.yaml).
    const config = writeConfig(
      accountYaml({
        voiceUrl: `${base}/demo/voice`,
        accountExtra: `    sipDomain: demo.sip.localhost\n    credentials:\n      - { username: bob, password: bob-secret, outgoingApplication: ${APP} }\n`,
        extra: `demo:\n  account: ${ACCOUNT}\n`,
      }),
    );
    // The default HERALD_MEDIA=on, as `npm start` runs: each browser's leg is a WebRtcTransport of the call's router.
    herald = await startHerald({ config, env: { HERALD_HTTP: `127.0.0.1:${port}`, HERALD_MEDIA: 'on', HERALD_RTP_PORTS: `${RTP_MIN}-${RTP_MAX}` } });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });

  // Closing a page closes its WebSocket, which removes its bindings: each test starts with no clients.
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
  });

  after(async () => {
    await browser?.close();
    await herald?.stop();
  });

  async function open(query: string): Promise<Page> {
    const page = await browser.newPage();
    pages.push(page);
    page.on('pageerror', (err) => errors.push(`${query}: ${err.message}`));
    await page.goto(`${base}/?${query}`);
    return page;
  }

  it('registers both, connects bob to alice with audio both ways, and hangs up', async () => {
    const alice = await open('identity=alice&autoanswer=1');
    const bob = await open('identity=bob');
    await Promise.all([stateBecomes(alice, 'registered'), stateBecomes(bob, 'registered')]);
    // Each page lists both clients once the next poll has run.
    await bob.waitForFunction(() => /alice — available/.test((globalThis as unknown as PageGlobals).document.querySelector('#clients')?.textContent ?? ''), undefined, { timeout: 10_000 });

    await bob.fill('#to', 'alice');
    await bob.click('#call');
    await Promise.all([stateBecomes(alice, 'in-call'), stateBecomes(bob, 'in-call')]);
    // Presence follows the call: the list shows alice busy (within a poll or two).
    await bob.waitForFunction(() => /alice — busy/.test((globalThis as unknown as PageGlobals).document.querySelector('#clients')?.textContent ?? ''), undefined, { timeout: 10_000 });

    // Media flows through Herald: the counts rise while the call lasts, and each page sends to Herald's media port, not to the other page.
    const aliceFirst = await packetsReceivedAbove(alice, 0);
    const bobFirst = await packetsReceivedAbove(bob, 0);
    expect(await packetsReceivedAbove(alice, aliceFirst)).to.be.greaterThan(aliceFirst);
    expect(await packetsReceivedAbove(bob, bobFirst)).to.be.greaterThan(bobFirst);
    const stats = [await statsOf(alice), await statsOf(bob)];
    // mediasoup does not transcode: between browsers the bridge takes Opus, what both prefer.
    expect(stats.map((st) => st.codec)).to.deep.equal(['audio/opus', 'audio/opus']);
    const remotes = stats.map((st) => st.remote);
    for (const remote of remotes) {
      expect(remote?.address).to.equal('127.0.0.1');
      expect(remote?.port, `the selected ICE pair ends at Herald's media port: ${JSON.stringify(remote)}`).to.be.within(RTP_MIN, RTP_MAX);
    }
    // Both legs are on the call's router, so on one worker: its WebRtcServer's one UDP port serves both.
    expect(remotes[0]?.port, JSON.stringify(remotes)).to.equal(remotes[1]?.port);
    const media = await nodeMedia(herald);
    expect(media).to.include({ routers: 1, transports: 2, producers: 2, consumers: 2 });

    await bob.click('#hangup');
    await Promise.all([stateBecomes(alice, 'registered'), stateBecomes(bob, 'registered')]);
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });

  it('rings a callee without autoanswer until #answer, and the callee hangs up', async () => {
    const carol = await open('identity=carol');
    const dave = await open('identity=dave');
    await Promise.all([stateBecomes(carol, 'registered'), stateBecomes(dave, 'registered')]);
    await dave.fill('#to', 'carol');
    await dave.click('#call');
    await Promise.all([stateBecomes(carol, 'ringing'), stateBecomes(dave, 'ringing')]);
    await carol.click('#answer');
    await Promise.all([stateBecomes(carol, 'in-call'), stateBecomes(dave, 'in-call')]);
    await carol.click('#hangup');
    await Promise.all([stateBecomes(carol, 'registered'), stateBecomes(dave, 'registered')]);
    expect(errors).to.deep.equal([]);
  });

  it('a softphone (sipp, Digest user bob as in the default config) calls the page: it rings through the demo application, answers, and hears itself back through sipp\'s echo', async () => {
    const alice = await open('identity=alice&autoanswer=1');
    await stateBecomes(alice, 'registered');
    const fixture = resolve(import.meta.dirname, '..', 'fixtures', 'sipp', 'softphone-digest-call.xml');
    const softphone = run('sipp', ['-sf', fixture, '-key', 'user', 'bob', '-key', 'domain', 'demo.sip.localhost', '-key', 'to', 'alice', '-au', 'bob', '-ap', 'bob-secret', '-d', '6000', '-i', '127.0.0.1', '-mi', '127.0.0.1', '-mp', String(await freeUdpPort()), '-rtp_echo', '-p', '0', '-m', '1', '-timeout', '30s', '-timeout_error', '-nostdin', `127.0.0.1:${herald.listeners.udp!.port}`], { timeoutMs: 45_000 });
    await stateBecomes(alice, 'in-call');
    // The softphone only echoes: what the page receives went page → Herald → softphone → Herald → page.
    const first = await packetsReceivedAbove(alice, 0);
    expect(await packetsReceivedAbove(alice, first + 20)).to.be.greaterThan(first + 20);
    expect((await statsOf(alice)).codec).to.equal('audio/PCMU');
    const r = await softphone;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    await stateBecomes(alice, 'registered');
    await mediaBecomesEmpty(herald);
    expect(errors).to.deep.equal([]);
  });
});
