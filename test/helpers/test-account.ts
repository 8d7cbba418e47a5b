/**
 * The account the call and cluster tests configure (not the default
 * config's demo account): its identifiers, a config file with one
 * application, a number and a trunk from 127.0.0.1, and polling of its
 * calls in use through the REST Usage endpoint, and its `calls` slot
 * counters on /metrics.
 */
import { mintAccessToken } from '../../src/auth/access-token.js';
import type { HeraldProcess } from './herald-process.js';

export const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
export const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
export const KEY = 'SK0123456789abcdef0123456789abcdef';
export const SECRET = 'a-long-api-key-secret';
export const APP = 'AP0123456789abcdef0123456789abcdef';
export const NUMBER = '+15550001111';
export const AS_ACCOUNT = `Basic ${Buffer.from(`${ACCOUNT}:${AUTH_TOKEN}`).toString('base64')}`;

export interface AccountYamlOptions {
  voiceUrl?: string;
  voiceFallbackUrl?: string;
  statusCallback?: string;
  presenceCallback?: string;
  calls?: number;
  devicesPerClient?: number;
  /** The trunk's `outbound` section as a YAML flow mapping, e.g. `{ uri: "sip:127.0.0.1:5070" }`. */
  trunkOutbound?: string;
  /** YAML lines appended to the account as they are (sipDomain, credentials…), each indented 4 spaces. */
  accountExtra?: string;
  /** Top-level YAML appended as is (gate, drainTimeout…). */
  extra?: string;
}

/** A config file's YAML for the test account; with a voiceUrl, its application, number and a trunk from 127.0.0.1. */
export function accountYaml(o: AccountYamlOptions = {}): string {
  const app =
    o.voiceUrl === undefined
      ? ''
      : `    applications:
      - sid: ${APP}
        voiceUrl: "${o.voiceUrl}"
${o.voiceFallbackUrl !== undefined ? `        voiceFallbackUrl: "${o.voiceFallbackUrl}"\n` : ''}${o.statusCallback !== undefined ? `        statusCallback: "${o.statusCallback}"\n` : ''}    numbers:
      - { number: "${NUMBER}", application: ${APP} }
`;
  return `accounts:
  - sid: ${ACCOUNT}
    authToken: ${AUTH_TOKEN}
    apiKeys: [{ sid: ${KEY}, secret: ${SECRET} }]
    limits: { calls: ${o.calls ?? 10}, api: 20, devicesPerClient: ${o.devicesPerClient ?? 10} }
${o.presenceCallback !== undefined ? `    presenceCallback: "${o.presenceCallback}"\n` : ''}${o.accountExtra ?? ''}${app}${o.voiceUrl === undefined ? '' : `trunks:\n  - { name: test-trunk, account: ${ACCOUNT}, from: ["127.0.0.1/32"]${o.trunkOutbound !== undefined ? `, outbound: ${o.trunkOutbound}` : ''} }\n`}${o.extra ?? ''}
`;
}

/** An access token of the test account for `identity`: incoming grant, and with `outgoing` the application's outgoing grant. */
export function clientToken(identity: string, outgoing = false): string {
  return mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity, incoming: true, ttl: 3600, ...(outgoing ? { outgoingApplicationSid: APP } : {}) });
}

export async function callsInUse(node: HeraldProcess): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${node.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Usage`, { headers: { authorization: AS_ACCOUNT } });
  return ((await res.json()) as { calls: { inUse: number } }).calls.inUse;
}

/** Polls Usage until `n` calls are in use; resolves with how long it took (ms). */
export async function callsInUseBecomes(node: HeraldProcess, n: number, ms = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    const now = await callsInUse(node);
    if (now === n) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`calls in use stayed ${now}, expected ${n}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CallSlotCounters {
  granted: number;
  released: number;
  /** Releases that found no lease: a double release, or one after the lease expired. */
  missed: number;
  expired: number;
}

/** The gate counters of the account's `calls` slots on a node's /metrics (0 for a series not there yet). */
export async function callSlotCounters(node: HeraldProcess): Promise<CallSlotCounters> {
  const text = await (await fetch(`http://127.0.0.1:${node.listeners.http!.port}/metrics`)).text();
  const value = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`account="${ACCOUNT}"`) && l.includes('resource="calls"'));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return {
    granted: value('herald_gate_granted_total'),
    released: value('herald_gate_released_total'),
    missed: value('herald_gate_release_missed_total'),
    expired: value('herald_gate_expired_total'),
  };
}
