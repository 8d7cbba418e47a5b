/**
 * sipp as a UAS on a given UDP port of 127.0.0.1 (a carrier, a SIP phone
 * outside Herald) for one call, its messages traced to a file the test
 * reads afterwards.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunResult } from './run.js';

export interface SippUas {
  done: Promise<RunResult>;
  /** Every message sipp received and sent so far, as it traced them. */
  messages(): string;
}

/** `scenario`: `['-sn', 'uas']` or `['-sf', file, ...keys]`; sipp fails if the call is not over within `timeout`. */
export function sippUas(port: number, scenario: string[], timeout = '30s'): SippUas {
  const dir = mkdtempSync(join(tmpdir(), 'herald-sipp-uas-'));
  const done = run('sipp', [...scenario, '-i', '127.0.0.1', '-p', String(port), '-m', '1', '-timeout', timeout, '-timeout_error', '-nostdin', '-trace_msg', '-message_file', join(dir, 'messages.log')], { cwd: dir });
  return {
    done,
    messages: () =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n'),
  };
}

/** The `n`th INVITE in a trace (0: the first), up to its blank line; throws when there is none. */
export function tracedInvite(messages: string, n = 0): string {
  let at = -1;
  for (let i = 0; i <= n; i++) {
    at = messages.indexOf('INVITE sip:', at + 1);
    if (at < 0) throw new Error(`no INVITE #${n} in the trace:\n${messages}`);
  }
  return messages.slice(at, messages.indexOf('\n\n', at));
}
