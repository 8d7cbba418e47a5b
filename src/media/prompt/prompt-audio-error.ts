/** A prompt (`<Play>`, `<Say>`) whose audio cannot be had: the verb is skipped with this reason logged. */
export class PromptAudioError extends Error {
  override readonly name = 'PromptAudioError';
}
