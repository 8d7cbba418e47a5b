/**
 * Is there a mediasoup-worker binary to run? `npm install` puts one at
 * mediasoup's default location (scripts/mediasoup-worker/ensure-worker.mjs),
 * but a user who is not root may have skipped the build. Asking before
 * spawning turns "spawn ENOENT" into a message that says what to do.
 */
import { accessSync, constants, readFileSync } from 'node:fs';

/** What to run to build the worker (the postinstall script, by hand). */
export const BUILD_WORKER_COMMAND = 'npm run mediasoup-worker';

export type WorkerBinaryStatus = { ok: true; path: string } | { ok: false; path: string; problem: string };

export function checkWorkerBinary(path: string): WorkerBinaryStatus {
  try {
    accessSync(path, constants.X_OK);
    return { ok: true, path };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, path, problem: code === 'ENOENT' ? `${path} does not exist` : `${path} is not executable (${code ?? String(err)})` };
  }
}

/**
 * Was this worker built with Herald's patches (scripts/mediasoup-worker/
 * herald-patches.py)? Its marker string is in the binary. Without them
 * telephone-event is dropped by every Consumer and unknown-SSRC reports name
 * no transport: the engine then leaves telephone-event out of every SDP.
 */
export function hasHeraldPatches(path: string): boolean {
  try {
    return readFileSync(path).includes('herald-worker-patches:');
  } catch {
    return false;
  }
}
