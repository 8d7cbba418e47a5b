/**
 * Where prompts' audio comes from (src/media/prompt/prompt-audio.ts), with
 * the real things: espeak-ng spawned (and missing), WAV files fetched from a
 * local HTTP server with its limits.
 */
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchWavPrompt, fetchWavWithFreshness, speakPrompt } from '../../src/media/prompt/prompt-audio.js';
import { PromptAudioError } from '../../src/media/prompt/prompt-audio-error.js';
import { writeWav } from '../../src/media/prompt/wav.js';

describe('prompt sources', function () {
  this.timeout(20_000);
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok.wav') return res.end(writeWav(new Int16Array(800).fill(1000), 8000));
      if (req.url?.startsWith('/cc/')) {
        res.setHeader('cache-control', decodeURIComponent(req.url.slice(4)));
        return res.end(writeWav(new Int16Array(80), 8000));
      }
      if (req.url === '/big.wav') return res.end(writeWav(new Int16Array(100_000), 8000));
      if (req.url === '/text') return res.end('<html>not audio</html>');
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/ok.wav' });
        return res.end();
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((r) => server.close(r)));

  it('fetches a WAV and reads its samples', async () => {
    const samples = await fetchWavPrompt(`${base}/ok.wav`);
    expect(samples.length).to.equal(800);
    expect(samples[0]).to.equal(1000);
  });

  it('refuses a 404, a redirect, a body that is not a WAV, a file over the size limit and a non-http URL, each saying why', async () => {
    const refusal = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        expect(err).to.be.instanceOf(PromptAudioError);
        return (err as Error).message;
      }
      throw new Error('not refused');
    };
    expect(await refusal(fetchWavPrompt(`${base}/nothing.wav`))).to.match(/answered 404/);
    expect(await refusal(fetchWavPrompt(`${base}/moved`))).to.match(/answered 302/);
    expect(await refusal(fetchWavPrompt(`${base}/text`))).to.match(/RIFF/);
    expect(await refusal(fetchWavPrompt(`${base}/big.wav`, { maxBytes: 10_000, timeoutMs: 5000 }))).to.match(/10000-byte limit/);
    expect(await refusal(fetchWavPrompt('file:///etc/passwd'))).to.match(/only http/);
  });

  it('a WAV may be reused as long as its Cache-Control max-age says, not when it says no-store, no-cache or private, or nothing', async () => {
    const fresh = async (cc: string) => (await fetchWavWithFreshness(`${base}/cc/${encodeURIComponent(cc)}`)).freshForMs;
    expect(await fresh('public, max-age=300')).to.equal(300_000);
    expect(await fresh('max-age=60, no-store')).to.equal(0);
    expect(await fresh('no-cache')).to.equal(0);
    expect(await fresh('private, max-age=60')).to.equal(0);
    expect((await fetchWavWithFreshness(`${base}/ok.wav`)).freshForMs, 'no Cache-Control').to.equal(0);
  });

  it('espeak-ng speaks text (a known language, and one it lacks falling back to its default)', async () => {
    const english = await speakPrompt('hello world', 'en-US');
    expect(english.length, '8 kHz samples of about a second').to.be.within(4000, 16_000);
    expect(english.some((v) => Math.abs(v) > 2000), 'not silence').to.equal(true);
    expect((await speakPrompt('hello', 'xx-YY')).length).to.be.above(2000);
  });

  it('text that looks like an option is spoken, not read as one (it goes on stdin)', async () => {
    expect((await speakPrompt('--help -w /tmp/x')).length).to.be.above(2000);
  });

  it('a missing espeak-ng is a PromptAudioError naming the package, not a crash', async () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'no-espeak-'));
    try {
      await speakPrompt('hello');
      expect.fail('spoke without espeak-ng');
    } catch (err) {
      expect(err).to.be.instanceOf(PromptAudioError);
      expect((err as Error).message).to.match(/espeak-ng is not installed \(Debian package espeak-ng\)/);
    } finally {
      process.env.PATH = path;
    }
  });
});
