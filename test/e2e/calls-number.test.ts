/**
 * `<Dial><Number>` through the account's outbound trunk (README
 * "Configuration", `trunks[].outbound`), against a real `herald serve` with
 * HERALD_MEDIA=off: sipp is the carrier — its stock UAS, a scenario that
 * challenges with 401 and checks the Authorization with sipp's own
 * verifyauth, and one that challenges with 407 (whose Proxy-Authorization
 * the test checks, as sipp's verifyauth reads only Authorization); a SIP.js
 * client with an outgoing grant places the calls; the application answers
 * TwiML built with `twilio`'s VoiceResponse.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import twilio from 'twilio';
import { AppServer } from '../integration/instructions/app-server.js';
import { freeUdpPort } from '../helpers/free-port.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { sippUas, tracedInvite } from '../helpers/sipp-uas.js';
import { placeCall, type PlacedCall } from '../helpers/sipjs-caller.js';
import { AUTH_TOKEN, accountYaml, callsInUseBecomes, clientToken } from '../helpers/test-account.js';
import type { Phone } from '../helpers/sipjs-phone.js';

const SCENARIO_401 = resolve(import.meta.dirname, '..', 'fixtures', 'sipp', 'carrier-uas-401.xml');
const SCENARIO_407 = resolve(import.meta.dirname, '..', 'fixtures', 'sipp', 'carrier-uas-407.xml');
const CALLED = '+15557654321';
const TRUNK_USER = 'herald-trunk';
const TRUNK_PASSWORD = 'trunk-secret-7';

const token = (identity: string) => clientToken(identity, true);

const dialNumber = (attrs: { callerId?: string; action?: string } = {}): string => {
  const r = new twilio.twiml.VoiceResponse();
  r.dial({ timeout: 10, ...attrs }).number(CALLED);
  return r.toString();
};

/**
 * Checks a Digest credentials line by RFC 7616 §3.4.1 (MD5, qop=auth), computed
 * here independently of Herald: H(H(user:realm:password):nonce:nc:cnonce:auth:H(INVITE:uri)).
 */
