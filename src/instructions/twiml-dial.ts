/**
 * `<Dial>` and its nouns. Structure errors (an unknown noun, a `<Client>`
 * without identity, more than ten nouns) fail the document: Herald cannot
 * guess whom to ring. Bad attribute values only warn (see AttributeReader).
 */
import { parseUri } from '../sip/uri.js';
import { AttributeReader, DTMF, elementChildren, ownText } from './twiml-attributes.js';
import type { ClientNoun, DialNoun, DialVerb, NumberNoun, SipNoun } from './twiml-types.js';
import type { XmlElement } from './xml-document.js';

/** CONTRACT §5.4: up to 10 `<Client>`s rung at once; Twilio caps every noun kind at 10 too. */
export const MAX_DIAL_NOUNS = 10;

/** Nouns Twilio has that Herald does not run: named so the error says "not supported", not "unknown". */
const UNSUPPORTED_NOUNS = new Set(['Conference', 'Queue', 'Sim', 'Application', 'WhatsApp']);

const NUMBER = /^\+?[0-9]{1,20}$/;
const NUMBER_SEPARATORS = /[\s().-]/g;
/** An identity becomes the user part of a SIP AOR and a REST path segment. */
const IDENTITY = /^[^\s\p{Cc}]{1,256}$/u;

type Read<T> = { ok: true; value: T } | { ok: false; error: string };

export function readDial(el: XmlElement, attrs: AttributeReader): Read<DialVerb> {
  const nouns: DialNoun[] = [];
  const children = elementChildren(el);
  const text = ownText(el);
  if (children.length > 0 && text !== '')
    return { ok: false, error: '<Dial> mixes text with nouns' };
  if (children.length === 0) {
    if (text === '') return { ok: false, error: '<Dial> has nothing to dial' };
    const number = readNumberText(text);
    if (!number.ok) return number;
    nouns.push({ kind: 'number', number: number.value });
  }
  for (const child of children) {
    const noun = readNoun(child, attrs);
    if (!noun.ok) return noun;
    nouns.push(noun.value);
  }
  if (nouns.length > MAX_DIAL_NOUNS) {
    return {
      ok: false,
      error: `<Dial> has ${nouns.length} nouns, at most ${MAX_DIAL_NOUNS} are allowed`,
    };
  }
  const action = attrs.string(el, 'action');
  const callerId = attrs.string(el, 'callerId');
  return {
    ok: true,
    value: {
      verb: 'Dial',
      ...(action !== undefined && { action }),
      method: attrs.method(el),
      timeout: attrs.integer(el, 'timeout', 30, 5, 600),
      ...(callerId !== undefined && { callerId }),
      answerOnBridge: attrs.boolean(el, 'answerOnBridge', false),
      timeLimit: attrs.integer(el, 'timeLimit', 14400, 1, 86400),
      nouns,
    },
  };
}

function readNoun(el: XmlElement, attrs: AttributeReader): Read<DialNoun> {
  switch (el.name) {
    case 'Client':
      return readClient(el);
    case 'Sip':
      return readSip(el, attrs);
    case 'Number':
      return readNumber(el, attrs);
    default:
      return {
        ok: false,
        error: UNSUPPORTED_NOUNS.has(el.name)
          ? `<Dial><${el.name}> is not supported by Herald`
          : `unknown noun <${el.name}> in <Dial>`,
      };
  }
}

/** `<Client>alice</Client>` or `<Client><Identity>alice</Identity><Parameter name= value=/></Client>`. */
function readClient(el: XmlElement): Read<ClientNoun> {
  let identity = ownText(el);
  const params: Record<string, string> = {};
  let identityElements = 0;
  for (const child of elementChildren(el)) {
    if (child.name === 'Identity') {
      identityElements++;
      if (identity !== '' || identityElements > 1)
        return { ok: false, error: '<Client> has more than one identity' };
      if (elementChildren(child).length > 0)
        return { ok: false, error: '<Identity> holds elements' };
      identity = ownText(child);
    } else if (child.name === 'Parameter') {
      const name = child.attributes.get('name')?.trim();
      if (!name) return { ok: false, error: '<Parameter> without a name' };
      // defineProperty, not assignment: a parameter named "__proto__" must stay a parameter.
      Object.defineProperty(params, name, {
        value: child.attributes.get('value') ?? '',
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      return { ok: false, error: `unknown element <${child.name}> in <Client>` };
    }
  }
  if (identity === '') return { ok: false, error: '<Client> without an identity' };
  if (!IDENTITY.test(identity))
    return {
      ok: false,
      error: `<Client> identity ${JSON.stringify(identity.slice(0, 40))} is not valid`,
    };
  return { ok: true, value: { kind: 'client', identity, params } };
}

function readSip(el: XmlElement, attrs: AttributeReader): Read<SipNoun> {
  if (elementChildren(el).length > 0) return { ok: false, error: '<Sip> holds elements' };
  const uri = ownText(el);
  const parsed = parseUri(uri);
  if (!parsed.ok || parsed.uri.kind !== 'sip') {
    return {
      ok: false,
      error: `<Sip> ${JSON.stringify(uri.slice(0, 60))} is not a sip: or sips: URI`,
    };
  }
  const username = attrs.string(el, 'username');
  const password = el.attributes.get('password'); // a password is taken as written, spaces and all
  return {
    ok: true,
    value: {
      kind: 'sip',
      uri,
      ...(username !== undefined && { username }),
      ...(password !== undefined && password !== '' && { password }),
    },
  };
}

function readNumber(el: XmlElement, attrs: AttributeReader): Read<NumberNoun> {
  if (elementChildren(el).length > 0) return { ok: false, error: '<Number> holds elements' };
  const number = readNumberText(ownText(el));
  if (!number.ok) return number;
  const sendDigits = attrs.string(el, 'sendDigits');
  if (sendDigits !== undefined && !DTMF.test(sendDigits)) {
    attrs.warnings.push(
      `<Number> sendDigits=${JSON.stringify(sendDigits.slice(0, 40))} is not DTMF, ignored`,
    );
    return { ok: true, value: { kind: 'number', number: number.value } };
  }
  return {
    ok: true,
    value: {
      kind: 'number',
      number: number.value,
      ...(sendDigits !== undefined && { sendDigits }),
    },
  };
}

function readNumberText(text: string): Read<string> {
  const number = text.replace(NUMBER_SEPARATORS, '');
  if (!NUMBER.test(number))
    return { ok: false, error: `${JSON.stringify(text.slice(0, 40))} is not a phone number` };
  return { ok: true, value: number };
}
