/**
 * Stateless server nonces and the one piece of state Digest needs: the
 * highest nonce-count seen per nonce (RFC 7616 §3.3 "nonce", §5.5 replay
 * attacks; RFC 3261 §22.4).
 *
 * A nonce is base64url( issued-at (6 bytes, ms) | random (10 bytes) | MAC (16 bytes) )
 * with MAC = HMAC-SHA-256(secret, label | realm | issued-at | random), cut to
 * 128 bits. Only this server (or one sharing its secret) can make one, and its
 * age can be read back without storing anything.
 */
import { timingSafeEqual } from 'node:crypto';
import { fillRandom } from '../core/random-pool.js';
import { detach } from '../core/strings.js';
import { HmacKey } from './hmac.js';

const TIME_BYTES = 6;
const RANDOM_BYTES = 10;
const MAC_BYTES = 16;
const PAYLOAD_BYTES = TIME_BYTES + RANDOM_BYTES;
const NONCE_BYTES = PAYLOAD_BYTES + MAC_BYTES;
/** 32 bytes in unpadded base64url. */
const NONCE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const MAC_LABEL = 'herald-digest-nonce\0';
/**
 * Nonces issued lately, remembered so that the usual answer — the retry that
 * follows the 401 within milliseconds — is recognised by a map lookup instead
 * of decoding and MACing it again. Older nonces (or another node's) take the
 * MAC path; at 6,000 challenges/s this covers the last ~2.7 s.
 */
const RECENT_CAP = 16_384;

export class NonceCodec {
  private readonly key: HmacKey;
  /** label | realm | NUL: the MAC's fixed prefix. */
  private readonly context: Buffer;
  /** nonce → issue time (see RECENT_CAP). */
  private readonly recent = new Map<string, number>();
  /**
   * The same nonces in a ring, oldest at `next`: evicting through the ring is
   * O(1), where taking the map's first key walks over every entry deleted
   * since V8 last compacted the table.
   */
  private readonly ring: (string | undefined)[] = new Array<string | undefined>(RECENT_CAP);
  private next = 0;

  constructor(secret: Buffer, realm: string) {
    this.key = new HmacKey('sha256', secret);
    this.context = Buffer.from(`${MAC_LABEL}${realm}\0`, 'utf8');
  }

  /** A fresh nonce issued at `nowMs`. */
  issue(nowMs: number): string {
    const raw = Buffer.allocUnsafe(NONCE_BYTES);
    raw.writeUIntBE(Math.max(0, Math.floor(nowMs)), 0, TIME_BYTES);
    fillRandom(raw, TIME_BYTES, RANDOM_BYTES);
    this.mac(raw.subarray(0, PAYLOAD_BYTES)).copy(raw, PAYLOAD_BYTES);
    const nonce = raw.toString('base64url');
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.recent.delete(evicted);
    this.ring[this.next] = nonce;
    this.next = (this.next + 1) % RECENT_CAP;
    this.recent.set(nonce, Math.max(0, Math.floor(nowMs)));
    return nonce;
  }

  /**
   * The issue time (ms) of a nonce this server made for this realm, or null
   * for anything else: wrong shape, non-canonical encoding, or a MAC that
   * does not verify (checked in constant time).
   */
  open(nonce: string): number | null {
    const recent = this.recent.get(nonce);
    if (recent !== undefined) return recent;
    if (!NONCE_SHAPE.test(nonce)) return null;
    const raw = Buffer.from(nonce, 'base64url');
    // Only the canonical spelling counts, so one nonce has one replay record.
    if (raw.length !== NONCE_BYTES || raw.toString('base64url') !== nonce) return null;
    const payload = raw.subarray(0, PAYLOAD_BYTES);
    if (!timingSafeEqual(raw.subarray(PAYLOAD_BYTES), this.mac(payload))) return null;
    return payload.readUIntBE(0, TIME_BYTES);
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

interface Seen {
  nc: number;
  issuedAt: number;
}

export type CountVerdict = 'ok' | 'replay' | 'forgotten';

/**
 * Nonce-counts kept outside the process (Redis in cluster mode), so that a
 * request replayed to another node of the cluster is refused too. Same
 * contract as NonceCountTracker.advance; `realm` keeps realms apart.
 */
export interface SharedNonceCounter {
  advance(realm: string, nonce: string, issuedAt: number, nc: number, nowMs: number, ttlMs: number): Promise<CountVerdict>;
}

/**
 * Highest nonce-count seen per nonce, for nonces still within their lifetime.
 * Memory is bounded by `cap`: entries of expired nonces are dropped (they are
 * refused as stale before they get here), and when the map is full of live
 * ones the least recently first-used is evicted. Its issue time becomes a
 * floor: a nonce issued at or before the floor that has no entry might have
 * been evicted, so it is reported `forgotten` (answer it as stale, which makes
 * the UA fetch a new nonce) rather than accepted, which could admit a replay.
 */
export class NonceCountTracker {
  private readonly seen = new Map<string, Seen>();
  /**
   * The keys of `seen` in insertion order, from `head` on: eviction walks this
   * queue, since starting a map iterator at the front walks over every entry
   * deleted since V8 last compacted the table (tens of thousands at full cap).
   */
  private order: string[] = [];
  private head = 0;
  private forgottenUpTo = -Infinity;
  private lastSweep = -Infinity;

  /**
   * `since` (ms): nonces issued before it may have been used before this
   * tracker existed (a restart, with a secret that survives it), so they are
   * `forgotten` rather than trusted.
   */
  constructor(
    private readonly ttlMs: number,
    private readonly cap: number,
    since = -Infinity,
  ) {
    this.forgottenUpTo = since - 1;
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Accepts `nc` when it is greater than the highest count seen for the nonce
   * (RFC 7616 §3.4: the client increments it for each request with the same
   * nonce), and records it. Call it only for requests whose response checked.
   */
  advance(nonce: string, issuedAt: number, nc: number, nowMs: number): CountVerdict {
    const entry = this.seen.get(nonce);
    if (entry !== undefined) {
      if (nc <= entry.nc) return 'replay';
      entry.nc = nc;
      return 'ok';
    }
    if (issuedAt <= this.forgottenUpTo) return 'forgotten';
    this.makeRoom(nowMs);
    // Kept for the nonce's lifetime: a slice of the Authorization header would keep the whole request text.
    const key = detach(nonce);
    this.seen.set(key, { nc, issuedAt });
    this.order.push(key);
    return 'ok';
  }

  private expired(e: Seen, nowMs: number): boolean {
    return nonceExpired(e.issuedAt, nowMs, this.ttlMs);
  }

  private makeRoom(nowMs: number): void {
    // Full sweep once per lifetime: catches nonces first used late.
    if (nowMs - this.lastSweep >= this.ttlMs) {
      this.lastSweep = nowMs;
      for (const [k, e] of this.seen) if (this.expired(e, nowMs)) this.seen.delete(k);
    }
    // Entries are roughly in issue order, so expired ones gather at the front.
    while (this.head < this.order.length) {
      const k = this.order[this.head] as string;
      const e = this.seen.get(k);
      if (e !== undefined) {
        if (this.seen.size < this.cap && !this.expired(e, nowMs)) break;
        if (!this.expired(e, nowMs)) this.forgottenUpTo = Math.max(this.forgottenUpTo, e.issuedAt);
        this.seen.delete(k);
      }
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
