/**
 * What the call engine asks after the first document (CONTRACT §5.6): the
 * `<Dial action>` URL with the dial's outcome, `<Redirect>` URLs resolved
 * against the document that held them, and status callbacks that never block
 * or break a call.
 */
import { expect } from 'chai';
import twilio from 'twilio';
import { callParameters, dialActionParameters } from '../../../src/instructions/call-parameters.js';
import {
  InstructionsClient,
  type InstructionsResult,
  type StatusApplication,
} from '../../../src/instructions/instructions-client.js';
import type { DialVerb, RedirectVerb } from '../../../src/instructions/twiml-types.js';
import { AppServer, closedPort } from './app-server.js';
import { RecordingLog } from './recording-log.js';

const TOKEN = '0123456789abcdef0123456789abcdef';
const PARAMS = callParameters({
  callSid: 'CA0123456789abcdef0123456789abcdef',
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  applicationSid: 'AP0123456789abcdef0123456789abcdef',
  caller: { type: 'address', address: '+15557654321' },
  to: '+15550001111',
});

function ok(result: InstructionsResult): Extract<InstructionsResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected instructions, got: ${result.reason}`);
  return result;
}

describe('InstructionsClient: action, Redirect and statusCallback', function () {
  let app: AppServer;
  let client: InstructionsClient;
  let log: RecordingLog;

  beforeEach(async () => {
    app = await AppServer.start(TOKEN);
    log = new RecordingLog();
    client = new InstructionsClient({ timeoutMs: 5000, log });
  });

  afterEach(async () => {
    await app.close();
    await client.close();
  });

  it('requests a relative Dial action with DialCallStatus, DialCallSid, DialCallDuration; its TwiML continues the call', async () => {
    const first = new twilio.twiml.VoiceResponse();
    first.dial({ action: 'after-dial?attempt=1', method: 'POST' }).client('alice');
    app.twiml('/app/voice', first.toString());
    const next = new twilio.twiml.VoiceResponse();
    next.say('She did not answer');
    next.hangup();
    app.twiml('/app/after-dial', next.toString());

    const doc = ok(
      await client.fetchVoice(
        { voiceUrl: app.url('/app/voice'), voiceMethod: 'POST', voiceFallbackMethod: 'POST' },
        PARAMS,
        TOKEN,
      ),
    );
    const dial = doc.verbs[0] as DialVerb;
    expect(dial.action).to.equal('after-dial?attempt=1');

    const params = dialActionParameters(PARAMS, {
      status: 'no-answer',
      dialCallSid: 'CAffffffffffffffffffffffffffffffff',
      durationSeconds: 0,
    });
    const after = ok(await client.fetchUrl(dial.action ?? '', dial.method, params, TOKEN, doc.url));
    expect(after.source).to.equal('url');
    expect(after.url).to.equal(app.url('/app/after-dial?attempt=1'));
    expect(after.verbs.map((v) => v.verb)).to.deep.equal(['Say', 'Hangup']);
    const [req] = app.requestsTo('/app/after-dial');
    expect(req?.signatureValid).to.equal(true);
    expect(req?.params).to.include({
      DialCallStatus: 'no-answer',
      DialCallSid: 'CAffffffffffffffffffffffffffffffff',
      DialCallDuration: '0',
      CallSid: PARAMS.CallSid,
      From: '+15557654321',
    });
  });

  it('resolves a relative <Redirect> against the URL of the document that held it, with its method', async () => {
    const first = new twilio.twiml.VoiceResponse();
    first.redirect({ method: 'GET' }, '../menu/step2?lang=en');
    app.twiml('/ivr/start/voice', first.toString());
    const second = new twilio.twiml.VoiceResponse();
    second.redirect('/final'); // absolute path: against the origin
    app.twiml('/ivr/menu/step2', second.toString());
    app.twiml('/final', '<Response><Hangup/></Response>');

    const doc = ok(
      await client.fetchVoice(
        { voiceUrl: app.url('/ivr/start/voice'), voiceMethod: 'POST', voiceFallbackMethod: 'POST' },
        PARAMS,
        TOKEN,
      ),
    );
    const r1 = doc.verbs[0] as RedirectVerb;
    const doc2 = ok(await client.fetchUrl(r1.url, r1.method, PARAMS, TOKEN, doc.url));
    const [get] = app.requestsTo('/ivr/menu/step2');
    expect(get).to.include({ method: 'GET', signatureValid: true });
    expect(get?.params).to.include({ lang: 'en', CallSid: PARAMS.CallSid });
    expect(doc2.url).to.equal(app.url('/ivr/menu/step2?lang=en'));

    const r2 = doc2.verbs[0] as RedirectVerb;
    const doc3 = ok(await client.fetchUrl(r2.url, r2.method, PARAMS, TOKEN, doc2.url));
    expect(doc3.verbs).to.deep.equal([{ verb: 'Hangup' }]);
    expect(app.requestsTo('/final')[0]).to.include({ method: 'POST', signatureValid: true });
  });

  it('an action URL that fails is a failure with a reason (no fallback), and a bad URL too', async () => {
    app.on('/broken', (_req, res) => res.writeHead(502).end());
    const res = await client.fetchUrl('/broken?secret=1', 'POST', PARAMS, TOKEN, app.url('/voice'));
    expect(res).to.deep.equal({ ok: false, reason: `${app.url('/broken')} returned HTTP 502` });
    expect(await client.fetchUrl('relative/without/base', 'POST', PARAMS, TOKEN)).to.deep.equal({
      ok: false,
      reason: 'relative/without/base is not a valid http(s) URL',
    });
    expect((await client.fetchUrl('ftp://example.com/x', 'GET', PARAMS, TOKEN)).ok).to.equal(false);
  });

  describe('statusCallback', () => {
    const status = (url: string, method: 'GET' | 'POST' = 'POST'): StatusApplication => ({
      statusCallback: url,
      statusCallbackMethod: method,
    });

    it('sends each event with CallStatus, CallDuration on completed, signed', async () => {
      app.on('/status', (_req, res) => res.writeHead(204).end());
      await client.statusCallback(status(app.url('/status')), 'initiated', PARAMS, TOKEN, {
        sequenceNumber: 0,
      });
      await client.statusCallback(status(app.url('/status')), 'ringing', PARAMS, TOKEN, {
        sequenceNumber: 1,
      });
      await client.statusCallback(status(app.url('/status')), 'answered', PARAMS, TOKEN, {
        sequenceNumber: 2,
      });
      await client.statusCallback(status(app.url('/status'), 'GET'), 'completed', PARAMS, TOKEN, {
        callDuration: 42,
        sequenceNumber: 3,
      });
      const reqs = app.requestsTo('/status');
      expect(reqs.map((r) => r.params.CallStatus)).to.deep.equal([
        'initiated',
        'ringing',
        'in-progress',
        'completed',
      ]);
      expect(reqs.map((r) => r.method)).to.deep.equal(['POST', 'POST', 'POST', 'GET']);
      expect(reqs.every((r) => r.signatureValid)).to.equal(true);
      expect(reqs[3]?.params).to.include({
        CallDuration: '42',
        SequenceNumber: '3',
        CallSid: PARAMS.CallSid,
      });
      expect(reqs[2]?.params).not.to.have.property('CallDuration');
      expect(log.entries).to.deep.equal([]);
    });

    it('does nothing without a statusCallback', async () => {
      await client.statusCallback({ statusCallbackMethod: 'POST' }, 'completed', PARAMS, TOKEN);
      expect(app.received).to.deep.equal([]);
    });

    it('does not block the call while the callback hangs', async () => {
      let answer: (() => void) | undefined;
      app.on('/status', (_req, res) => {
        answer = () => res.writeHead(200).end();
      });
      app.twiml('/voice', '<Response><Hangup/></Response>');
      let settled = false;
      const pending = client
        .statusCallback(status(app.url('/status')), 'ringing', PARAMS, TOKEN)
        .finally(() => {
          settled = true;
        });
      await app.next('/status'); // the callback is in flight, unanswered
      const doc = await client.fetchVoice(
        { voiceUrl: app.url('/voice'), voiceMethod: 'POST', voiceFallbackMethod: 'POST' },
        PARAMS,
        TOKEN,
      );
      expect(doc.ok).to.equal(true);
      expect(settled).to.equal(false);
      answer?.();
      await pending;
      expect(log.entries).to.deep.equal([]);
    });

    it('gives up at its own timeout, resolving, never rejecting', async () => {
      const slowStatus = new InstructionsClient({ statusCallbackTimeoutMs: 300, log });
      try {
        app.on('/status', () => {}); // never answers
        await slowStatus.statusCallback(status(app.url('/status')), 'ringing', PARAMS, TOKEN);
        expect(log.reasons('statusCallback failed')).to.deep.equal(['timed out after 300 ms']);
      } finally {
        await slowStatus.close();
      }
    });

    it('never throws when the application is down or answers an error; logs why', async () => {
      const port = await closedPort();
      await client.statusCallback(
        status(`http://127.0.0.1:${port}/status`),
        'completed',
        PARAMS,
        TOKEN,
        { callDuration: 1 },
      );
      app.on('/status', (_req, res) => res.writeHead(500).end());
      await client.statusCallback(status(app.url('/status')), 'completed', PARAMS, TOKEN);
      expect(log.reasons('statusCallback failed')).to.deep.equal([
        'connection refused',
        'returned HTTP 500',
      ]);
    });

    it('close() waits for callbacks in flight', async () => {
      let answer: (() => void) | undefined;
      app.on('/status', (_req, res) => {
        answer = () => res.writeHead(200).end();
      });
      let finished = false;
      void client.statusCallback(status(app.url('/status')), 'answered', PARAMS, TOKEN).then(() => {
        finished = true;
      });
      await app.next('/status');
      const closing = client.close();
      expect(finished).to.equal(false);
      answer?.();
      await closing;
      expect(finished).to.equal(true);
    });
  });
});
