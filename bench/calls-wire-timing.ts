/**
 * The time Herald adds to a call's setup, timed on the wire (a loopback
 * capture, see loopback-capture.ts) rather than by the peers: per call,
 *
 *   inviteIn     the trunk's INVITE reaches Herald (first copy)
 *   hookOut      the webhook request's body leaves Herald
 *   hookIn       the webhook's response reaches Herald
 *   forkOut      Herald's INVITE to the device that answers first leaves
 *   answerIn     that device's 200 reaches Herald (first copy)
 *   okOut        Herald's 200 to the trunk leaves (first copy)
 *
 *   added = (okOut − inviteIn) − (hookIn − hookOut) − (answerIn − forkOut)
 *
 * All on the kernel's clock, so what is left is Herald alone: its queueing
 * (a datagram waiting in its socket counts), its work, its sends. The peers'
 * event loops and the load core's contention are outside every term.
 * Calls are matched by the caller's name (r<run>c<n>), which Herald carries
 * into the webhook's From and the forked INVITEs' From.
 */
import type { Packet } from './loopback-capture.js';

export interface WireSpans {
  /** INVITE in → webhook request out, µs. */
  toHook: number;
  /** Webhook response in → forked INVITE out (to the device that answers first), µs. */
  toFork: number;
  /** Device's 200 in → 200 to the trunk out, µs. */
  toAnswer: number;
  /** The sum: what Herald adds, µs. */
  added: number;
  /** okOut − inviteIn as the trunk's side of the wire sees it, µs. */
  setup: number;
}

interface CallTimes {
  inviteIn?: number;
  hookOut?: number;
  hookIn?: number;
  okOut?: number;
  /** The fork that answered first. */
  forkOut?: number;
  answerIn?: number;
}

const CALL_ID = /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im;
const FROM = /^(?:From|f)[ \t]*:.*$/im;
const CSEQ_INVITE = /^CSeq[ \t]*:[ \t]*\d+[ \t]+INVITE\b/im;

/** Per caller, the spans of every call whose six moments were all captured. */
export function wireSpans(packets: Iterable<Packet>, heraldPort: number, hookPort: number, caller: RegExp): Map<string, WireSpans> {
  const calls = new Map<string, CallTimes>();
  const at = (name: string): CallTimes => {
    let c = calls.get(name);
    if (c === undefined) calls.set(name, (c = {}));
    return c;
  };
  /** Call-ID → caller, for the trunk's leg and for each fork. */
  const trunkLegs = new Map<string, string>();
  const forks = new Map<string, { caller: string; out: number }>();
  /** Webhook connection (Herald's port) → the caller whose request is waiting for its response. */
  const hookWaiting = new Map<number, string>();

  for (const p of packets) {
    if (p.protocol === 'tcp') {
      const text = p.payload.toString('latin1');
      if (p.dstPort === hookPort) {
        const name = caller.exec(decodeURIComponent(text.replace(/\+/g, ' ')))?.[0];
        // The segment with the body (it names the caller) is the request's last.
        if (name !== undefined) {
          hookWaiting.set(p.srcPort, name);
          at(name).hookOut ??= p.us;
        }
      } else if (p.srcPort === hookPort && text.startsWith('HTTP/1.1 ')) {
        const name = hookWaiting.get(p.dstPort);
        hookWaiting.delete(p.dstPort);
        if (name !== undefined) at(name).hookIn ??= p.us;
      }
      continue;
    }
    const text = p.payload.toString('latin1');
    const callId = CALL_ID.exec(text)?.[1];
    if (callId === undefined) continue;
    const inbound = p.dstPort === heraldPort;
    if (text.startsWith('INVITE ')) {
      const name = caller.exec(FROM.exec(text)?.[0] ?? '')?.[0];
      if (name === undefined) continue;
      if (inbound) {
        trunkLegs.set(callId, name);
        at(name).inviteIn ??= p.us;
      } else if (p.srcPort === heraldPort && !forks.has(callId)) {
        forks.set(callId, { caller: name, out: p.us });
      }
    } else if (text.startsWith('SIP/2.0 200') && CSEQ_INVITE.test(text)) {
      if (inbound) {
        const fork = forks.get(callId);
        if (fork === undefined) continue;
        const c = at(fork.caller);
        if (c.answerIn === undefined) {
          c.answerIn = p.us;
          c.forkOut = fork.out;
        }
      } else {
        const name = trunkLegs.get(callId);
        if (name !== undefined) at(name).okOut ??= p.us;
      }
    }
  }

  const out = new Map<string, WireSpans>();
  for (const [name, c] of calls) {
    const { inviteIn, hookOut, hookIn, forkOut, answerIn, okOut } = c;
    if (inviteIn === undefined || hookOut === undefined || hookIn === undefined || forkOut === undefined || answerIn === undefined || okOut === undefined) continue;
    const toHook = hookOut - inviteIn;
    const toFork = forkOut - hookIn;
    const toAnswer = okOut - answerIn;
    out.set(name, { toHook, toFork, toAnswer, added: toHook + toFork + toAnswer, setup: okOut - inviteIn });
  }
  return out;
}
