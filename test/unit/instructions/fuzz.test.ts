/**
 * parseTwiml never throws: on arbitrary strings, on XML-ish strings built from
 * TwiML's own vocabulary, and on mutated valid documents. Whatever it accepts
 * is well typed (Dial has 1..10 nouns, numbers are in range).
 * FUZZ_RUNS scales the number of runs (default 1 = the numbers below).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import twilio from 'twilio';
import { parseTwiml } from '../../../src/instructions/twiml-parser.js';
import type { TwimlResult } from '../../../src/instructions/twiml-types.js';

const SCALE = Number(process.env.FUZZ_RUNS ?? 1) || 1;
const runs = (n: number): { numRuns: number } => ({ numRuns: Math.max(1, Math.round(n * SCALE)) });

function seeds(): string[] {
  const a = new twilio.twiml.VoiceResponse();
  const dial = a.dial({
    action: '/after?x=1&y=2',
    timeout: 20,
    answerOnBridge: true,
    callerId: '+15550001111',
  });
  dial.client('alice');
  const bob = dial.client();
  bob.identity('bob');
  bob.parameter({ name: 'k', value: 'v & w' });
  dial.sip({ username: 'u', password: 'p' }, 'sip:carol@acme.sip.localhost');
  dial.number({ sendDigits: 'w1#' }, '+15551234567');
  const b = new twilio.twiml.VoiceResponse();
  b.say({ voice: 'alice', loop: 2 }, 'Hello <world> & "friends"');
  b.play({ loop: 3 }, 'https://example.com/a.wav');
  b.pause({ length: 2 });
  b.redirect({ method: 'GET' }, '../next');
  b.reject({ reason: 'busy' });
  b.hangup();
  return [
    a.toString(),
    b.toString(),
    '<Response><Dial>+15550002222</Dial></Response>',
    '<Response/>',
  ];
}

/** The result is a value of the declared shape. */
function checkShape(result: TwimlResult): void {
  if (!result.ok) {
    expect(result.code === 12100 || result.code === 12200).to.equal(true);
    expect(result.error).to.be.a('string');
    return;
  }
  for (const verb of result.verbs) {
    if (verb.verb === 'Dial') {
      expect(verb.nouns.length).to.be.within(1, 10);
      expect(verb.timeout).to.be.within(5, 600);
      expect(verb.timeLimit).to.be.within(1, 86400);
    }
    if (verb.verb === 'Pause') expect(verb.length).to.be.within(1, 3600);
  }
}

const VOCABULARY = [
  '<Response>',
  '</Response>',
  '<Response/>',
  '<Dial>',
  '</Dial>',
  '<Dial timeout="7">',
  '<Client>',
  '</Client>',
  '<Identity>',
  '</Identity>',
  '<Parameter name="a" value="b"/>',
  '<Sip>',
  '</Sip>',
  '<Number>',
  '</Number>',
  '<Say>',
  '</Say>',
  '<Play digits="1"/>',
  '<Pause length="x"/>',
  '<Hangup/>',
  '<Reject reason="busy"/>',
  '<Redirect>',
  '</Redirect>',
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '<?xml version="1.0"?>',
  '<!DOCTYPE x>',
  '&amp;',
  '&lt;',
  '&#65;',
  '&#xD800;',
  '&',
  '<',
  '>',
  '"',
  "'",
  '=',
  ' ',
  '\n',
  'alice',
  '+1555',
  'sip:a@b',
  '__proto__',
  'constructor',
];

describe('parseTwiml fuzz', () => {
  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        (s) => {
          checkShape(parseTwiml(s));
        },
      ),
      runs(2000),
    );
  });

  it('never throws on strings made of TwiML tokens', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...VOCABULARY), { maxLength: 40 }), (parts) => {
        checkShape(parseTwiml(parts.join('')));
      }),
      runs(3000),
    );
  });

  it('never throws on mutated valid documents', () => {
    const docs = seeds();
    for (const doc of docs) expect(parseTwiml(doc).ok, doc).to.equal(true);
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant('delete' as const),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 8 }),
      }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        text: fc.oneof(fc.constantFrom(...VOCABULARY), fc.string({ maxLength: 4 })),
      }),
      fc.record({
        kind: fc.constant('duplicate' as const),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 40 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...docs),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        (doc, mutations) => {
          let s = doc;
          for (const m of mutations) {
            const at = m.at % (s.length + 1);
            if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + m.len);
            else if (m.kind === 'insert') s = s.slice(0, at) + m.text + s.slice(at);
            else s = s.slice(0, at) + s.slice(at, at + m.len) + s.slice(at);
          }
          checkShape(parseTwiml(s));
        },
      ),
      runs(3000),
    );
  });
});
