/**
 * The Digest users of the REGISTER benches: user0 … user(N-1) with password
 * secret-userN, added to the demo account (sipDomain demo.sip.localhost) of
 * config/default.yaml. Shared by bench/register-udp-digest.ts (sipp) and
 * bench/register-pipeline.ts (in-process).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const DIGEST_DOMAIN = 'demo.sip.localhost';

export function digestPassword(user: number): string {
  return `secret-user${user}`;
}

/** config/default.yaml with `users` Digest users added to the demo account, as a plain object. */
export function configWithDigestUsers(users: number): object {
  const root = resolve(import.meta.dirname, '..');
  const cfg = parseYaml(readFileSync(join(root, 'config', 'default.yaml'), 'utf8')) as { accounts: Array<{ sipDomain?: string; credentials?: Array<{ username: string; password: string }> }> };
  const account = cfg.accounts.find((a) => a.sipDomain === DIGEST_DOMAIN);
  if (account === undefined) throw new Error(`config/default.yaml has no account with sipDomain ${DIGEST_DOMAIN}`);
  account.credentials = [...(account.credentials ?? []), ...Array.from({ length: users }, (_, i) => ({ username: `user${i}`, password: digestPassword(i) }))];
  return cfg;
}
