/** Runs every benchmark of bench/ one after the other; each prints a table line and a JSON line. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const benches = ['parse.ts', 'options-udp.ts', 'options-ws.ts', 'register-udp-digest.ts', 'register-ws-token.ts', 'gate.ts', 'calls-cps.ts', 'media-calls.ts'];
for (const b of benches) {
  console.log(`\n== ${b}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, b)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
