/**
 * Digest softphones in calls (CONTRACT §4 "such a user is a client of the
 * account like any other", §5.1 "its registered connection"), against a real
 * `herald serve` with HERALD_MEDIA=off: baresip registered as bob with
 * Digest receives `<Dial><Client>` and `<Sip>sip:bob@<sipDomain></Sip>` and
 * answers by itself, and places a call over the flow it registered on (no
 * challenge); sipp as bob from a port it never registered from must answer a
 * Digest challenge. alice is a SIP.js device with an access token.
 */
import { expect } from 'chai';
import { resolve } from 'node:path';
import twilio from 'twilio';
import { AppServer } from '../integration/instructions/app-server.js';
import { startBaresip, type Baresip } from '../helpers/baresip.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { run } from '../helpers/run.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';
import { placeCall } from '../helpers/sipjs-caller.js';
import { registerPhone, startPhone, type Phone } from '../helpers/sipjs-phone.js';
import { ACCOUNT, APP, AS_ACCOUNT, AUTH_TOKEN, accountYaml, callsInUseBecomes, clientToken } from '../helpers/test-account.js';

const DOMAIN = 'acme.sip.localhost';
const UAC_DIGEST = resolve(import.meta.dirname, '..', 'fixtures', 'sipp', 'uac-digest-invite.xml');

const token = clientToken;

const dial = (noun: (d: ReturnType<twilio.twiml.VoiceResponse['dial']>) => void): string => {
  const r = new twilio.twiml.VoiceResponse();
  noun(r.dial({ timeout: 10 }));
  return r.toString();
};

