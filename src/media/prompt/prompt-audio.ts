/**
 * Where a prompt's audio comes from, as 8 kHz mono 16-bit samples:
 * `<Play>`'s WAV from its URL (undici, with a size limit and a timeout),
 * `<Say>`'s text from espeak-ng (`--stdout` writes a WAV; spawned with
 * arguments, never through a shell, the text on stdin so that no text can be
 * read as an option).
 *
 * Every failure is a PromptAudioError with a reason fit for the log: the
 * call skips the verb, as Twilio does with a file it cannot play.
 */
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { PromptAudioError } from './prompt-audio-error.js';
import { readWav } from './wav.js';

export interface PromptFetchLimits {
  /** Largest file accepted (a minute of 48 kHz stereo is ~11 MB). */
  maxBytes: number;
  timeoutMs: number;
}

export const DEFAULT_PROMPT_LIMITS: PromptFetchLimits = { maxBytes: 16 * 1024 * 1024, timeoutMs: 10_000 };

/** `<Play>`: the WAV at `url`. */
export async function fetchWavPrompt(url: string, limits: PromptFetchLimits = DEFAULT_PROMPT_LIMITS): Promise<Int16Array> {
  return (await fetchWavWithFreshness(url, limits)).samples;
}

/** A fetched WAV's samples and how long its response says it may be reused (Cache-Control max-age; 0 when not). */
export interface FetchedWav {
  samples: Int16Array;
  freshForMs: number;
}

export async function fetchWavWithFreshness(url: string, limits: PromptFetchLimits = DEFAULT_PROMPT_LIMITS): Promise<FetchedWav> {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new PromptAudioError(`cannot play ${url}: only http(s) URLs`);
  let res: Awaited<ReturnType<typeof request>>;
  try {
    // undici's request() follows no redirect: a 3xx is an error below.
    res = await request(parsed, { method: 'GET', headersTimeout: limits.timeoutMs, bodyTimeout: limits.timeoutMs });
  } catch (err) {
    throw new PromptAudioError(`fetching ${url} failed: ${(err as Error).message}`);
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new PromptAudioError(`fetching ${url} answered ${res.statusCode}`);
  }
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > limits.maxBytes) {
    await res.body.dump();
    throw new PromptAudioError(`${url} is ${declared} bytes, over the ${limits.maxBytes}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > limits.maxBytes) {
        res.body.destroy();
        throw new PromptAudioError(`${url} is over the ${limits.maxBytes}-byte limit`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof PromptAudioError) throw err;
    throw new PromptAudioError(`reading ${url} failed: ${(err as Error).message}`);
  }
  try {
    return { samples: readWav(Buffer.concat(chunks)), freshForMs: freshnessMs(res.headers['cache-control']) };
  } catch (err) {
    if (err instanceof PromptAudioError) throw new PromptAudioError(`${url}: ${err.message}`);
    throw err;
  }
}

/**
 * How long a response may be reused by its Cache-Control (RFC 9111 §5.2.2):
 * max-age seconds, 0 with no-store, no-cache or private (Herald is a shared
 * cache of sorts: every call of every account), or without max-age — an
 * application that wants its prompts reused says so.
 */
export function freshnessMs(cacheControl: string | string[] | undefined): number {
  const value = Array.isArray(cacheControl) ? cacheControl.join(',') : (cacheControl ?? '');
  const directives = value.toLowerCase().split(',').map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache' || d === 'private')) return 0;
  const maxAge = directives.map((d) => /^max-age=(\d+)$/.exec(d)?.[1]).find((v) => v !== undefined);
  return maxAge === undefined ? 0 : Number(maxAge) * 1000;
}

const ESPEAK = 'espeak-ng';
/** Long texts make long prompts; Twilio caps Say at 4096 characters too. */
const MAX_SAY_CHARS = 4096;
const SAY_TIMEOUT_MS = 20_000;
const MAX_SAY_BYTES = 32 * 1024 * 1024;

let knownVoices: Promise<Set<string>> | null = null;

/** `<Say>`: `text` spoken by espeak-ng, in `language`'s voice when espeak-ng has one (else its default). */
export async function speakPrompt(text: string, language?: string): Promise<Int16Array> {
  if (text.trim() === '') throw new PromptAudioError('nothing to say (empty text)');
  const voice = language === undefined ? null : await voiceFor(language);
  const args = ['--stdout', '--stdin', ...(voice !== null ? ['-v', voice] : [])];
  const wav = await run(ESPEAK, args, text.slice(0, MAX_SAY_CHARS));
  return readWav(wav);
}

/** Twilio's `en-US` is espeak-ng's `en-us`; a language it lacks falls back to its base (`pt-XX` → `pt`), else null. */
async function voiceFor(language: string): Promise<string | null> {
  knownVoices ??= run(ESPEAK, ['--voices'], '').then(
    (out) => new Set(out.toString('utf8').split('\n').slice(1).map((line) => line.trim().split(/\s+/)[1] ?? '').filter((l) => l !== '')),
    (err: unknown) => {
      knownVoices = null;
      throw err;
    },
  );
  const voices = await knownVoices;
  const wanted = language.toLowerCase();
  if (voices.has(wanted)) return wanted;
  const base = wanted.split('-')[0]!;
  return voices.has(base) ? base : null;
}

/** Runs a program (no shell) with `input` on stdin; its stdout, or a PromptAudioError. */
function run(program: string, args: string[], input: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), SAY_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_SAY_BYTES) child.kill('SIGKILL');
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8').slice(0, 500)));
    child.stdin.on('error', () => undefined);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new PromptAudioError(err.code === 'ENOENT' ? `${program} is not installed (Debian package espeak-ng): <Say> cannot speak` : `${program} failed to start: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new PromptAudioError(`${program} ${signal !== null ? `was killed (${signal}: too slow or too much output)` : `exited ${code}`}${stderr !== '' ? `: ${stderr.trim()}` : ''}`));
    });
    child.stdin.end(input);
  });
}
