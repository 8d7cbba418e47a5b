/**
 * Typed views of the header fields every transaction needs (Via, CSeq,
 * Call-ID, From, To, Max-Forwards), parsed on first use and memoized on the
 * message's headers. Each returns null when the field is absent or malformed;
 * `validateRequest` says which and why.
 */
import type { Headers } from './headers.js';
import type { SipMessage } from './message.js';
import { isTokenChar } from './grammar.js';
import { parseNameAddr, type NameAddr } from './name-addr.js';
import { parseVia, type Via } from './via.js';

export interface CSeq {
  seq: number;
  method: string;
}

/** Largest CSeq sequence number: it must be less than 2**31 (RFC 3261 §8.1.1.5). */
export const MAX_CSEQ = 2 ** 31 - 1;

export function parseCSeq(value: string): CSeq | null {
  // CSeq = 1*DIGIT LWS Method, by hand: a regex match array and two substrings per message otherwise.
  const v = value.trim();
  const digits = leadingNumber(v, 10);
  if (digits === null) return null;
  let i = digits.end;
  const gap = i;
  while (i < v.length && (v.charCodeAt(i) === 0x20 || v.charCodeAt(i) === 0x09)) i++;
  if (i === gap || i === v.length) return null;
  for (let k = i; k < v.length; k++) if (!isTokenChar(v.charCodeAt(k))) return null;
  if (digits.value > MAX_CSEQ) return null;
  return { seq: digits.value, method: v.slice(i) };
}

/**
 * The 1*DIGIT at the start of `v` (leading zeros allowed: RFC 4475 §3.1.1.1
 * sends "0009"), with at most `significant` digits after the zeros; null when
 * there is no digit or too many.
 */
function leadingNumber(v: string, significant: number): { value: number; end: number } | null {
  let i = 0;
  while (i < v.length && v.charCodeAt(i) === 0x30) i++;
  const from = i;
  let value = 0;
  while (i < v.length) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
    i++;
  }
  if (i === 0 || i - from > significant) return null;
  return { value, end: i };
}

function computeCSeq(h: Headers): CSeq | null {
  const v = h.getAll('cseq');
  return v.length === 1 ? parseCSeq(v[0] as string) : null;
}

export function cseqOf(msg: SipMessage): CSeq | null {
  return msg.headers.memo('cseq', computeCSeq);
}

export function callIdOf(msg: SipMessage): string | null {
  const v = msg.headers.getAll('call-id');
  return v.length === 1 && v[0] !== '' ? (v[0] as string) : null;
}

function computeTopVia(h: Headers): Via | null {
  const first = h.get('via');
  if (first === undefined) return null;
  const list = h.list('via');
  if (list === null || list.length === 0) return null;
  const r = parseVia(list[0] as string);
  return r.ok ? r.value : null;
}

export function topViaOf(msg: SipMessage): Via | null {
  return msg.headers.memo('via', computeTopVia);
}

function singleNameAddr(h: Headers, key: 'from' | 'to'): NameAddr | null {
  const v = h.getAll(key);
  if (v.length !== 1) return null;
  const r = parseNameAddr(v[0] as string);
  return r.ok ? r.value : null;
}

const computeFrom = (h: Headers): NameAddr | null => singleNameAddr(h, 'from');
const computeTo = (h: Headers): NameAddr | null => singleNameAddr(h, 'to');

export function fromOf(msg: SipMessage): NameAddr | null {
  return msg.headers.memo('from', computeFrom);
}

export function toOf(msg: SipMessage): NameAddr | null {
  return msg.headers.memo('to', computeTo);
}

/** The Contact list (§20.10): name-addrs, and whether a `*` was among them (REGISTER's wildcard, §10.2.2). */
export interface Contacts {
  wildcard: boolean;
  list: NameAddr[];
}

/**
 * Every Contact element across the header's lines, parsed once per message
 * (validation and the registrar both read it); null when any is malformed.
 */
export function contactsOf(msg: SipMessage): Contacts | null {
  return msg.headers.memo('contact', computeContacts);
}

function computeContacts(h: Headers): Contacts | null {
  const values = h.list('contact');
  if (values === null) return null;
  const out: Contacts = { wildcard: false, list: [] };
  for (const v of values) {
    if (v.trim() === '*') {
      out.wildcard = true;
      continue;
    }
    const r = parseNameAddr(v);
    if (!r.ok) return null;
    out.list.push(r.value);
  }
  return out;
}

export function tagOf(na: NameAddr | null): string | null {
  return na?.params.get('tag') ?? null;
}

/** Max-Forwards as a number; undefined when absent, null when malformed. */
export function maxForwardsOf(msg: SipMessage): number | null | undefined {
  const v = msg.headers.getAll('max-forwards');
  if (v.length === 0) return undefined;
  // 1*DIGIT with leading zeros allowed: "0068" is 68 (RFC 4475 §3.1.1.1).
  if (v.length !== 1) return null;
  const text = v[0] as string;
  const n = leadingNumber(text, 3);
  return n !== null && n.end === text.length && n.value <= 255 ? n.value : null;
}
