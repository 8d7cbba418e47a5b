/**
 * HMAC (RFC 2104) computed with one-shot `crypto.hash` calls over a key whose
 * inner and outer pads are prepared once. Node's `createHmac` builds an
 * OpenSSL context per call; for the short inputs of nonce MACs that setup is
 * most of the cost (≈ 2× this), and a REGISTER with Digest needs two MACs.
 * Checked against `createHmac` in test/unit/auth/hmac.test.ts.
 */
import { hash } from 'node:crypto';

const BLOCK: Record<HmacAlgorithm, number> = { sha256: 64, sha1: 64 };
const DIGEST_BYTES: Record<HmacAlgorithm, number> = { sha256: 32, sha1: 20 };

export type HmacAlgorithm = 'sha256' | 'sha1';

const EMPTY = new Uint8Array(0);
/** Message bytes a MAC is computed over without allocating (longer ones are concatenated). */
const SCRATCH_BYTES = 512;

export class HmacKey {
  private readonly innerPad: Buffer;
  private readonly outerPad: Buffer;
  /** inner pad followed by the message, reused by every `mac` (single-threaded, so never shared mid-call). */
  private readonly inner: Buffer;
  /** outer pad followed by the inner digest. */
  private readonly outer: Buffer;

  constructor(
    private readonly algorithm: HmacAlgorithm,
    key: Buffer,
  ) {
    const block = BLOCK[algorithm];
    // RFC 2104 §2: a key longer than the block is hashed first, a shorter one zero-padded.
    const k = Buffer.alloc(block);
    (key.length > block ? hash(algorithm, key, 'buffer') : key).copy(k);
    this.innerPad = Buffer.alloc(block);
    this.outerPad = Buffer.alloc(block);
    for (let i = 0; i < block; i++) {
      this.innerPad[i] = (k[i] as number) ^ 0x36;
      this.outerPad[i] = (k[i] as number) ^ 0x5c;
    }
    this.inner = Buffer.alloc(block + SCRATCH_BYTES);
    this.innerPad.copy(this.inner);
    this.outer = Buffer.alloc(block + DIGEST_BYTES[algorithm]);
    this.outerPad.copy(this.outer);
  }

  /** HMAC(key, a | b): the nonce MAC's two parts, written after the pads kept in place (no Buffer.concat per MAC). */
  mac(a: Uint8Array, b: Uint8Array = EMPTY): Buffer {
    const block = this.innerPad.length;
    const end = block + a.length + b.length;
    let message: Buffer;
    if (end <= this.inner.length) {
      this.inner.set(a, block);
      this.inner.set(b, block + a.length);
      message = this.inner.subarray(0, end);
    } else {
      message = Buffer.concat([this.innerPad, a, b]);
    }
    this.outer.set(hash(this.algorithm, message, 'buffer'), block);
    return hash(this.algorithm, this.outer, 'buffer');
  }
}
