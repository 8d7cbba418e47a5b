/** The embedded store's bindings: maps in this process, indexed by AOR and by flow. */
import { detach } from '../core/strings.js';
import type { Binding, BindingStore, PutGuard, PutOutcome } from './binding-store.js';

/** `s` itself when the binding it replaces already owns an equal string (a refresh repeats most fields), else a copy. */
function own(s: string, kept: string | undefined): string {
  return s === kept ? kept : detach(s);
}

/**
 * The binding with its own copies of the strings cut from the REGISTER (a
 * binding lives up to an hour; a slice would keep the request's whole text).
 * Strings equal to those of `replaced` are shared with it instead of copied:
 * a refresh then keeps nothing new but the binding object.
 */
function owned(b: Binding, replaced: Binding | undefined): Binding {
  return {
    ...b,
    identity: own(b.identity, replaced?.identity),
    key: own(b.key, replaced?.key),
    contactUri: own(b.contactUri, replaced?.contactUri),
    contactParams: own(b.contactParams, replaced?.contactParams),
    instanceId: b.instanceId === null ? null : own(b.instanceId, replaced?.instanceId ?? undefined),
    callId: own(b.callId, replaced?.callId),
    userAgent: b.userAgent === null ? null : own(b.userAgent, replaced?.userAgent ?? undefined),
    path: b.path.map((p, i) => own(p, replaced?.path[i])),
  };
}

const aorKey = (accountSid: string, identity: string): string => `${accountSid}\u0000${identity}`;
const flowKey = (node: string, flowId: string): string => `${node}\u0000${flowId}`;

export class MemoryBindingStore implements BindingStore {
  /** AOR → binding key → binding. */
  private readonly byAor = new Map<string, Map<string, Binding>>();
  /** node+flow → the bindings that use it. */
  private readonly byFlow = new Map<string, Set<Binding>>();

  async list(accountSid: string, identity: string, now: number): Promise<Binding[]> {
    const m = this.byAor.get(aorKey(accountSid, identity));
    return m === undefined ? [] : [...m.values()].filter((b) => b.expiresAt > now);
  }

  async put(put: Binding, guard?: PutGuard): Promise<PutOutcome> {
    let m = this.byAor.get(aorKey(put.accountSid, put.identity));
    const old = m?.get(put.key);
    const binding = owned(put, old);
    if (m === undefined) this.byAor.set(aorKey(binding.accountSid, binding.identity), (m = new Map()));
    if (guard !== undefined) {
      // Checked and written in one synchronous turn: no other put interleaves.
      if (old !== undefined && old.callId === binding.callId && old.cseq >= binding.cseq) return 'stale';
      if (old === undefined && [...m.values()].filter((b) => b.expiresAt > guard.now).length >= guard.maxBindings) return 'full';
    }
    if (old !== undefined) this.unindexFlow(old);
    m.set(binding.key, binding);
    const fk = flowKey(binding.node, binding.flowId);
    let s = this.byFlow.get(fk);
    if (s === undefined) this.byFlow.set(fk, (s = new Set()));
    s.add(binding);
    return 'stored';
  }

  async remove(accountSid: string, identity: string, key: string): Promise<boolean> {
    const k = aorKey(accountSid, identity);
    const m = this.byAor.get(k);
    const b = m?.get(key);
    if (m === undefined || b === undefined) return false;
    this.drop(m, k, b);
    return true;
  }

  async removeAll(accountSid: string, identity: string): Promise<number> {
    const k = aorKey(accountSid, identity);
    const m = this.byAor.get(k);
    if (m === undefined) return 0;
    const n = m.size;
    for (const b of [...m.values()]) this.drop(m, k, b);
    return n;
  }

  async removeByFlow(node: string, flowId: string): Promise<Binding[]> {
    const s = this.byFlow.get(flowKey(node, flowId));
    if (s === undefined) return [];
    const removed = [...s];
    for (const b of removed) {
      const k = aorKey(b.accountSid, b.identity);
      const m = this.byAor.get(k);
      if (m !== undefined && m.get(b.key) === b) this.drop(m, k, b);
    }
    return removed;
  }

  async sweep(now: number): Promise<Binding[]> {
    const removed: Binding[] = [];
    for (const [k, m] of this.byAor) {
      for (const b of [...m.values()]) {
        if (b.expiresAt <= now) {
          this.drop(m, k, b);
          removed.push(b);
        }
      }
    }
    return removed;
  }

  async identities(accountSid: string, now: number): Promise<string[]> {
    const prefix = `${accountSid}\u0000`;
    const out: string[] = [];
    for (const [k, m] of this.byAor) {
      if (k.startsWith(prefix) && [...m.values()].some((b) => b.expiresAt > now)) out.push(k.slice(prefix.length));
    }
    return out;
  }

  async count(): Promise<number> {
    let n = 0;
    for (const m of this.byAor.values()) n += m.size;
    return n;
  }

  private drop(m: Map<string, Binding>, k: string, b: Binding): void {
    m.delete(b.key);
    if (m.size === 0) this.byAor.delete(k);
    this.unindexFlow(b);
  }

  private unindexFlow(b: Binding): void {
    const fk = flowKey(b.node, b.flowId);
    const s = this.byFlow.get(fk);
    if (s === undefined) return;
    s.delete(b);
    if (s.size === 0) this.byFlow.delete(fk);
  }
}
