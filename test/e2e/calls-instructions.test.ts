/**
 * What the application's answers do to a call (CONTRACT §5.3, §5.4), against
 * a real `herald serve` with HERALD_MEDIA=off and `webhooks.timeout: 1`: a
 * voiceUrl that does not answer in time or answers malformed TwiML is
 * replaced by the voiceFallbackUrl; both failing gives the caller 480 with a
 * Warning naming both; a `<Redirect>` chain is followed; `<Sip>` to an
 * outside SIP URI is answered by sipp. The application is a real HTTP server
 * checking Herald's signatures with `twilio.validateRequest`; the caller and
 * alice are SIP.js user agents.
 */
import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import twilio from 'twilio';
import { AppServer } from '../integration/instructions/app-server.js';
import { freeUdpPort } from '../helpers/free-port.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { sippUas, tracedInvite } from '../helpers/sipp-uas.js';
import { placeCall, type PlacedCall } from '../helpers/sipjs-caller.js';
import { registerPhone, startPhone, type Phone } from '../helpers/sipjs-phone.js';
import { AUTH_TOKEN, accountYaml, callsInUseBecomes, clientToken } from '../helpers/test-account.js';

const token = clientToken;

const dialAlice = (): string => {
  const r = new twilio.twiml.VoiceResponse();
  r.dial({ timeout: 10 }).client('alice');
  return r.toString();
};

describe('instructions: webhook timeout and malformed TwiML → fallback, Redirect chains, <Sip> to sipp', function () {
  this.timeout(60_000);
  let app: AppServer;
  let herald: HeraldProcess;
  let alice: Phone;
  const phones: Phone[] = [];
  /** Responses held open by the "too slow" voiceUrl, ended after the test. */
  const held: ServerResponse[] = [];

  before(async () => {
    app = await AppServer.start(AUTH_TOKEN);
    const config = writeConfig(accountYaml({ voiceUrl: app.url('/voice'), voiceFallbackUrl: app.url('/fallback'), extra: 'webhooks:\n  timeout: 1\n' }));
    herald = await startHerald({ config });
    alice = await startPhone({ identity: 'alice', wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, sdpPort: 25000 });
    phones.push(alice);
    expect(await registerPhone(alice, token('alice'))).to.equal(200);
  });
  afterEach(() => {
    for (const res of held.splice(0)) res.end();
  });
  after(async () => {
    for (const p of phones) await p.stop();
    await herald?.stop();
    await app?.close();
  });

  async function call(identity: string, to = 'alice'): Promise<PlacedCall> {
    const placed = await placeCall({ wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, identity, to, token: token(identity, true), sdpPort: 25002 });
    phones.push(placed.phone);
    return placed;
  }

  /** The last request the application got at `path`. */
  const latest = (path: string) => {
    const r = app.requestsTo(path).at(-1);
    expect(r, `no request to ${path}`).to.not.equal(undefined);
    return r!;
  };

  /** Places a call that alice answers; resolves once it is up. */
  async function answeredCall(identity: string): Promise<PlacedCall> {
    const ringing = alice.nextCall();
    const calling = call(identity);
    await (await ringing).invitation.accept();
    const placed = await calling;
    expect(placed.status).to.equal(200);
    return placed;
  }

  it('a voiceUrl that does not answer within webhooks.timeout: the voiceFallbackUrl is asked (same CallSid, signed) and its TwiML runs', async () => {
    app.on('/voice', (_req, res) => held.push(res));
    app.twiml('/fallback', new twilio.twiml.VoiceResponse().reject({ reason: 'busy' }).toString());
    const placed = await call('ava');
    expect(placed.status).to.equal(486);
    const [voice, fallback] = [latest('/voice'), latest('/fallback')];
    expect(fallback.params.CallSid).to.equal(voice.params.CallSid);
    expect(fallback.signatureValid).to.equal(true);
    await herald.logged((l) => l.msg === 'voiceUrl failed' && /timed out after 1000 ms/.test(String(l.reason)));
    await callsInUseBecomes(herald, 0);
  });

  it('malformed TwiML at the voiceUrl: the fallback\'s <Dial> connects the call', async () => {
    app.twiml('/voice', '<Response><Dial><Client>alice</Client></Dial>');
    app.twiml('/fallback', dialAlice());
    const placed = await answeredCall('ben');
    expect(latest('/voice').params.CallSid).to.equal(latest('/fallback').params.CallSid);
    await placed.inviter.bye();
    await callsInUseBecomes(herald, 0);
  });

  it('an unknown verb at the voiceUrl and malformed TwiML at the fallback: 480 with a Warning naming both', async () => {
    app.twiml('/voice', '<Response><Teleport>support</Teleport></Response>');
    app.twiml('/fallback', '<Response><Say>hello</Say>');
    const placed = await call('cleo');
    expect(placed.status).to.equal(480);
    expect(placed.warning).to.match(/voiceUrl returned invalid TwiML \(12200\): unknown verb <Teleport>/).and.match(/voiceFallbackUrl returned invalid TwiML \(12100\): not well-formed XML/);
    await callsInUseBecomes(herald, 0);
  });

  it('a <Redirect> chain A → B (relative, GET) → Dial: each document is fetched as written, signed, with the same CallSid', async () => {
    app.twiml('/voice', new twilio.twiml.VoiceResponse().redirect('/chain/b').toString());
    app.twiml('/chain/b', new twilio.twiml.VoiceResponse().redirect({ method: 'GET' }, 'c').toString());
    app.twiml('/chain/c', dialAlice());
    const placed = await answeredCall('dov');
    const [a, b, c] = [latest('/voice'), latest('/chain/b'), latest('/chain/c')];
    expect([a.method, b.method, c.method]).to.deep.equal(['POST', 'POST', 'GET']);
    for (const r of [a, b, c]) {
      expect(r.signatureValid, r.url).to.equal(true);
      expect(r.params.CallSid).to.equal(a.params.CallSid);
      expect(r.params.From).to.equal('client:dov');
    }
    await placed.inviter.bye();
    await callsInUseBecomes(herald, 0);
  });

  it('<Sip> to an outside SIP URI: sipp answers as a UAS, the caller hangs up', async () => {
    const port = await freeUdpPort();
    const uri = `sip:frontdesk@127.0.0.1:${port}`;
    app.twiml('/voice', (() => {
      const r = new twilio.twiml.VoiceResponse();
      r.dial({ timeout: 10 }).sip(uri);
      return r.toString();
    })());
    const uas = sippUas(port, ['-sn', 'uas']);
    const placed = await call('eve', 'frontdesk');
    expect(placed.status).to.equal(200);
    await placed.inviter.bye();
    const r = await uas.done;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const invite = tracedInvite(uas.messages());
    expect(invite).to.match(new RegExp(`^INVITE ${uri} SIP/2\\.0`)).and.match(new RegExp(`^To: <${uri}>`, 'm')).and.match(/^From: <sip:eve@127\.0\.0\.1>;tag=/m);
    await callsInUseBecomes(herald, 0);
  });
});
