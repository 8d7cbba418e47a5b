/**
 * Server nonces and the one piece of state Digest needs: the highest
 * nonce-count seen per nonce (RFC 7616 §3.3 "nonce", §5.5 replay attacks;
 * RFC 3261 §22.4).
 *
 * A nonce is base64url( issued-at (6 bytes, ms) | slot (4 bytes) | random (6 bytes) | MAC (16 bytes) )
 * with MAC = HMAC-SHA-256(secret, label | realm | issued-at | slot | random), cut to
 * 128 bits. Only this server (or one sharing its secret) can make one, and its
 * age can be read back without storing anything.
 *
 * The nonce-counts live in fixed typed arrays indexed by the nonce's slot
 * (a ring: issuing the next nonce takes the next slot), the way Kamailio's
 * nonce-count module keeps them: no Map entry, record object or kept string
 * per nonce for the garbage collector, and no lookup in a table of a hundred
 * thousand entries per registration. A nonce is tracked while its slot still
 * holds it (issue time and random part match); once the ring has come round
 * (`slots` challenges later) or for a nonce from before this process, it is
 * `forgotten`: answered as stale, so the UA fetches a new one — never
 * accepted, which could admit a replay.
 */
import { timingSafeEqual } from 'node:crypto';
import { fillRandom } from '../core/random-pool.js';
import { HmacKey } from './hmac.js';

const TIME_BYTES = 6;
const SLOT_BYTES = 4;
const RANDOM_BYTES = 6;
const SLOT_AT = TIME_BYTES;
const RANDOM_AT = TIME_BYTES + SLOT_BYTES;
const PAYLOAD_BYTES = TIME_BYTES + SLOT_BYTES + RANDOM_BYTES;
const MAC_BYTES = 16;
const NONCE_BYTES = PAYLOAD_BYTES + MAC_BYTES;
/** 32 bytes in unpadded base64url. */
const NONCE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const MAC_LABEL = 'herald-digest-nonce\0';
/** Default ring size: at 6,000 challenges/s a nonce stays tracked ~44 s after it was issued (UAs answer in milliseconds). */
export const DEFAULT_NONCE_SLOTS = 1 << 18;

/** A nonce that checked: when it was issued, and its slot here (-1: not tracked by this process). */
export interface OpenedNonce {
  issuedAt: number;
  slot: number;
}

export type CountVerdict = 'ok' | 'replay' | 'forgotten';

export class NonceCodec {
  private readonly key: HmacKey;
  /** label | realm | NUL: the MAC's fixed prefix. */
  private readonly context: Buffer;
  /** Per slot: the issue time of the nonce it holds (-1: none), its random part, the highest nonce-count seen (0: unused). */
  private readonly issuedAt: Float64Array;
  private readonly randoms: Float64Array;
  private readonly counts: Float64Array;
  private next = 0;

  constructor(secret: Buffer, realm: string, readonly slots = DEFAULT_NONCE_SLOTS) {
    if (!Number.isInteger(slots) || slots < 1 || slots > 2 ** 31) throw new RangeError('slots must be a positive integer');
    this.key = new HmacKey('sha256', secret);
    this.context = Buffer.from(`${MAC_LABEL}${realm}\0`, 'utf8');
    this.issuedAt = new Float64Array(slots).fill(-1);
    this.randoms = new Float64Array(slots);
    this.counts = new Float64Array(slots);
  }

  /** A fresh nonce issued at `nowMs`; it takes the next slot of the ring. */
  issue(nowMs: number): string {
    const slot = this.next;
    this.next = (slot + 1) % this.slots;
    const issuedAt = Math.max(0, Math.floor(nowMs));
    const raw = Buffer.allocUnsafe(NONCE_BYTES);
    raw.writeUIntBE(issuedAt, 0, TIME_BYTES);
    raw.writeUInt32BE(slot, SLOT_AT);
    fillRandom(raw, RANDOM_AT, RANDOM_BYTES);
    this.mac(raw.subarray(0, PAYLOAD_BYTES)).copy(raw, PAYLOAD_BYTES);
    this.issuedAt[slot] = issuedAt;
    this.randoms[slot] = raw.readUIntBE(RANDOM_AT, RANDOM_BYTES);
    this.counts[slot] = 0;
    return raw.toString('base64url');
  }

  /**
   * When a nonce this server made for this realm was issued, and its slot;
   * null for anything else: wrong shape, non-canonical encoding (so one
   * nonce has one spelling, hence one replay record), or a MAC that does not
   * verify (checked in constant time). A nonce its slot still holds was
   * issued here and needs no MAC check.
   */
  open(nonce: string): OpenedNonce | null {
    if (!NONCE_SHAPE.test(nonce)) return null;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_BYTES || raw.toString('base64url') !== nonce) return null;
    const issuedAt = raw.readUIntBE(0, TIME_BYTES);
    const slot = raw.readUInt32BE(SLOT_AT);
    const random = raw.readUIntBE(RANDOM_AT, RANDOM_BYTES);
    const held = slot < this.slots && this.issuedAt[slot] === issuedAt && this.randoms[slot] === random;
    if (held) return { issuedAt, slot };
    const payload = raw.subarray(0, PAYLOAD_BYTES);
    if (!timingSafeEqual(raw.subarray(PAYLOAD_BYTES), this.mac(payload))) return null;
    return { issuedAt, slot: -1 };
  }

  /**
   * Accepts `nc` when it is greater than the highest count seen for the nonce
   * (RFC 7616 §3.4: the client increments it for each request with the same
   * nonce), and records it. Call it only for requests whose response checked.
   */
  advance(nonce: OpenedNonce, nc: number): CountVerdict {
    const slot = nonce.slot;
    // Another nonce took the slot since `open` (the ring came round meanwhile): as if untracked.
    if (slot < 0 || this.issuedAt[slot] !== nonce.issuedAt) return 'forgotten';
    if (nc <= (this.counts[slot] as number)) return 'replay';
    this.counts[slot] = nc;
    return 'ok';
  }

  private mac(payload: Buffer): Buffer {
    return this.key.mac(this.context, payload).subarray(0, MAC_BYTES);
  }
}

/**
 * Whether a nonce issued at `issuedAt` is past its lifetime at `nowMs`. A nonce
 * from the future (the clock went back) counts as expired too, so no nonce
 * lives longer than its lifetime whatever the clock does.
 */
export function nonceExpired(issuedAt: number, nowMs: number, ttlMs: number): boolean {
  const age = nowMs - issuedAt;
  return age > ttlMs || age < -ttlMs;
}

/**
 * Nonce-counts kept outside the process (Redis in cluster mode), so that a
 * request replayed to another node of the cluster is refused too. Same
 * verdicts as NonceCodec.advance, keyed by the nonce itself; `realm` keeps realms apart.
 */
export interface SharedNonceCounter {
  advance(realm: string, nonce: string, issuedAt: number, nc: number, nowMs: number, ttlMs: number): Promise<CountVerdict>;
}
