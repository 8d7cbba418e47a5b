/**
 * InstructionsClient.fetchVoice against a real HTTP application (CONTRACT §5.3):
 * Twilio's parameters, POST and GET, X-Twilio-Signature checked with Twilio's
 * `validateRequest`, the fallback on every kind of failure, the reason for the
 * 480 when both fail, and the limits that protect Herald from the webhook.
 */
import { expect } from 'chai';
import twilio from 'twilio';
import { callParameters } from '../../../src/instructions/call-parameters.js';
import {
  InstructionsClient,
  type InstructionsResult,
  type VoiceApplication,
} from '../../../src/instructions/instructions-client.js';
import { AppServer, closedPort } from './app-server.js';
import { RecordingLog } from './recording-log.js';

const TOKEN = '0123456789abcdef0123456789abcdef';
const PARAMS = callParameters({
  callSid: 'CA0123456789abcdef0123456789abcdef',
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  applicationSid: 'AP0123456789abcdef0123456789abcdef',
  caller: { type: 'client', identity: 'alice', params: { ticket: 'T-42', note: 'a & b = c' } },
  to: 'bob',
});

function dialBob(): string {
  const r = new twilio.twiml.VoiceResponse();
  r.dial({ timeout: 15 }).client('bob');
  return r.toString();
}

function sayFallback(): string {
  const r = new twilio.twiml.VoiceResponse();
  r.say('Sorry, try later');
  r.hangup();
  return r.toString();
}

function ok(result: InstructionsResult): Extract<InstructionsResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected instructions, got: ${result.reason}`);
  return result;
}

function failed(result: InstructionsResult): string {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.verbs)}`);
  return result.reason;
}

