/** Random identifiers: tags, branches, Call-IDs (RFC 3261 §19.3 wants them globally unique and unguessable). */
import { randomBytes } from 'node:crypto';
import { BRANCH_COOKIE } from './via.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
// Random bytes are fetched in blocks: one crypto call per id would dominate the hot path.
let pool = Buffer.alloc(0);
let offset = 0;

export function randomToken(length: number): string {
  if (offset + length > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[(pool[offset + i] as number) % 62];
  offset += length;
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
