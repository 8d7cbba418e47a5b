/**
 * The demo phone's endpoints (CONTRACT §7) against a real `herald serve`
 * (HERALD_MEDIA=off): tokens from `POST /demo/token` register over WS,
 * `/demo/voice` answers `<Dial><Client>` only to requests Herald signed, a
 * SIP.js client calling another through the demo application rings it, and
 * without a `demo` section none of it is served.
 */
import { expect } from 'chai';
import twilio from 'twilio';
import { ACCOUNT, AUTH_TOKEN, accountYaml } from '../helpers/test-account.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { freeTcpPort } from '../helpers/free-port.js';
import { placeCall, type PlacedCall } from '../helpers/sipjs-caller.js';
import { registerPhone, startPhone, type Phone } from '../helpers/sipjs-phone.js';

async function demoToken(base: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/demo/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('demo endpoints: /demo/token, /demo/voice, /demo/clients', function () {
  this.timeout(60_000);
  let herald: HeraldProcess;
  let base: string;
  let ws: string;
  const phones: Phone[] = [];
  const calls: PlacedCall[] = [];

  before(async () => {
    const port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    const config = writeConfig(accountYaml({ voiceUrl: `${base}/demo/voice`, extra: `demo:\n  account: ${ACCOUNT}\n` }));
    herald = await startHerald({ config, env: { HERALD_HTTP: `127.0.0.1:${port}` } });
    ws = `ws://127.0.0.1:${herald.listeners.ws!.port}`;
  });

  afterEach(async () => {
    for (const c of calls.splice(0)) await c.phone.stop();
    for (const p of phones.splice(0)) await p.stop();
  });

  after(async () => {
    await herald?.stop();
  });

  /** Twilio's own helper signs the request as Herald does; the demo application must accept it. */
  async function voice(params: Record<string, string>, signature?: string): Promise<{ status: number; text: string }> {
    const url = `${base}/demo/voice`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature ?? twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params) },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, text: await res.text() };
  }

  it('mints a token that registers over WebSocket and lists the client', async () => {
    const { status, json } = await demoToken(base, { identity: 'alice' });
    expect(status).to.equal(201);
    expect(json.token).to.be.a('string');
    const claims = JSON.parse(Buffer.from((json.token as string).split('.')[1] as string, 'base64url').toString()) as {
      sub: string;
      grants: { identity: string; voice: { incoming: { allow: boolean }; outgoing: { application_sid: string } } };
    };
    expect(claims.sub).to.equal(ACCOUNT);
    expect(claims.grants.identity).to.equal('alice');
    expect(claims.grants.voice.incoming.allow).to.equal(true);
    expect(claims.grants.voice.outgoing.application_sid).to.match(/^AP/);
    const phone = await startPhone({ identity: 'alice', wsUrl: ws, sdpPort: 21000 });
    phones.push(phone);
    expect(await registerPhone(phone, json.token as string)).to.equal(200);
    const clients = (await (await fetch(`${base}/demo/clients`)).json()) as { clients: Array<{ identity: string; status: string }> };
    expect(clients.clients).to.deep.include({ identity: 'alice', status: 'available', devices: 1 });
  });

  it('answers bad token requests with a 400 that names the field', async () => {
    for (const [body, message] of [
      [{}, 'identity: is required'],
      [{ identity: '' }, 'identity: must be 1-121 characters'],
      [{ identity: 'has space' }, 'identity: must be 1-121 characters'],
      [{ identity: 'a', incoming: false }, 'incoming: unknown field'],
      [['alice'], 'body: must be a JSON object'],
    ] as const) {
      const { status, json } = await demoToken(base, body);
      expect(status, JSON.stringify(body)).to.equal(400);
      expect(json.status).to.equal(400);
      expect(json.code).to.equal(20400);
      expect(json.message as string, JSON.stringify(body)).to.contain(message);
    }
  });

  it('answers a signed voice request with <Dial><Client> to the client named in To, in every form', async () => {
    for (const to of ['client:alice', 'sip:alice@demo.sip.localhost', 'alice']) {
      const { status, text } = await voice({ AccountSid: ACCOUNT, CallSid: 'CA1', From: 'client:bob', To: to });
      expect(status, to).to.equal(200);
      expect(text, to).to.contain('<Dial><Client>alice</Client></Dial>');
    }
  });

  it('refuses voice requests without a valid signature, and rejects a To that names no client', async () => {
    const params = { AccountSid: ACCOUNT, CallSid: 'CA1', From: 'client:bob', To: 'alice' };
    expect((await voice(params, 'bm90IGEgc2lnbmF0dXJl')).status).to.equal(403);
    const unsigned = await fetch(`${base}/demo/voice`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
    expect(unsigned.status).to.equal(403);
    const odd = await voice({ ...params, To: 'sip:@nowhere' });
    expect(odd.status).to.equal(200);
    expect(odd.text).to.contain('<Reject');
  });

  it('rings a client called by another through the demo application', async () => {
    const alice = await startPhone({ identity: 'alice', wsUrl: ws, sdpPort: 21002 });
    phones.push(alice);
    expect(await registerPhone(alice, (await demoToken(base, { identity: 'alice' })).json.token as string)).to.equal(200);
    const bobToken = (await demoToken(base, { identity: 'bob' })).json.token as string;
    const ringing = alice.nextCall();
    const placing = placeCall({ wsUrl: ws, identity: 'bob', to: 'alice', token: bobToken, sdpPort: 21004 });
    const incoming = await ringing;
    expect(incoming.invitation.remoteIdentity.uri.user).to.equal('bob');
    await incoming.invitation.accept();
    const call = await placing;
    calls.push(call);
    expect(call.status).to.equal(200);
    await call.inviter.bye();
    await call.terminated;
  });

  it('serves the page and its script', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.contain('text/html');
    const html = await page.text();
    for (const id of ['to', 'call', 'answer', 'hangup', 'state', 'clients']) expect(html).to.contain(`id="${id}"`);
    expect(html).to.contain(`data-ws-port="${herald.listeners.ws!.port}"`);
    const script = await fetch(`${base}/demo/phone.js`);
    expect(script.status).to.equal(200);
    expect(await script.text()).to.contain('heraldDemo');
  });
});

describe('demo endpoints without a demo section', function () {
  this.timeout(30_000);
  let herald: HeraldProcess;

  before(async () => {
    herald = await startHerald({ config: writeConfig(accountYaml({ voiceUrl: 'http://127.0.0.1:9/voice' })) });
  });

  after(async () => {
    await herald?.stop();
  });

  it('serves none of it: 404', async () => {
    const base = `http://127.0.0.1:${herald.listeners.http!.port}`;
    expect((await fetch(`${base}/`)).status).to.equal(404);
    expect((await demoToken(base, { identity: 'alice' })).status).to.equal(404);
    expect((await fetch(`${base}/demo/voice`, { method: 'POST' })).status).to.equal(404);
    expect((await fetch(`${base}/demo/clients`)).status).to.equal(404);
  });
});
