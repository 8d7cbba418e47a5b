/**
 * Random bytes drawn from a pooled block. A `crypto.randomBytes` call per
 * identifier or nonce costs a round into OpenSSL each time (measured ~10 µs
 * under load); on the REGISTER path that was a noticeable share of a
 * registration. The pool is refilled from the CSPRNG, so what comes out is
 * exactly as unpredictable.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** Copies `length` fresh random bytes into `target` at `at`. */
export function fillRandom(target: Uint8Array, at: number, length: number): void {
  if (length > POOL_BYTES) {
    randomFillSync(target, at, length);
    return;
  }
  if (offset + length > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(target, at, offset, offset + length);
  // The offset only moves forward until the next refill: no byte is handed out twice.
  offset += length;
}

/** `length` fresh random bytes. */
export function randomBytesPooled(length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  fillRandom(b, 0, length);
  return b;
}
