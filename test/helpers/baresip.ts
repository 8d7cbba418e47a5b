/**
 * baresip 1.0 (Debian baresip-core) as a Digest softphone for call tests:
 * a config folder with no audio hardware (aubridge's `nil` device, G.711),
 * commands on stdin (the menu module: `/dial`, `/hangup`), SIP tracing on
 * (`-s`, so a test can read what it sent and got), and one account
 * registered through Herald that answers incoming calls by itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, type PeerProcess } from './peer-process.js';

export interface Baresip {
  peer: PeerProcess;
  /** Quits baresip (unregistering) and removes its folder. */
  stop(): Promise<void>;
}

export interface BaresipOptions {
  user: string;
  password: string;
  domain: string;
  /** Herald's listener for this transport. */
  transport: 'udp' | 'tcp';
  heraldPort: number;
  /** Answer incoming calls at once (account `answermode=auto`). */
  autoAnswer?: boolean;
}

/** A config folder for `baresip -f`: no audio device, SIP on a free port of 127.0.0.1, one account (the caller removes the folder). */
export function baresipConfigDir(o: BaresipOptions): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-baresip-'));
  writeFileSync(
    join(dir, 'config'),
    [
      'module_path /usr/lib/baresip/modules',
      'sip_listen 127.0.0.1:0',
      'audio_player aubridge,nil',
      'audio_source aubridge,nil',
      'audio_alert aubridge,nil',
      'module stdio.so',
      'module g711.so',
      'module aubridge.so',
      'module_app account.so',
      'module_app menu.so',
      '',
    ].join('\n'),
  );
  const answer = o.autoAnswer === true ? ';answermode=auto' : '';
  writeFileSync(
    join(dir, 'accounts'),
    `<sip:${o.user}@${o.domain};transport=${o.transport}>;auth_pass=${o.password};outbound="sip:127.0.0.1:${o.heraldPort};transport=${o.transport}";regint=600${answer}\n`,
  );
  return dir;
}

export async function startBaresip(o: BaresipOptions): Promise<Baresip> {
  const dir = baresipConfigDir(o);
  // Line-buffered stdout (stdbuf execs baresip in its place): into a pipe, baresip's status lines
  // ("Call established", "... terminated") would otherwise wait in its stdio buffer.
  const peer = startPeer('stdbuf', ['-oL', '-eL', 'baresip', '-s', '-f', dir]);
  // One line per REGISTER answer: the 200 with the number of Contacts it lists, or the error.
  await peer.waitFor(new RegExp(`${o.user}@${o.domain.replace(/\./g, '\\.')}: \\{0/${o.transport.toUpperCase()}/v4\\} 200 OK`), { failOn: /\{0\/(UDP|TCP)\/v4\} [3-6]\d\d |Register: / });
  return {
    peer,
    stop: async () => {
      await peer.stop({ command: '/quit', timeoutMs: 5000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
