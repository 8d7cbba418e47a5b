/**
 * A copy of `s` that does not point into the string it was cut from. Parsed
 * values are slices of a whole message's header text; a slice kept for long
 * (a lingering transaction's key, a tracked nonce) keeps the whole text alive,
 * since V8 sliced strings share their parent. The concatenation is flattened
 * by `slice`, so what survives references a copy only one character longer.
 */
export function detach(s: string): string {
  return (' ' + s).slice(1);
}
