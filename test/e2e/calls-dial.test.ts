/**
 * Calls (CONTRACT §5) against a real `herald serve` with HERALD_MEDIA=off:
 * a test web application answers TwiML built with the `twilio` package and
 * checks Herald's signatures with `twilio.validateRequest`; sipp is the
 * trunk; SIP.js user agents in Node are the registered devices (two for
 * alice) and a client placing calls with its outgoing grant.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { ACCOUNT, APP, AS_ACCOUNT, AUTH_TOKEN, accountYaml, callsInUseBecomes as inUseBecomes, clientToken } from '../helpers/test-account.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { run } from '../helpers/run.js';
import { placeCall, type PlacedCall } from '../helpers/sipjs-caller.js';
import { registerPhone, startPhone, type Phone } from '../helpers/sipjs-phone.js';

const token = clientToken;

interface Hit {
  path: string;
  params: Record<string, string>;
  signatureValid: boolean;
}

describe('calls: trunk or client → webhook → TwiML → presence-aware fork', function () {
  this.timeout(60_000);
  let herald: HeraldProcess;
  let app: Server;
  let base: string;
  const hits: Hit[] = [];
  /** TwiML per path, set by each test. */
  const twiml = new Map<string, () => string>();
  const phones: Phone[] = [];

  before(async () => {
    app = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0] as string;
        const params = Object.fromEntries(new URLSearchParams(body));
        const signature = req.headers['x-twilio-signature'];
        hits.push({ path, params, signatureValid: typeof signature === 'string' && twilio.validateRequest(AUTH_TOKEN, signature, `${base}${req.url}`, params) });
        const make = twiml.get(path);
        if (make === undefined) {
          res.statusCode = path === '/status' ? 200 : 500;
          return res.end();
        }
        res.setHeader('content-type', 'text/xml');
        res.end(make());
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    const config = writeConfig(accountYaml({ voiceUrl: `${base}/voice`, voiceFallbackUrl: `${base}/fallback`, statusCallback: `${base}/status`, calls: 3 }));
    herald = await startHerald({ config });
    const ws = `ws://127.0.0.1:${herald.listeners.ws!.port}`;
    for (const [identity, port, instance] of [
      ['alice', 20000, '11111111-1111-4111-8111-111111111111'],
      ['alice', 20002, '22222222-2222-4222-8222-222222222222'],
    ] as const) {
      const phone = await startPhone({ identity, wsUrl: ws, sdpPort: port, instanceId: instance });
      phones.push(phone);
      expect(await registerPhone(phone, token(identity))).to.equal(200);
    }
  });
  after(async () => {
    for (const p of phones) await p.stop();
    await herald?.stop();
    await new Promise((r) => app?.close(r));
  });

  const callsInUseBecomes = (n: number) => inUseBecomes(herald, n);

  const dialClient = (identity: string, attrs: Record<string, string | number> = {}) => () => {
    const r = new twilio.twiml.VoiceResponse();
    r.dial({ timeout: 10, ...attrs }).client(identity);
    return r.toString();
  };

  it('sipp trunk call: alice rings on both devices, one answers, the other gets CANCEL with Reason; BYE from sipp ends it', async () => {
    twiml.set('/voice', dialClient('alice'));
    const [a1, a2] = phones as [Phone, Phone];
    const ring1 = a1.nextCall();
    const ring2 = a2.nextCall();
    const sipp = run('sipp', ['-sn', 'uac', '-s', '+15550001111', '-m', '1', '-d', '500', '-i', '127.0.0.1', '-p', '0', '-timeout', '30s', '-timeout_error', '-nostdin', `127.0.0.1:${herald.listeners.udp!.port}`]);
    const [c1, c2] = await Promise.all([ring1, ring2]);
    await c1.invitation.accept();
    await c2.canceled;
    expect(c2.cancelReasons).to.deep.equal(['SIP;cause=200;text="Call completed elsewhere"']);
    const r = await sipp;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    // The caller's offer reached the device, and the device's answer reached sipp.
    expect(c1.invitation.body).to.match(/^v=0/);
    const voice = hits.filter((h) => h.path === '/voice').at(-1)!;
    expect(voice.signatureValid).to.equal(true);
    expect(voice.params).to.include({ AccountSid: ACCOUNT, ApplicationSid: APP, To: '+15550001111', CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01' });
    expect(voice.params.CallSid).to.match(/^CA[0-9a-f]{32}$/);
    await callsInUseBecomes(0);
    const res = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Calls/${voice.params.CallSid}`, { headers: { authorization: AS_ACCOUNT } });
    expect(res.status).to.equal(200);
    const record = (await res.json()) as { status: string; endReason: string; answerTime: string | null };
    expect(record.status).to.equal('completed');
    expect(record.answerTime).to.be.a('string');
    const events = hits.filter((h) => h.path === '/status' && h.params.CallSid === voice.params.CallSid).map((h) => h.params.CallStatus);
    expect(events).to.include.members(['initiated', 'ringing', 'in-progress', 'completed']);
  });

  async function clientCall(identity: string, to: string, o: { cancelAfterRinging?: boolean } = {}): Promise<PlacedCall> {
    const call = await placeCall({ wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, identity, to, token: token(identity, true), sdpPort: 30000, ...o });
    phones.push(call.phone);
    return call;
  }

  it('a client with an outgoing grant calls alice; alice hangs up (BYE from the callee side)', async () => {
    twiml.set('/voice', dialClient('alice'));
    const [a1, a2] = phones as [Phone, Phone];
    const ring1 = a1.nextCall();
    const ring2 = a2.nextCall();
    const calling = clientCall('bob', 'alice');
    const [c1, c2] = await Promise.all([ring1, ring2]);
    await c2.invitation.accept();
    const { status, inviter } = await calling;
    expect(status).to.equal(200);
    await c1.canceled;
    const voice = hits.filter((h) => h.path === '/voice').at(-1)!;
    expect(voice.params.From).to.equal('client:bob');
    expect(voice.signatureValid).to.equal(true);
    // While the call lasts, alice is busy.
    const p = (await (await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Clients/alice/Presence`, { headers: { authorization: AS_ACCOUNT } })).json()) as { status: string };
    expect(p.status).to.equal('busy');
    const ended = new Promise<void>((r) => inviter.stateChange.addListener((s) => s === 'Terminated' && r()));
    await c2.invitation.bye();
    await ended;
    await callsInUseBecomes(0);
  });

  it('the caller cancels while alice rings: every device gets CANCEL, the caller 487', async () => {
    twiml.set('/voice', dialClient('alice'));
    const [a1, a2] = phones as [Phone, Phone];
    const ring1 = a1.nextCall();
    const ring2 = a2.nextCall();
    const calling = clientCall('carol', 'alice', { cancelAfterRinging: true });
    const [c1, c2] = await Promise.all([ring1, ring2]);
    await c1.invitation.progress();
    const { status } = await calling;
    expect(status).to.equal(487);
    await Promise.all([c1.canceled, c2.canceled]);
    await callsInUseBecomes(0);
  });

  it('every device busy → busy: the action URL gets DialCallStatus=busy and its TwiML rejects', async () => {
    twiml.set('/voice', dialClient('alice', { action: '/after' }));
    twiml.set('/after', () => {
      const r = new twilio.twiml.VoiceResponse();
      r.reject({ reason: 'busy' });
      return r.toString();
    });
    const [a1, a2] = phones as [Phone, Phone];
    const ring1 = a1.nextCall();
    const ring2 = a2.nextCall();
    const calling = clientCall('dave', 'alice');
    for (const c of await Promise.all([ring1, ring2])) await c.invitation.reject({ statusCode: 486 });
    const { status } = await calling;
    expect(status).to.equal(486);
    const after = hits.filter((h) => h.path === '/after').at(-1)!;
    expect(after.params.DialCallStatus).to.equal('busy');
    expect(after.signatureValid).to.equal(true);
    await callsInUseBecomes(0);
  });

  it('an offline client: no-answer at once (the action URL says so); a dnd client: busy', async () => {
    twiml.set('/voice', dialClient('nobody', { action: '/after' }));
    twiml.set('/after', () => new twilio.twiml.VoiceResponse().toString());
    const offline = await clientCall('erin', 'nobody');
    expect(offline.status).to.equal(480);
    expect(hits.filter((h) => h.path === '/after').at(-1)!.params.DialCallStatus).to.equal('no-answer');

    const put = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Clients/alice/Presence`, {
      method: 'PUT',
      headers: { authorization: AS_ACCOUNT, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'dnd' }),
    });
    expect(put.status).to.equal(200);
    twiml.set('/voice', dialClient('alice'));
    const dnd = await clientCall('erin', 'alice');
    expect(dnd.status).to.equal(486);
    expect(phones[0]!.incoming.length).to.equal(phones[1]!.incoming.length);
    await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Clients/alice/Presence`, {
      method: 'PUT',
      headers: { authorization: AS_ACCOUNT, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'available' }),
    });
  });

  it('webhook 500 → the fallback URL; both failing → 480 with a Warning naming both', async () => {
    twiml.delete('/voice');
    twiml.set('/fallback', () => {
      const r = new twilio.twiml.VoiceResponse();
      r.reject({ reason: 'rejected' });
      return r.toString();
    });
    const viaFallback = await clientCall('frank', 'alice');
    expect(viaFallback.status).to.equal(603);
    twiml.set('/fallback', () => '<Response><Dial><Client>alice</Client>'); // malformed
    const failing = await clientCall('frank', 'alice');
    expect(failing.status).to.equal(480);
    expect(failing.warning).to.match(/voiceUrl returned HTTP 500/).and.match(/voiceFallbackUrl/);
    await callsInUseBecomes(0);
  });

  it('unknown number from the trunk → 404; a client token without an outgoing grant → 403', async () => {
    const r = await run('sipp', ['-sn', 'uac', '-s', '+15559999999', '-m', '1', '-i', '127.0.0.1', '-p', '0', '-timeout', '10s', '-timeout_error', '-nostdin', `127.0.0.1:${herald.listeners.udp!.port}`]);
    expect(r.code).to.not.equal(0);
    expect(r.stdout + r.stderr).to.match(/404/);
    const { Inviter, UserAgent } = await import('sip.js');
    const phone = await startPhone({ identity: 'gina', wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, sdpPort: 30002 });
    phones.push(phone);
    const inviter = new Inviter(phone.ua, UserAgent.makeURI('sip:alice@herald.test')!, { extraHeaders: [`Authorization: Bearer ${token('gina', false)}`] });
    const status = await new Promise<number>((resolve, reject) => {
      inviter.invite({ requestDelegate: { onAccept: (x) => resolve(x.message.statusCode ?? 0), onReject: (x) => resolve(x.message.statusCode ?? 0) } }).catch(reject);
    });
    expect(status).to.equal(403);
  });

  it('at the account limit (calls: 3) the next call gets 503 with Retry-After and X-Herald-Limit, and the webhook is not called', async () => {
    twiml.set('/voice', dialClient('alice'));
    const [a1, a2] = phones as [Phone, Phone];
    const held: PlacedCall[] = [];
    for (let i = 0; i < 3; i++) {
      const r1 = a1.nextCall();
      const r2 = a2.nextCall();
      const calling = clientCall(`holder${i}`, 'alice');
      const [c1] = await Promise.all([r1, r2]);
      await c1.invitation.accept();
      held.push(await calling);
    }
    await callsInUseBecomes(3);
    const voiceHits = hits.filter((h) => h.path === '/voice').length;
    const { Inviter, UserAgent } = await import('sip.js');
    const phone = await startPhone({ identity: 'late', wsUrl: `ws://127.0.0.1:${herald.listeners.ws!.port}`, sdpPort: 30004 });
    phones.push(phone);
    const refused = await new Promise<{ status: number; retryAfter?: string; limit?: string }>((resolve, reject) => {
      new Inviter(phone.ua, UserAgent.makeURI('sip:alice@herald.test')!, { extraHeaders: [`Authorization: Bearer ${token('late', true)}`] })
        .invite({
          requestDelegate: {
            onAccept: (x) => resolve({ status: x.message.statusCode ?? 0 }),
            onReject: (x) => resolve({ status: x.message.statusCode ?? 0, retryAfter: x.message.getHeader('retry-after'), limit: x.message.getHeader('x-herald-limit') }),
          },
        })
        .catch(reject);
    });
    expect(refused.status).to.equal(503);
    expect(Number(refused.retryAfter)).to.be.greaterThan(0);
    expect(refused.limit).to.equal('calls=3');
    expect(hits.filter((h) => h.path === '/voice').length).to.equal(voiceHits);
    for (const h of held) await h.inviter.bye();
    await callsInUseBecomes(0);
  });
});
