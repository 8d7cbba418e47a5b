/**
 * parseTwiml (CONTRACT §5.4). Valid documents are built with Twilio's own
 * `twiml.VoiceResponse`, so Herald reads what real applications write.
 */
import { expect } from 'chai';
import twilio from 'twilio';
import { parseTwiml } from '../../../src/instructions/twiml-parser.js';
import type { DialVerb, TwimlResult, Verb } from '../../../src/instructions/twiml-types.js';

const { VoiceResponse } = twilio.twiml;

function verbsOf(xml: string): readonly Verb[] {
  const result = parseTwiml(xml);
  if (!result.ok) throw new Error(`expected valid TwiML, got ${result.code}: ${result.error}`);
  return result.verbs;
}

function only<T extends Verb>(xml: string): T {
  const verbs = verbsOf(xml);
  expect(verbs).to.have.length(1);
  return verbs[0] as T;
}

function failure(xml: string): Extract<TwimlResult, { ok: false }> {
  const result = parseTwiml(xml);
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.verbs)}`);
  return result;
}

function warningsOf(xml: string): readonly string[] {
  const result = parseTwiml(xml);
  if (!result.ok) throw new Error(result.error);
  return result.warnings;
}

describe('parseTwiml', () => {
  describe('Response', () => {
    it('an empty <Response/> is valid and has no verbs (hang up)', () => {
      expect(verbsOf(new VoiceResponse().toString())).to.deep.equal([]);
      expect(verbsOf('<Response></Response>')).to.deep.equal([]);
    });

    it('keeps document order, ignores whitespace, comments and the XML declaration', () => {
      const r = new VoiceResponse();
      r.say('one');
      r.pause();
      r.hangup();
      const xml = r.toString().replace('<Pause/>', '\n  <!-- wait -->\n  <Pause/>\n');
      expect(verbsOf(xml).map((v) => v.verb)).to.deep.equal(['Say', 'Pause', 'Hangup']);
    });

    it('accepts a byte order mark', () => {
      expect(verbsOf('\uFEFF<Response><Hangup/></Response>')).to.deep.equal([{ verb: 'Hangup' }]);
    });

    it('requires the root to be <Response> (case-sensitive)', () => {
      expect(failure('<response><Hangup/></response>')).to.include({ code: 12200 });
      expect(failure('<Dial>alice</Dial>').error).to.match(/root element is <Dial>/);
    });

    it('rejects text directly inside <Response>', () => {
      expect(failure('<Response>hello<Hangup/></Response>').code).to.equal(12200);
    });
  });

  describe('Dial', () => {
    it('reads every attribute and every noun kind', () => {
      const r = new VoiceResponse();
      const dial = r.dial({
        action: '/after-dial?x=1&y=2',
        method: 'GET',
        timeout: 20,
        callerId: '+15550001111',
        answerOnBridge: true,
        timeLimit: 600,
        record: 'record-from-answer', // not implemented: ignored
      });
      dial.client('alice');
      const bob = dial.client();
      bob.identity('bob');
      bob.parameter({ name: 'ticket', value: '42' });
      bob.parameter({ name: 'lang', value: 'fr & en' });
      dial.sip({ username: 'u', password: 'p w' }, 'sip:carol@acme.sip.localhost');
      dial.number({ sendDigits: 'ww1928#' }, '+1 (555) 123-4567');
      expect(only<DialVerb>(r.toString())).to.deep.equal({
        verb: 'Dial',
        action: '/after-dial?x=1&y=2',
        method: 'GET',
        timeout: 20,
        callerId: '+15550001111',
        answerOnBridge: true,
        timeLimit: 600,
        nouns: [
          { kind: 'client', identity: 'alice', params: {} },
          { kind: 'client', identity: 'bob', params: { ticket: '42', lang: 'fr & en' } },
          { kind: 'sip', uri: 'sip:carol@acme.sip.localhost', username: 'u', password: 'p w' },
          { kind: 'number', number: '+15551234567', sendDigits: 'ww1928#' },
        ],
      });
    });

    it('has Twilio defaults: POST, timeout 30, timeLimit 14400, no answerOnBridge', () => {
      const r = new VoiceResponse();
      r.dial().client('alice');
      expect(only<DialVerb>(r.toString())).to.deep.equal({
        verb: 'Dial',
        method: 'POST',
        timeout: 30,
        answerOnBridge: false,
        timeLimit: 14400,
        nouns: [{ kind: 'client', identity: 'alice', params: {} }],
      });
    });

    it('plain text inside <Dial> is a number', () => {
      const r = new VoiceResponse();
      r.dial('+15550002222');
      expect(only<DialVerb>(r.toString()).nouns).to.deep.equal([
        { kind: 'number', number: '+15550002222' },
      ]);
    });

    it('clamps timeout into 5..600 and timeLimit into 1..86400, with warnings', () => {
      const low = only<DialVerb>(
        '<Response><Dial timeout="1" timeLimit="0">+1555</Dial></Response>',
      );
      expect(low).to.include({ timeout: 5, timeLimit: 1 });
      const high = only<DialVerb>(
        '<Response><Dial timeout="9999" timeLimit="100000"><Client>a</Client></Dial></Response>',
      );
      expect(high).to.include({ timeout: 600, timeLimit: 86400 });
      expect(
        warningsOf('<Response><Dial timeout="9999"><Client>a</Client></Dial></Response>')[0],
      ).to.match(/timeout.*600/);
    });

    it('replaces bad attribute values by defaults with a warning (as Twilio does)', () => {
      const xml =
        '<Response><Dial timeout="soon" method="PUT" answerOnBridge="yes" timeLimit="1.5e3"><Client>a</Client></Dial></Response>';
      expect(only<DialVerb>(xml)).to.include({
        timeout: 30,
        method: 'POST',
        answerOnBridge: false,
        timeLimit: 14400,
      });
      expect(warningsOf(xml)).to.have.length(4);
    });

    it('accepts lower-case method values and fractional numbers (truncated)', () => {
      expect(
        only<DialVerb>(
          '<Response><Dial method="get" timeout="12.9"><Client>a</Client></Dial></Response>',
        ),
      ).to.include({
        method: 'GET',
        timeout: 12,
      });
    });

    it('allows ten nouns and refuses eleven', () => {
      const r = new VoiceResponse();
      const dial = r.dial();
      for (let i = 0; i < 10; i++) dial.client(`c${i}`);
      expect(only<DialVerb>(r.toString()).nouns).to.have.length(10);
      dial.client('c10');
      expect(failure(r.toString()).error).to.match(/11 nouns, at most 10/);
    });

    it('refuses a <Client> without identity, with two identities, or with a bad one', () => {
      expect(failure('<Response><Dial><Client></Client></Dial></Response>').error).to.match(
        /without an identity/,
      );
      expect(
        failure('<Response><Dial><Client>a<Identity>b</Identity></Client></Dial></Response>').code,
      ).to.equal(12200);
      expect(
        failure(
          '<Response><Dial><Client><Identity>a</Identity><Identity>b</Identity></Client></Dial></Response>',
        ).code,
      ).to.equal(12200);
      expect(
        failure('<Response><Dial><Client>two words</Client></Dial></Response>').error,
      ).to.match(/identity/);
      expect(
        failure('<Response><Dial><Client><Parameter value="v"/>a</Client></Dial></Response>').error,
      ).to.match(/Parameter/);
    });

    it('keeps a parameter named __proto__ as a parameter', () => {
      const dial = only<DialVerb>(
        '<Response><Dial><Client><Identity>a</Identity><Parameter name="__proto__" value="x"/></Client></Dial></Response>',
      );
      const noun = dial.nouns[0];
      expect(noun?.kind).to.equal('client');
      if (noun?.kind === 'client') {
        expect(Object.getOwnPropertyDescriptor(noun.params, '__proto__')?.value).to.equal('x');
        expect(Object.getPrototypeOf(noun.params)).to.equal(Object.prototype);
      }
    });

    it('refuses a <Sip> that is not a sip: or sips: URI, and a bad <Number>', () => {
      expect(failure('<Response><Dial><Sip>http://x</Sip></Dial></Response>').error).to.match(
        /not a sip/,
      );
      expect(failure('<Response><Dial><Sip></Sip></Dial></Response>').code).to.equal(12200);
      expect(failure('<Response><Dial><Number>call me</Number></Dial></Response>').error).to.match(
        /not a phone number/,
      );
      expect(failure('<Response><Dial>alice</Dial></Response>').error).to.match(
        /not a phone number/,
      );
    });

    it('accepts sips: URIs', () => {
      const dial = only<DialVerb>(
        '<Response><Dial><Sip>sips:bob@example.com;transport=tls</Sip></Dial></Response>',
      );
      expect(dial.nouns[0]).to.deep.equal({
        kind: 'sip',
        uri: 'sips:bob@example.com;transport=tls',
      });
    });

    it('drops a sendDigits that is not DTMF, with a warning', () => {
      const xml =
        '<Response><Dial><Number sendDigits="12ab">+15550001111</Number></Dial></Response>';
      expect(only<DialVerb>(xml).nouns[0]).to.deep.equal({
        kind: 'number',
        number: '+15550001111',
      });
      expect(warningsOf(xml)[0]).to.match(/sendDigits/);
    });

    it('refuses an empty <Dial>, mixed text and nouns, unknown and unsupported nouns', () => {
      expect(failure('<Response><Dial/></Response>').error).to.match(/nothing to dial/);
      expect(failure('<Response><Dial>+1555<Client>a</Client></Dial></Response>').error).to.match(
        /mixes/,
      );
      expect(failure('<Response><Dial><Phone>+1555</Phone></Dial></Response>').error).to.equal(
        'unknown noun <Phone> in <Dial>',
      );
      const r = new VoiceResponse();
      r.dial().conference('room');
      expect(failure(r.toString()).error).to.equal('<Dial><Conference> is not supported by Herald');
    });
  });

  describe('Reject, Hangup, Redirect, Pause', () => {
    it('Reject: reason busy or rejected (default rejected)', () => {
      const r = new VoiceResponse();
      r.reject({ reason: 'busy' });
      expect(only(r.toString())).to.deep.equal({ verb: 'Reject', reason: 'busy' });
      expect(only('<Response><Reject/></Response>')).to.deep.equal({
        verb: 'Reject',
        reason: 'rejected',
      });
      expect(only('<Response><Reject reason="nope"/></Response>')).to.deep.equal({
        verb: 'Reject',
        reason: 'rejected',
      });
    });

    it('Hangup', () => {
      const r = new VoiceResponse();
      r.hangup();
      expect(only(r.toString())).to.deep.equal({ verb: 'Hangup' });
      expect(failure('<Response><Hangup>now</Hangup></Response>').error).to.match(/must be empty/);
    });

    it('Redirect: URL as written, method default POST', () => {
      const r = new VoiceResponse();
      r.redirect({ method: 'GET' }, '../next?a=1&b=2');
      r.redirect('https://example.com/x');
      expect(verbsOf(r.toString())).to.deep.equal([
        { verb: 'Redirect', url: '../next?a=1&b=2', method: 'GET' },
        { verb: 'Redirect', url: 'https://example.com/x', method: 'POST' },
      ]);
      expect(failure('<Response><Redirect/></Response>').error).to.match(/without a URL/);
    });

    it('Pause: length default 1, clamped to 1..3600', () => {
      const r = new VoiceResponse();
      r.pause({ length: 7 });
      r.pause();
      expect(verbsOf(r.toString())).to.deep.equal([
        { verb: 'Pause', length: 7 },
        { verb: 'Pause', length: 1 },
      ]);
      expect(only('<Response><Pause length="99999"/></Response>')).to.deep.equal({
        verb: 'Pause',
        length: 3600,
      });
    });
  });

  describe('Say and Play (parsed here, played by the media layer)', () => {
    it('Say: text, voice, language, loop', () => {
      const r = new VoiceResponse();
      r.say({ voice: 'Polly.Joanna', language: 'en-US', loop: 2 }, 'Hello & welcome');
      r.say('plain');
      expect(verbsOf(r.toString())).to.deep.equal([
        { verb: 'Say', text: 'Hello & welcome', voice: 'Polly.Joanna', language: 'en-US', loop: 2 },
        { verb: 'Say', text: 'plain', loop: 1 },
      ]);
    });

    it('Say: SSML children are flattened to their text', () => {
      const r = new VoiceResponse();
      const say = r.say('Hello');
      say.break({ time: '1s' });
      say.emphasis('world');
      expect(only(r.toString())).to.deep.equal({ verb: 'Say', text: 'Hello world', loop: 1 });
    });

    it('Play: URL, loop, digits; needs one of URL or digits', () => {
      const r = new VoiceResponse();
      r.play({ loop: 0 }, 'https://example.com/a.wav');
      r.play({ digits: 'ww12#' });
      expect(verbsOf(r.toString())).to.deep.equal([
        { verb: 'Play', url: 'https://example.com/a.wav', loop: 0 },
        { verb: 'Play', url: '', loop: 1, digits: 'ww12#' },
      ]);
      expect(failure('<Response><Play/></Response>').error).to.match(/without a URL or digits/);
    });
  });

  describe('unknown, unsupported and malformed documents are errors, never exceptions', () => {
    it('an unknown verb (12200)', () => {
      expect(failure('<Response><Dance/></Response>')).to.deep.equal({
        ok: false,
        code: 12200,
        error: 'unknown verb <Dance>',
      });
    });

    it('a Twilio verb Herald does not run (12200)', () => {
      const r = new VoiceResponse();
      r.gather().say('press 1');
      expect(failure(r.toString()).error).to.equal('<Gather> is not supported by Herald');
    });

    it('malformed XML (12100)', () => {
      for (const xml of [
        '',
        '   ',
        'hello',
        '<Response>',
        '<Response><Hangup></Response>',
        '<Response><Say a="1" a="2">x</Say></Response>',
        '<Response/><Response/>',
        '<Response/>trailing',
        '<Response><Say>a & b</Say></Response>',
        '<Response><Say>&nbsp;</Say></Response>',
        '<Response><Say>&#0;</Say></Response>',
        '{"verbs": []}',
      ]) {
        expect(failure(xml).code, xml).to.equal(12100);
      }
    });

    it('decodes the predefined entities and character references once', () => {
      expect(
        only('<Response><Say>&lt;&amp;lt;&#65;&#x42;&quot;&apos;</Say></Response>'),
      ).to.include({ text: '<&lt;AB"\'' });
      expect(only('<Response><Say><![CDATA[a &amp; <b>]]></Say></Response>')).to.include({
        text: 'a &amp; <b>',
      });
    });

    it('refuses any DOCTYPE, so no entity can expand', () => {
      const bomb =
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><Response><Say>&lol3;</Say></Response>';
      expect(failure(bomb).error).to.match(/DOCTYPE/);
      expect(failure('<!DOCTYPE Response SYSTEM "file:///etc/passwd"><Response/>').code).to.equal(
        12100,
      );
    });

    it('refuses prototype-polluting names without throwing', () => {
      expect(failure('<Response><__proto__/></Response>').code).to.equal(12100);
      expect(failure('<Response><Say constructor="x">a</Say></Response>').code).to.equal(12100);
    });

    it('refuses deep nesting and huge documents', () => {
      const deep =
        '<Response><Say>' + '<p>'.repeat(40) + 'x' + '</p>'.repeat(40) + '</Say></Response>';
      expect(failure(deep).code).to.equal(12100);
      const huge = '<Response>' + '<Pause/>'.repeat(10_000) + '</Response>';
      expect(failure(huge).error).to.match(/longer than 65536/);
    });
  });
});