function expectValidDigest(line: string, password: string): void {
  const p = Object.fromEntries([...line.matchAll(/([a-z]+)=(?:"([^"]*)"|([^,\s]+))/g)].map((m) => [m[1], m[2] ?? m[3]]));
  const md5 = (x: string) => createHash('md5').update(x).digest('hex');
  const ha1 = md5(`${p.username}:${p.realm}:${password}`);
  const ha2 = md5(`INVITE:${p.uri}`);
  expect(p.response, line).to.equal(md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`));
}

describe('<Dial><Number> through the outbound trunk (sipp as the carrier)', function () {
  this.timeout(60_000);
  let app: AppServer;
  let herald: HeraldProcess;
  let bare: HeraldProcess;
  let carrierPort: number;
  const phones: Phone[] = [];

  before(async () => {
    app = await AppServer.start(AUTH_TOKEN);
    app.on('/status', (_req, res) => res.end());
    carrierPort = await freeUdpPort();
    const outbound = `{ uri: "sip:127.0.0.1:${carrierPort};transport=udp", username: ${TRUNK_USER}, password: ${TRUNK_PASSWORD}, callerId: "+15550000000" }`;
    [herald, bare] = await Promise.all([
      startHerald({ config: writeConfig(accountYaml({ voiceUrl: app.url('/voice'), trunkOutbound: outbound })) }),
      // The same account without an outbound trunk.
      startHerald({ config: writeConfig(accountYaml({ voiceUrl: app.url('/voice') })) }),
    ]);
  });
  after(async () => {
    for (const p of phones) await p.stop();
    await Promise.all([herald?.stop(), bare?.stop()]);
    await app?.close();
  });

  async function call(node: HeraldProcess, identity: string): Promise<PlacedCall> {
    const placed = await placeCall({ wsUrl: `ws://127.0.0.1:${node.listeners.ws!.port}`, identity, to: CALLED, token: token(identity), sdpPort: 23000 });
    phones.push(placed.phone);
    return placed;
  }

  it('the INVITE goes to the carrier as sip:<number>@trunk;user=phone, From the Dial callerId; the call bridges and ends with the caller\'s BYE', async () => {
    app.twiml('/voice', dialNumber({ callerId: '+15550003333' }));
    const sipp = sippUas(carrierPort, ['-sn', 'uas']);
    const placed = await call(herald, 'nina');
    expect(placed.status).to.equal(200);
    await placed.inviter.bye();
    const r = await sipp.done;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const sent = tracedInvite(sipp.messages());
    expect(sent).to.match(new RegExp(`^INVITE sip:\\+15557654321@127\\.0\\.0\\.1:${carrierPort};transport=udp;user=phone SIP/2\\.0`));
    expect(sent).to.match(/^From: <sip:\+15550003333@127\.0\.0\.1>;tag=/m);
    expect(sent).to.match(new RegExp(`^To: <sip:\\+15557654321@127\\.0\\.0\\.1:${carrierPort};transport=udp;user=phone>`, 'm'));
    // The caller's offer went to the carrier.
    expect(sent).to.match(/^Content-Type: application\/sdp/m);
    await callsInUseBecomes(herald, 0);
  });

  it('a 401 from the carrier is answered with Digest (sipp verifyauth accepts it); without a Dial callerId the From is the trunk\'s callerId', async () => {
    app.twiml('/voice', dialNumber());
    const sipp = sippUas(carrierPort, ['-sf', SCENARIO_401, '-key', 'user', TRUNK_USER, '-key', 'pass', TRUNK_PASSWORD]);
    const placed = await call(herald, 'omar');
    expect(placed.status).to.equal(200);
    await placed.inviter.bye();
    const r = await sipp.done;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const messages = sipp.messages();
    expect(tracedInvite(messages)).to.match(/^From: <sip:\+15550000000@127\.0\.0\.1>;tag=/m);
    // RFC 3261 §22.2: the same Call-ID and From tag, the next CSeq, credentials for the carrier's realm.
    const [first, second] = [tracedInvite(messages), tracedInvite(messages, 1)];
    expect(second).to.match(/^CSeq: 2 INVITE/m);
    expect(/^Call-ID: .*/m.exec(second)![0]).to.equal(/^Call-ID: .*/m.exec(first)![0]);
    expect(/^From: .*/m.exec(second)![0]).to.equal(/^From: .*/m.exec(first)![0]);
    expect(second).to.match(new RegExp(`^Authorization: Digest username="${TRUNK_USER}", realm="carrier.example", `, 'm'));
    await callsInUseBecomes(herald, 0);
  });

  it('a 407 is answered with Proxy-Authorization (RFC 3261 §22.3), a valid MD5 digest with qop=auth and the opaque echoed', async () => {
    app.twiml('/voice', dialNumber());
    const sipp = sippUas(carrierPort, ['-sf', SCENARIO_407]);
    const placed = await call(herald, 'olga');
    expect(placed.status).to.equal(200);
    await placed.inviter.bye();
    const r = await sipp.done;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const line = /^Proxy-Authorization: (.*)$/m.exec(tracedInvite(sipp.messages(), 1));
    expect(line, sipp.messages()).to.not.equal(null);
    expect(line![1]).to.match(/opaque="op-1"/);
    expectValidDigest(line![1]!, TRUNK_PASSWORD);
    await callsInUseBecomes(herald, 0);
  });

  it('wrong trunk credentials: the carrier refuses, the dial fails and the action URL says failed', async () => {
    app.twiml('/voice', dialNumber({ action: '/after' }));
    app.twiml('/after', new twilio.twiml.VoiceResponse().hangup().toString());
    const sipp = sippUas(carrierPort, ['-sf', SCENARIO_401, '-key', 'user', TRUNK_USER, '-key', 'pass', 'not-the-password'], '3s');
    const placed = await call(herald, 'pia');
    expect(placed.status).to.equal(480);
    const after = await app.next('/after');
    expect(after.params.DialCallStatus).to.equal('failed');
    expect(after.signatureValid).to.equal(true);
    // The scenario sent 403 and then waits for a request that never comes: it ends by its timeout (and frees the port).
    expect((await sipp.done).code).to.not.equal(0);
    await callsInUseBecomes(herald, 0);
  });

  it('an account without an outbound trunk: the dial fails at once (DialCallStatus=failed) and the log says why', async () => {
    app.twiml('/voice', dialNumber({ action: '/after' }));
    app.twiml('/after', new twilio.twiml.VoiceResponse().hangup().toString());
    const placed = await call(bare, 'quinn');
    expect(placed.status).to.equal(480);
    const after = await app.next('/after');
    expect(after.params.DialCallStatus).to.equal('failed');
    await bare.logged((l) => typeof l.msg === 'string' && /<Number> not dialed: the account has no outbound trunk/.test(l.msg) && l.number === CALLED);
    await callsInUseBecomes(bare, 0);
  });
});
