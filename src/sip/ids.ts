/** Random identifiers: tags, branches, Call-IDs (RFC 3261 §19.3 wants them globally unique and unguessable). */
import { fillRandom } from '../core/random-pool.js';
import { BRANCH_COOKIE } from './via.js';

const ALPHABET = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 'latin1');
const scratch = Buffer.alloc(64);

/**
 * `length` characters of [a-zA-Z0-9]. Written as bytes and read as one flat
 * string: appending a character at a time made a chain of V8 cons strings
 * per identifier, kept as long as the tag, branch or Call-ID it became.
 */
export function randomToken(length: number): string {
  let s = '';
  for (let done = 0; done < length; done += scratch.length) {
    const n = Math.min(scratch.length, length - done);
    fillRandom(scratch, 0, n);
    for (let i = 0; i < n; i++) scratch[i] = ALPHABET[(scratch[i] as number) % 62] as number;
    const part = scratch.toString('latin1', 0, n);
    s = s === '' ? part : s + part;
  }
  return s;
}

/** Prefix of every branch a Herald node generates. */
export const HERALD_BRANCH_PREFIX = `${BRANCH_COOKIE}-hrld-`;

/**
 * Branches of this process carry its own mark, so a request that comes back
 * with one of them in a Via has looped through this node (§16.3 step 4),
 * while one relayed by another node of the cluster has not.
 */
export const OWN_BRANCH_PREFIX = `${HERALD_BRANCH_PREFIX}${randomToken(6)}-`;

export function newBranch(): string {
  return OWN_BRANCH_PREFIX + randomToken(16);
}

export function newTag(): string {
  return randomToken(12);
}

export function newCallId(): string {
  return randomToken(24);
}
