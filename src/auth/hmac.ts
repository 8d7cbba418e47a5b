/**
 * HMAC (RFC 2104) computed with one-shot `crypto.hash` calls over a key whose
 * inner and outer pads are prepared once. Node's `createHmac` builds an
 * OpenSSL context per call; for the short inputs of nonce MACs that setup is
 * most of the cost (≈ 2× this), and a REGISTER with Digest needs two MACs.
 * Checked against `createHmac` in test/unit/auth/hmac.test.ts.
 */
import { hash } from 'node:crypto';

const BLOCK: Record<HmacAlgorithm, number> = { sha256: 64, sha1: 64 };

export type HmacAlgorithm = 'sha256' | 'sha1';

export class HmacKey {
  private readonly innerPad: Buffer;
  private readonly outerPad: Buffer;

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
  }

  /** HMAC(key, concatenation of `parts`). */
  mac(...parts: Uint8Array[]): Buffer {
    const inner = hash(this.algorithm, Buffer.concat([this.innerPad, ...parts]), 'buffer');
    return hash(this.algorithm, Buffer.concat([this.outerPad, inner]), 'buffer');
  }
}
