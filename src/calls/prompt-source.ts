/**
 * The audio of a `<Say>` or `<Play>` verb, or null (logged) when there is
 * none to play: the verb is then skipped, as Twilio skips a file it cannot
 * play — a missing espeak-ng, an unreachable URL, a file that is not a WAV
 * Herald reads. Never throws for the prompt's own faults. `<Play digits>`
 * is DTMF as in-band tones (dtmf-tones.ts), before the URL's audio when the
 * verb has both. Audio is shared between calls through a PromptCache.
 */
import type { PlayVerb, SayVerb } from '../instructions/index.js';
import type { Log } from '../log.js';
import { dtmfToneSamples } from '../media/prompt/dtmf-tones.js';
import { fetchWavWithFreshness, speakPrompt } from '../media/prompt/prompt-audio.js';
import { PromptCache } from '../media/prompt/prompt-cache.js';
import { PromptAudioError } from '../media/prompt/prompt-audio-error.js';

/** One per process: prompts are the same whichever call or account asks (the key is the whole URL or text and voice). */
const cache = new PromptCache();

export async function promptSamples(verb: SayVerb | PlayVerb, docUrl: string, log: Log, callSid: string): Promise<Int16Array | null> {
  try {
    if (verb.verb === 'Say') {
      const { text, language } = verb;
      return await cache.get(`say\0${language ?? ''}\0${text}`, async () => ({ samples: await speakPrompt(text, language), freshForMs: Infinity }));
    }
    const tones = verb.digits !== undefined ? dtmfToneSamples(verb.digits) : null;
    if (verb.url === '') {
      if (tones === null) throw new PromptAudioError('<Play> without a URL or digits');
      return tones;
    }
    if (!URL.canParse(verb.url, docUrl)) throw new PromptAudioError(`<Play> URL ${verb.url} is not a URL`);
    // A relative URL is relative to the document that holds the verb (as Redirect's and Dial action's are).
    const url = new URL(verb.url, docUrl).href;
    const audio = await cache.get(`play\0${url}`, () => fetchWavWithFreshness(url));
    if (tones === null) return audio;
    const both = new Int16Array(tones.length + audio.length);
    both.set(tones);
    both.set(audio, tones.length);
    return both;
  } catch (err) {
    if (!(err instanceof PromptAudioError)) throw err;
    log.error({ callSid, verb: verb.verb, reason: err.message }, 'prompt audio unavailable: verb skipped');
    return null;
  }
}