describe('InstructionsClient.fetchVoice', function () {
  let app: AppServer;
  let client: InstructionsClient;
  let log: RecordingLog;

  beforeEach(async () => {
    app = await AppServer.start(TOKEN);
    log = new RecordingLog();
    client = new InstructionsClient({ userAgent: 'Herald/9.9.9', timeoutMs: 5000, log });
  });

  afterEach(async () => {
    await app.close();
    await client.close();
  });

  const application = (over: Partial<VoiceApplication> = {}): VoiceApplication => ({
    voiceUrl: app.url('/voice'),
    voiceMethod: 'POST',
    voiceFallbackUrl: app.url('/fallback'),
    voiceFallbackMethod: 'POST',
    ...over,
  });

  it('POSTs every parameter form-encoded, signed as Twilio signs, and returns the verbs', async () => {
    app.twiml('/voice', dialBob());
    const result = ok(await client.fetchVoice(application(), PARAMS, TOKEN));
    expect(result.source).to.equal('voiceUrl');
    expect(result.url).to.equal(app.url('/voice'));
    expect(result.verbs).to.deep.equal([
      {
        verb: 'Dial',
        method: 'POST',
        timeout: 15,
        answerOnBridge: false,
        timeLimit: 14400,
        nouns: [{ kind: 'client', identity: 'bob', params: {} }],
      },
    ]);
    const [req] = app.requestsTo('/voice');
    expect(req?.method).to.equal('POST');
    expect(req?.headers['content-type']).to.equal('application/x-www-form-urlencoded');
    expect(req?.headers['user-agent']).to.equal('Herald/9.9.9');
    expect(req?.params).to.deep.equal({ ...PARAMS });
    expect(req?.params).to.include({
      From: 'client:alice',
      Caller: 'client:alice',
      To: 'bob',
      Called: 'bob',
      CallStatus: 'ringing',
      Direction: 'inbound',
      ApiVersion: '2010-04-01',
      ticket: 'T-42',
      note: 'a & b = c',
    });
    expect(req?.signatureValid).to.equal(true);
    expect(app.requestsTo('/fallback')).to.have.length(0);
  });

  it('GETs with the parameters in the query, keeping the URL’s own query, signed over the full URL', async () => {
    app.twiml('/voice', dialBob());
    ok(
      await client.fetchVoice(
        application({ voiceUrl: app.url('/voice?tenant=a%20b'), voiceMethod: 'GET' }),
        PARAMS,
        TOKEN,
      ),
    );
    const [req] = app.requestsTo('/voice');
    expect(req?.method).to.equal('GET');
    expect(req?.body).to.equal('');
    expect(req?.url.startsWith(app.url('/voice?tenant=a%20b&'))).to.equal(true);
    expect(req?.params).to.deep.equal({ tenant: 'a b', ...PARAMS });
    expect(req?.signatureValid).to.equal(true);
  });

  it('the signature fails validation with any other auth token', async () => {
    app.twiml('/voice', dialBob());
    ok(await client.fetchVoice(application(), PARAMS, 'ffffffffffffffffffffffffffffffff'));
    expect(app.requestsTo('/voice')[0]?.signatureValid).to.equal(false);
  });

  it('falls back on HTTP 500, with the same parameters, method and a valid signature', async () => {
    app.on('/voice', (_req, res) => res.writeHead(500).end('boom'));
    app.twiml('/fallback', sayFallback());
    const result = ok(
      await client.fetchVoice(application({ voiceFallbackMethod: 'GET' }), PARAMS, TOKEN),
    );
    expect(result.source).to.equal('voiceFallbackUrl');
    expect(log.reasons('voiceUrl failed')).to.deep.equal(['returned HTTP 500']);
    expect(result.url).to.equal(app.url('/fallback'));
    expect(result.verbs.map((v) => v.verb)).to.deep.equal(['Say', 'Hangup']);
    const [req] = app.requestsTo('/fallback');
    expect(req?.method).to.equal('GET');
    expect(req?.params).to.deep.equal({ ...PARAMS });
    expect(req?.signatureValid).to.equal(true);
  });

  it('falls back when the voiceUrl never answers (total timeout)', async () => {
    const slow = new InstructionsClient({ timeoutMs: 300, log });
    try {
      app.on('/voice', () => {}); // holds the request open until the server closes
      app.twiml('/fallback', sayFallback());
      const result = ok(await slow.fetchVoice(application(), PARAMS, TOKEN));
      expect(result.source).to.equal('voiceFallbackUrl');
      expect(log.reasons('voiceUrl failed')).to.deep.equal(['timed out after 300 ms']);
    } finally {
      await slow.close();
    }
  });

  it('falls back when the voiceUrl body stalls half-way (the deadline covers the body)', async () => {
    const slow = new InstructionsClient({ timeoutMs: 300 });
    try {
      app.on('/voice', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.write('<Response><Dial>'); // and nothing more
      });
      app.on('/fallback', (_req, res) => res.writeHead(503).end());
      expect(failed(await slow.fetchVoice(application(), PARAMS, TOKEN))).to.equal(
        'voiceUrl timed out after 300 ms; voiceFallbackUrl returned HTTP 503',
      );
    } finally {
      await slow.close();
    }
  });

  it('falls back when the connection is refused', async () => {
    app.twiml('/fallback', sayFallback());
    const port = await closedPort();
    const result = ok(
      await client.fetchVoice(
        application({ voiceUrl: `http://127.0.0.1:${port}/voice` }),
        PARAMS,
        TOKEN,
      ),
    );
    expect(result.source).to.equal('voiceFallbackUrl');
    expect(log.reasons('voiceUrl failed')).to.deep.equal(['connection refused']);
  });

  it('falls back when the connect does not complete in connectTimeoutMs', async () => {
    // A resolver that never answers keeps the socket connecting, wherever the test runs.
    const stuck = new InstructionsClient({
      connectTimeoutMs: 200,
      timeoutMs: 20_000,
      lookup: () => {},
    });
    try {
      const reason = failed(
        await stuck.fetchVoice(
          application({ voiceUrl: 'http://voice.invalid/voice', voiceFallbackUrl: undefined }),
          PARAMS,
          TOKEN,
        ),
      );
      expect(reason).to.equal('voiceUrl connect timed out after 200 ms; no voiceFallbackUrl');
    } finally {
      await stuck.close();
    }
  });

  it('falls back on invalid TwiML and on a body that is not XML', async () => {
    app.twiml('/voice', '<Response><Dance/></Response>');
    app.twiml('/fallback', sayFallback());
    expect(ok(await client.fetchVoice(application(), PARAMS, TOKEN)).source).to.equal(
      'voiceFallbackUrl',
    );
    app.on('/voice', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    );
    expect(ok(await client.fetchVoice(application(), PARAMS, TOKEN)).source).to.equal(
      'voiceFallbackUrl',
    );
    expect(log.reasons('voiceUrl failed')).to.deep.equal([
      'returned invalid TwiML (12200): unknown verb <Dance>',
      "returned invalid TwiML (12100): not well-formed XML: char '{' is not expected. (line 1, column 1)",
    ]);
  });

  it('both failing: the reason names both, fit for a SIP Warning', async () => {
    app.on('/voice', (_req, res) => res.writeHead(500).end());
    app.twiml('/fallback', '<Response><Gather/></Response>');
    const reason = failed(await client.fetchVoice(application(), PARAMS, TOKEN));
    expect(reason).to.equal(
      'voiceUrl returned HTTP 500; voiceFallbackUrl returned invalid TwiML (12200): <Gather> is not supported by Herald',
    );
    app.twiml('/fallback', '<Response><Say a="1" a="2">x</Say></Response>');
    const quoted = failed(await client.fetchVoice(application(), PARAMS, TOKEN));
    expect(quoted).to.match(
      /^voiceUrl returned HTTP 500; voiceFallbackUrl returned invalid TwiML \(12100\)/,
    );
    expect(quoted).not.to.match(/["\\\r\n]/);
  });

  it('without a voiceFallbackUrl the reason says so', async () => {
    app.on('/voice', (_req, res) => res.writeHead(404).end());
    expect(
      failed(await client.fetchVoice(application({ voiceFallbackUrl: undefined }), PARAMS, TOKEN)),
    ).to.equal('voiceUrl returned HTTP 404; no voiceFallbackUrl');
  });

  it('refuses a body over the limit, declared or chunked, without buffering it', async () => {
    const big = `<Response>${'<Pause/>'.repeat(10_000)}</Response>`; // 80 KB
    app.on('/voice', (_req, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(big));
    app.on('/fallback', (_req, res) => {
      // No Content-Length: the limit must hold while reading.
      res.writeHead(200, { 'content-type': 'text/xml', 'transfer-encoding': 'chunked' });
      const chunk = '<!--' + 'x'.repeat(4096) + '-->';
      let sent = 0;
      const pump = (): void => {
        while (sent < 200 && res.write(chunk)) sent++;
        if (sent < 200) res.once('drain', pump);
        else res.end('<Response/>');
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    expect(failed(await client.fetchVoice(application(), PARAMS, TOKEN))).to.equal(
      'voiceUrl answered more than 65536 bytes; voiceFallbackUrl answered more than 65536 bytes',
    );
  });

  it('follows a 307 with the same POST, and a 303 as a GET, signing each hop', async () => {
    app.on('/moved', (_req, res) => res.writeHead(307, { location: '/voice' }).end());
    app.on('/see-other', (_req, res) =>
      res.writeHead(303, { location: app.url('/voice2?from=303') }).end(),
    );
    app.twiml('/voice', dialBob());
    app.twiml('/voice2', sayFallback());
    const first = ok(
      await client.fetchVoice(application({ voiceUrl: app.url('/moved') }), PARAMS, TOKEN),
    );
    expect(first.url).to.equal(app.url('/voice'));
    const [post] = app.requestsTo('/voice');
    expect(post).to.include({ method: 'POST', signatureValid: true });
    expect(post?.params).to.deep.equal({ ...PARAMS });
    const second = ok(
      await client.fetchVoice(application({ voiceUrl: app.url('/see-other') }), PARAMS, TOKEN),
    );
    expect(second.url).to.equal(app.url('/voice2?from=303'));
    const [get] = app.requestsTo('/voice2');
    expect(get).to.include({
      method: 'GET',
      signatureValid: true,
      url: app.url('/voice2?from=303'),
    });
  });

  it('stops after maxRedirects', async () => {
    app.on('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
    const reason = failed(
      await client.fetchVoice(
        application({ voiceUrl: app.url('/loop'), voiceFallbackUrl: undefined }),
        PARAMS,
        TOKEN,
      ),
    );
    expect(reason).to.equal('voiceUrl redirected more than 3 times; no voiceFallbackUrl');
    expect(app.requestsTo('/loop')).to.have.length(4);
  });

  it('sends credentials in the URL as Basic auth and signs the URL without them', async () => {
    app.twiml('/voice', dialBob());
    const url = app.url('/voice').replace('http://', 'http://user:p%40ss@');
    const result = ok(await client.fetchVoice(application({ voiceUrl: url }), PARAMS, TOKEN));
    expect(result.url).to.equal(app.url('/voice'));
    const [req] = app.requestsTo('/voice');
    expect(req?.headers.authorization).to.equal(
      `Basic ${Buffer.from('user:p@ss').toString('base64')}`,
    );
    expect(req?.signatureValid).to.equal(true);
  });

  it('keeps working after a webhook answered garbage (connections are not poisoned)', async () => {
    app.on('/voice', (_req, res) => {
      // Promises 5 bytes of body, then closes the connection.
      res.socket?.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
    });
    app.twiml('/fallback', sayFallback());
    const result = ok(await client.fetchVoice(application(), PARAMS, TOKEN));
    expect(result.source).to.equal('voiceFallbackUrl');
    expect(log.reasons('voiceUrl failed')).to.deep.equal([
      'connection closed before the response was complete',
    ]);
    app.twiml('/voice', dialBob());
    expect(ok(await client.fetchVoice(application(), PARAMS, TOKEN)).source).to.equal('voiceUrl');
  });
});
