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

/** Prefix of every branch Herald generates; a request carrying one of ours in a Via has looped. */
export const HERALD_BRANCH_PREFIX = `${BRANCH_COOKIE}-hrld-`;

export function newBranch(): string {
  return HERALD_BRANCH_PREFIX + randomToken(16);
}

export function newTag(): string {
  return randomToken(12);
}

export function newCallId(): string {
  return randomToken(24);
}
