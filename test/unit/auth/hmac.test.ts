import { expect } from 'chai';
import { createHmac, randomBytes } from 'node:crypto';
import { HmacKey } from '../../../src/auth/hmac.js';
import { randomBytesPooled } from '../../../src/core/random-pool.js';

describe('HmacKey (HMAC from one-shot hashes)', () => {
  it('matches createHmac for keys shorter than, equal to and longer than the block, and split inputs', () => {
    for (const alg of ['sha256', 'sha1'] as const) {
      for (const keyLength of [0, 1, 16, 32, 63, 64, 65, 200]) {
        const key = randomBytes(keyLength);
        const k = new HmacKey(alg, key);
        for (const len of [0, 1, 16, 55, 64, 100, 1000]) {
          const data = randomBytes(len);
          const expected = createHmac(alg, key).update(data).digest('hex');
          expect(k.mac(data).toString('hex'), `${alg} key ${keyLength} data ${len}`).to.equal(expected);
          expect(k.mac(data.subarray(0, len >> 1), data.subarray(len >> 1)).toString('hex')).to.equal(expected);
        }
      }
    }
  });
});

describe('randomBytesPooled', () => {
  it('never hands out the same bytes twice, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const b = randomBytesPooled(12).toString('hex');
      expect(seen.has(b)).to.equal(false);
      seen.add(b);
    }
    expect(randomBytesPooled(10_000)).to.have.length(10_000);
  });
});