/** The statuses of the responses to INVITEs in baresip's SIP trace (`-s`: each message after a `#` line and a `UDP a -> b` line). */
const inviteStatuses = (trace: string): string[] =>
  trace
    .split(/^\S*#\r?$/m)
    .map((m) => /^(?:UDP|TCP) \S+ -> \S+\r?\nSIP\/2\.0 (\d{3}) /m.exec(m) !== null && /^CSeq: \d+ INVITE\r?$/m.test(m) ? (/SIP\/2\.0 (\d{3}) /.exec(m) as RegExpExecArray)[1] : null)
    .filter((x): x is string => x !== undefined && x !== null);

describe('calls with Digest softphones (baresip, sipp) and SIP.js', function () {
  this.timeout(60_000);
  let app: AppServer;
  let herald: HeraldProcess;
  let bob: Baresip;
  let alice: Phone;
  const phones: Phone[] = [];

  before(async () => {
    app = await AppServer.start(AUTH_TOKEN);
    const config = writeConfig(
      accountYaml({
        voiceUrl: app.url('/voice'),
        accountExtra: `    sipDomain: ${DOMAIN}\n    credentials:\n      - { username: bob, password: bob-secret, outgoingApplication: ${APP} }\n      - { username: carol, password: carol-secret }\n`,
      }),
    );
    herald = await startHerald({ config });
    bob = await startBaresip({ user: 'bob', password: 'bob-secret', domain: DOMAIN, transport: 'udp', heraldPort: herald.listeners.udp!.port, autoAnswer: true });
    alice = await startPhone({ identity: 'alice', wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, sdpPort: 24000 });
    phones.push(alice);
    expect(await registerPhone(alice, token('alice'))).to.equal(200);
  });
  after(async () => {
    await bob?.stop();
    for (const p of phones) await p.stop();
    await herald?.stop();
    await app?.close();
  });

  const presenceOf = async (identity: string): Promise<string> =>
    ((await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Clients/${identity}/Presence`, { headers: { authorization: AS_ACCOUNT } })).json()) as { status: string }).status;

  async function callFromSipJs(identity: string, to: string) {
    const placed = await placeCall({ wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, identity, to, token: token(identity, true), sdpPort: 24002 });
    phones.push(placed.phone);
    return placed;
  }

  it('<Dial><Client>bob</Client>: baresip (Digest, UDP) rings and answers by itself; bob is busy; the caller\'s BYE ends it', async () => {
    app.twiml('/voice', dial((d) => d.client('bob')));
    const from = bob.peer.output().length;
    const placed = await callFromSipJs('dana', 'bob');
    expect(placed.status).to.equal(200);
    await bob.peer.waitFor(/Call established: sip:dana@127\.0\.0\.1/, { timeoutMs: 10_000 });
    expect(await presenceOf('bob')).to.equal('busy');
    await placed.inviter.bye();
    // baresip's line for a call the peer ended (its "Call … terminated" line does not always follow).
    await bob.peer.waitFor(/sip:dana@127\.0\.0\.1: session closed/);
    expect(bob.peer.output().slice(from)).to.match(/^BYE sip:bob-/m);
    await callsInUseBecomes(herald, 0);
    expect(await presenceOf('bob')).to.equal('available');
  });

  it('<Sip>sip:bob@<sipDomain></Sip> rings bob\'s registered baresip; baresip hangs up (BYE from the callee side)', async () => {
    app.twiml('/voice', dial((d) => d.sip(`sip:bob@${DOMAIN}`)));
    const before = bob.peer.output().length;
    const placed = await callFromSipJs('eli', 'bob');
    expect(placed.status).to.equal(200);
    await bob.peer.waitFor(/Call established: sip:eli@127\.0\.0\.1/, { timeoutMs: 10_000 });
    bob.peer.send('/hangup');
    await placed.terminated;
    // Herald's leg went to the Contact bob registered, To bob's AOR.
    expect(bob.peer.output().slice(before)).to.match(/^INVITE sip:bob-[^@\s]*@127\.0\.0\.1:\d+ SIP\/2\.0/m).and.match(/^To: <sip:bob@acme\.sip\.localhost>/m);
    await callsInUseBecomes(herald, 0);
  });

  it('baresip places a call over the UDP flow it registered on: no challenge, From=client:bob, alice answers', async () => {
    app.twiml('/voice', dial((d) => d.client('alice')));
    const before = bob.peer.output().length;
    const ringing = alice.nextCall();
    bob.peer.send(`/dial sip:alice@${DOMAIN}`);
    const incoming = await ringing;
    await incoming.invitation.accept();
    await bob.peer.waitFor(/Call established: sip:alice@acme\.sip\.localhost/, { timeoutMs: 10_000 });
    const voice = app.requestsTo('/voice').at(-1)!;
    expect(voice.params).to.include({ From: 'client:bob', To: 'alice', Direction: 'inbound', ApplicationSid: APP });
    expect(voice.signatureValid).to.equal(true);
    const trace = bob.peer.output().slice(before);
    expect(inviteStatuses(trace), trace).to.include('200').and.not.include('401');
    const ended = new Promise<void>((r) => incoming.invitation.stateChange.addListener((s) => s === 'Terminated' && r()));
    bob.peer.send('/hangup');
    await ended;
    await callsInUseBecomes(herald, 0);
  });

  it('a carrier at the trunk\'s address writing the sipDomain in its From is still the trunk (only real user names are Digest users there)', async () => {
    app.twiml('/voice', new twilio.twiml.VoiceResponse().reject().toString());
    const carrier = await UdpPeer.open();
    try {
      const invite = request('INVITE', { transport: 'UDP', port: carrier.port, uri: 'sip:+15550001111@127.0.0.1', extra: ['Contact: <sip:gw@127.0.0.1>'] }).replace(
        'From: <sip:tester@127.0.0.1>',
        `From: <sip:+15550002222@${DOMAIN}>`,
      );
      carrier.send(invite, herald.listeners.udp!.port);
      const res = await carrier.nextResponse(5000, true);
      expect(res?.status).to.equal(603);
      const voice = app.requestsTo('/voice').at(-1)!;
      expect(voice.params).to.include({ From: '+15550002222', To: '+15550001111' });
    } finally {
      carrier.close();
    }
  });

  it('a Digest user calling from a port it never registered from answers a 401 challenge (sipp -au/-ap); a user without outgoingApplication gets 403', async () => {
    app.twiml('/voice', dial((d) => d.client('alice')));
    const ringing = alice.nextCall();
    const uac = run('sipp', ['-sf', UAC_DIGEST, '-key', 'user', 'bob', '-key', 'domain', DOMAIN, '-key', 'to', 'alice', '-au', 'bob', '-ap', 'bob-secret', '-i', '127.0.0.1', '-p', '0', '-m', '1', '-timeout', '20s', '-timeout_error', '-nostdin', `127.0.0.1:${herald.listeners.udp!.port}`]);
    await (await ringing).invitation.accept();
    const r = await uac;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(app.requestsTo('/voice').at(-1)!.params.From).to.equal('client:bob');

    const refused = await run('sipp', ['-sf', UAC_DIGEST, '-key', 'user', 'carol', '-key', 'domain', DOMAIN, '-key', 'to', 'alice', '-au', 'carol', '-ap', 'carol-secret', '-i', '127.0.0.1', '-p', '0', '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin', '-trace_err', `127.0.0.1:${herald.listeners.udp!.port}`]);
    expect(refused.code).to.not.equal(0);
    expect(refused.stdout + refused.stderr).to.match(/403/);
    await callsInUseBecomes(herald, 0);
  });
});
