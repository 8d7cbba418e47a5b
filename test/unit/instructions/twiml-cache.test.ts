/**
 * TwimlCache: a document parsed once is answered from memory, with exactly
 * what parseTwiml gives, frozen so that no caller can change it for the next.
 */
import { expect } from 'chai';
import { TwimlCache } from '../../../src/instructions/twiml-cache.js';
import { parseTwiml } from '../../../src/instructions/twiml-parser.js';
import type { DialVerb } from '../../../src/instructions/twiml-types.js';

const DIAL = '<?xml version="1.0" encoding="UTF-8"?><Response><Dial timeout="7"><Client>alice</Client></Dial></Response>';
const WARNED = '<Response><Pause length="nope"/></Response>';

describe('TwimlCache', () => {
  it('answers a document it has seen with the same result parseTwiml gives', () => {
    const cache = new TwimlCache();
    const first = cache.parse(DIAL);
    expect(cache.parse(DIAL)).to.equal(first);
    expect(first).to.deep.equal(parseTwiml(DIAL));
    expect(cache.size).to.equal(1);
  });

  it('keeps warnings and failures as parseTwiml reports them', () => {
    const cache = new TwimlCache();
    expect(cache.parse(WARNED)).to.deep.equal(parseTwiml(WARNED));
    const bad = cache.parse('<Response><Gather/></Response>');
    expect(bad.ok).to.equal(false);
    expect(cache.parse('<Response><Gather/></Response>')).to.equal(bad);
  });

  it('hands out results nobody can change', () => {
    const result = new TwimlCache().parse(DIAL);
    if (!result.ok) throw new Error('expected valid TwiML');
    const dial = result.verbs[0] as DialVerb;
    expect(Object.isFrozen(result.verbs)).to.equal(true);
    expect(() => ((dial as { timeout: number }).timeout = 1)).to.throw(TypeError);
    expect(() => (dial.nouns as unknown[]).push({})).to.throw(TypeError);
    expect(Object.isFrozen(dial.nouns[0])).to.equal(true);
  });

  it('holds at most maxEntries documents, dropping the oldest', () => {
    const cache = new TwimlCache({ maxEntries: 2 });
    const docs = [1, 2, 3].map((n) => `<Response><Pause length="${n}"/></Response>`);
    const first = cache.parse(docs[0] as string);
    cache.parse(docs[1] as string);
    cache.parse(docs[2] as string);
    expect(cache.size).to.equal(2);
    const again = cache.parse(docs[0] as string);
    expect(again).to.not.equal(first);
    expect(again).to.deep.equal(first);
  });

  it('parses a document longer than maxDocumentChars every time, without keeping it', () => {
    const cache = new TwimlCache({ maxDocumentChars: 40 });
    const long = `<Response><Say>${'x'.repeat(64)}</Say></Response>`;
    const a = cache.parse(long);
    const b = cache.parse(long);
    expect(b).to.not.equal(a);
    expect(b).to.deep.equal(a);
    expect(cache.size).to.equal(0);
  });
});
