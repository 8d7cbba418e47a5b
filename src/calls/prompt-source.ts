/**
 * The audio of a `<Say>` or `<Play>` verb, or null (logged) when there is
 * none to play: the verb is then skipped, as Twilio skips a file it cannot
 * play — a missing espeak-ng, an unreachable URL, a file that is not a WAV
 * Herald reads. Never throws for the prompt's own faults. `<Play digits>`
 * is DTMF as in-band tones (dtmf-tones.ts), before the URL's audio when the
 * verb has both.
 */
import type { PlayVerb, SayVerb } from '../instructions/index.js';
import type { Log } from '../log.js';
import { dtmfToneSamples } from '../media/prompt/dtmf-tones.js';
import { fetchWavPrompt, speakPrompt } from '../media/prompt/prompt-audio.js';
import { PromptAudioError } from '../media/prompt/prompt-audio-error.js';

export async function promptSamples(verb: SayVerb | PlayVerb, docUrl: string, log: Log, callSid: string): Promise<Int16Array | null> {
  try {
    if (verb.verb === 'Say') return await speakPrompt(verb.text, verb.language);
    const tones = verb.digits !== undefined ? dtmfToneSamples(verb.digits) : null;
    if (verb.url === '') {
      if (tones === null) throw new PromptAudioError('<Play> without a URL or digits');
      return tones;
    }
    if (!URL.canParse(verb.url, docUrl)) throw new PromptAudioError(`<Play> URL ${verb.url} is not a URL`);
    // A relative URL is relative to the document that holds the verb (as Redirect's and Dial action's are).
    const audio = await fetchWavPrompt(new URL(verb.url, docUrl).href);
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
