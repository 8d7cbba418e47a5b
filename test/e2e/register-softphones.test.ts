/**
 * Registration is presence (CONTRACT §4) with the clients people really use:
 * baresip (UDP and TCP) and linphonec (UDP), Debian's command-line
 * softphones, register bob with Digest exactly as their users configure
 * them (README "Connecting a softphone or a browser"), and unregister when
 * they quit; JsSIP 3 in Node registers with an access token (RFC 8898 Bearer)
 * over WebSocket and reads the 401 of a bad one; sipvicious' svwar, the usual
 * extension scanner, cannot tell bob from names that do not exist.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JsSIP from 'jssip';
import NodeWebSocket from 'jssip-node-websocket';
import { mintAccessToken } from '../../src/auth/access-token.js';
import { baresipConfigDir } from '../helpers/baresip.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { startPeer, type PeerProcess } from '../helpers/peer-process.js';
import { run } from '../helpers/run.js';

// The default config's demo account (config/default.yaml): API key, sipDomain and digest user bob.
const ACCOUNT = 'AC00000000000000000000000000de0001';
const KEY = 'SK00000000000000000000000000de0001';
const SECRET = 'demo-api-key-secret-change-me';
const DOMAIN = 'demo.sip.localhost';

const token = (identity: string, secret = SECRET) =>
  mintAccessToken({
    accountSid: ACCOUNT,
    apiKeySid: KEY,
    apiKeySecret: secret,
    identity,
    incoming: true,
    ttl: 3600,
  });

describe('REGISTER from real softphones and tools', function () {
  // Real programs start slowly on a loaded machine; every wait below has its own deadline.
  this.timeout(60000);

  let herald: HeraldProcess;
  const peers: PeerProcess[] = [];
  const dirs: string[] = [];

  before(async () => {
    herald = await startHerald();
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.stop({ timeoutMs: 3000 });
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  after(async () => {
    await herald?.stop();
  });

  const tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };

  const bindings = async (): Promise<number> =>
    (
      (await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Node`)).json()) as {
        bindings: number;
      }
    ).bindings;

  /** Polls /v1/Node until the binding count is `n` (it is refreshed every second). */
  async function bindingsBecome(n: number, ms = 15000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const now = await bindings();
      if (now === n) return;
      if (Date.now() > deadline) throw new Error(`bindings stayed ${now}, expected ${n}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  describe('baresip (Digest)', () => {
    const baresipConfig = (transport: 'udp' | 'tcp', heraldPort: number): string => {
      const dir = baresipConfigDir({ user: 'bob', password: 'bob-secret', domain: DOMAIN, transport, heraldPort });
      dirs.push(dir);
      return dir;
    };

    for (const transport of ['udp', 'tcp'] as const) {
      const T = transport.toUpperCase();
      it(`registers bob over ${T} (401, Digest, 200 listing its binding) and unregisters when it quits`, async () => {
        const before = await bindings();
        const baresip = startPeer('baresip', [
          '-f',
          baresipConfig(transport, herald.listeners[transport]!.port),
        ]);
        peers.push(baresip);
        // baresip prints one line per REGISTER answer: the 200 with the number of Contacts it lists, or the error.
        await baresip.waitFor(
          new RegExp(`bob@demo\\.sip\\.localhost: \\{0/${T}/v4\\} 200 OK \\(.*\\) \\[1 binding\\]`),
          {
            failOn: /\{0\/(UDP|TCP)\/v4\} [3-6]\d\d |Register: /,
          },
        );
        await bindingsBecome(before + 1);
        await baresip.stop({ command: 'q', timeoutMs: 10000 });
        await bindingsBecome(before);
      });
    }
  });

  describe('linphonec (Digest)', () => {
    it('registers bob over UDP and unregisters when it quits', async () => {
      const home = tempDir('herald-linphonec-');
      // linphonec keeps its databases in $HOME/.local/share/linphone; without that folder its core never
      // starts the SIP transports (it would not even send the REGISTER).
      mkdirSync(join(home, '.local', 'share', 'linphone'), { recursive: true });
      const rc = join(home, 'linphonerc');
      writeFileSync(
        rc,
        [
          '[sip]',
          'sip_port=-1', // a free UDP port
          'sip_tcp_port=0',
          'sip_tls_port=0',
          'default_proxy=0',
          '[proxy_0]',
          `reg_proxy=<sip:127.0.0.1:${herald.listeners.udp!.port};transport=udp>`,
          `reg_identity=sip:bob@${DOMAIN}`,
          'reg_expires=600',
          'reg_sendregister=1',
          '[auth_info_0]',
          'username=bob',
          'passwd=bob-secret',
          `realm=${DOMAIN}`,
          `domain=${DOMAIN}`,
          '',
        ].join('\n'),
      );
      const before = await bindings();
      const linphonec = startPeer('linphonec', ['-c', rc], {
        cwd: home,
        env: { ...process.env, HOME: home, XDG_DATA_HOME: join(home, '.local', 'share') },
      });
      peers.push(linphonec);
      // linphonec prints no registration event by itself: ask it (its `status register` command) until it says so.
      await linphonec.waitFor(/registered, identity=sip:bob@demo\.sip\.localhost duration=\d+/, {
        poll: () => linphonec.send('status register'),
        pollMs: 500,
      });
      await bindingsBecome(before + 1);
      await linphonec.stop({ command: 'quit', timeoutMs: 10000 });
      await bindingsBecome(before);
    });
  });

  describe('JsSIP 3 over WebSocket (Bearer)', () => {
    const uas: JsSIP.UA[] = [];
    afterEach(() => {
      for (const ua of uas.splice(0)) ua.stop();
    });

    interface Outcome {
      event: 'registered' | 'registrationFailed';
      status: number | null;
      wwwAuthenticate: string[];
      contacts: string[];
    }

    /** Starts a UA that registers at once; resolves with its first registration event. */
    function jssipRegister(
      identity: string,
      authorization: string,
    ): { ua: JsSIP.UA; outcome: Promise<Outcome> } {
      const ua = new JsSIP.UA({
        sockets: [new NodeWebSocket(`ws://127.0.0.1:${herald.listeners.ws!.port}`)],
        uri: `sip:${identity}@herald.test`,
        // JsSIP sends this string as the whole Authorization header value (it adds no scheme).
        authorization_jwt: authorization,
        register: true,
        register_expires: 600,
      });
      uas.push(ua);
      const outcome = new Promise<Outcome>((resolve) => {
        ua.on('registered', (e) =>
          resolve({
            event: 'registered',
            status: e.response.status_code,
            wwwAuthenticate: [],
            contacts: e.response.getHeaders('contact'),
          }),
        );
        ua.on('registrationFailed', (e) =>
          resolve({
            event: 'registrationFailed',
            status: e.response?.status_code ?? null,
            wwwAuthenticate: e.response?.getHeaders('www-authenticate') ?? [],
            contacts: [],
          }),
        );
      });
      ua.start();
      return { ua, outcome };
    }

    it("registers with `Bearer <token>` and emits 'registered'; stopping the UA removes the binding", async () => {
      const before = await bindings();
      const { ua, outcome } = jssipRegister('alice', `Bearer ${token('alice')}`);
      const r = await outcome;
      expect(r.event, JSON.stringify(r)).to.equal('registered');
      expect(r.status).to.equal(200);
      expect(r.contacts).to.have.length(1);
      expect(r.contacts[0])
        .to.match(/;transport=ws>/)
        .and.match(/;expires=\d+/);
      expect(ua.isRegistered()).to.equal(true);
      await bindingsBecome(before + 1);
      ua.stop();
      await bindingsBecome(before);
    });

    it('a token signed with another secret gets \'registrationFailed\' with 401 error="invalid_token"', async () => {
      const before = await bindings();
      const { ua, outcome } = jssipRegister(
        'alice',
        `Bearer ${token('alice', 'not-the-secret-of-this-key')}`,
      );
      const r = await outcome;
      expect(r.event).to.equal('registrationFailed');
      expect(r.status).to.equal(401);
      expect(r.wwwAuthenticate.join(' ')).to.include('error="invalid_token"');
      expect(ua.isRegistered()).to.equal(false);
      expect(await bindings()).to.equal(before);
    });

    it('a bare token without the Bearer scheme is no credentials: 401 with the plain Bearer challenge', async () => {
      const { outcome } = jssipRegister('alice', token('alice'));
      const r = await outcome;
      expect(r.event).to.equal('registrationFailed');
      expect(r.status).to.equal(401);
      expect(r.wwwAuthenticate).to.deep.equal(['Bearer realm="herald"']);
    });
  });

  describe('sipvicious svwar (extension scan)', () => {
    const svwar = (words: string[], extra: string[]) => {
      const file = join(tempDir('herald-svwar-'), 'words.txt');
      writeFileSync(file, `${words.join('\n')}\n`);
      // -v: svwar's verdicts are log lines; it binds 127.0.0.1:5060 or the next free port.
      return run(
        'svwar',
        [
          '-d',
          file,
          '-m',
          'REGISTER',
          '--domain',
          DOMAIN,
          '-b',
          '127.0.0.1',
          '-p',
          String(herald.listeners.udp!.port),
          '-v',
          ...extra,
          '127.0.0.1',
        ],
        {
          timeoutMs: 30000,
        },
      );
    };

    it('learns nothing: an unknown name is challenged like bob, so the scan finds no extension', async () => {
      // As a scanner is run: svwar first REGISTERs a random name to learn how unknown users are answered.
      const plain = await svwar(['bob', 'alice', 'nobody', 'admin', '100', '1000'], []);
      const out = plain.stdout + plain.stderr;
      expect(out).to.include(
        'SIP server replied with an authentication request for an unknown extension',
      );
      expect(out).to.not.match(/extension '[^']+' (exists|probably exists)/);
      expect(out).to.include('found nothing');

      // Forced on: bob's answer is compared with the random name's, and is the same (svwar gives up without a find).
      const forced = await svwar(['bob'], ['--force']);
      const outForced = forced.stdout + forced.stderr;
      expect(outForced).to.match(/Bad user = SIP\/2\.0 401/);
      expect(outForced).to.match(
        /Response: 'SIP\/2\.0 401 Unauthorized\\r\\n.*To: "bob"<sip:bob@demo\.sip\.localhost>/,
      );
      expect(outForced).to.not.match(/extension 'bob' (exists|probably exists)/);
      expect(outForced).to.include('found nothing');
    });
  });
});
