/**
 * TwiML text → typed verbs (CONTRACT §5.4). Never throws: a document Herald
 * cannot run is `{ok: false}`, which the caller treats as an application error
 * (the fallback URL, then 480).
 *
 * Decisions:
 *  - The root must be `<Response>`; `<Response/>` is valid and means hang up.
 *  - An unknown verb fails the document (Twilio's 12200), and so does a Twilio
 *    verb Herald does not run (`<Gather>`, `<Record>`, …): skipping it would run
 *    the rest of the document in a way its author did not write.
 *  - A bad attribute value is replaced by its default with a warning, as Twilio
 *    does (13xxx warnings do not stop its calls either).
 *  - Element and attribute names are case-sensitive, as in Twilio's schema.
 */
import {
  AttributeReader,
  DTMF,
  elementChildren,
  ownText,
  textContent,
} from './twiml-attributes.js';
import { readDial } from './twiml-dial.js';
import type { TwimlResult, Verb } from './twiml-types.js';
import { parseXmlDocument, type XmlElement } from './xml-document.js';

/** The webhook client reads at most this many bytes, so a longer document cannot be a real answer. */
export const MAX_TWIML_CHARS = 64 * 1024;
/** Response > Dial > Client > Identity is 4; SSML inside Say may go a few deeper. */
export const MAX_TWIML_DEPTH = 16;

const UNSUPPORTED_VERBS = new Set([
  'Gather',
  'Record',
  'Enqueue',
  'Leave',
  'Connect',
  'Pay',
  'Prompt',
  'Refer',
  'Start',
  'Stop',
  'Sms',
  'Message',
  'Echo',
]);

type Read = { ok: true; value: Verb } | { ok: false; error: string };

export function parseTwiml(xml: string): TwimlResult {
  const doc = parseXmlDocument(xml, { maxChars: MAX_TWIML_CHARS, maxDepth: MAX_TWIML_DEPTH });
  if (!doc.ok) return { ok: false, code: 12100, error: `not well-formed XML: ${doc.error}` };
  const root = doc.root;
  if (root.name !== 'Response')
    return { ok: false, code: 12200, error: `root element is <${root.name}>, not <Response>` };
  if (ownText(root) !== '')
    return { ok: false, code: 12200, error: 'text directly inside <Response>' };
  const attrs = new AttributeReader();
  const verbs: Verb[] = [];
  for (const el of elementChildren(root)) {
    const verb = readVerb(el, attrs);
    if (!verb.ok) return { ok: false, code: 12200, error: verb.error };
    verbs.push(verb.value);
  }
  return { ok: true, verbs, warnings: attrs.warnings };
}

function readVerb(el: XmlElement, attrs: AttributeReader): Read {
  switch (el.name) {
    case 'Dial': {
      const dial = readDial(el, attrs);
      return dial.ok ? { ok: true, value: dial.value } : dial;
    }
    case 'Reject':
      return (
        empty(el) ?? {
          ok: true,
          value: {
            verb: 'Reject',
            reason: attrs.oneOf(el, 'reason', ['busy', 'rejected'] as const, 'rejected'),
          },
        }
      );
    case 'Hangup':
      return empty(el) ?? { ok: true, value: { verb: 'Hangup' } };
    case 'Pause':
      return (
        empty(el) ?? {
          ok: true,
          value: { verb: 'Pause', length: attrs.integer(el, 'length', 1, 1, 3600) },
        }
      );
    case 'Redirect':
      return readRedirect(el, attrs);
    case 'Say':
      return readSay(el, attrs);
    case 'Play':
      return readPlay(el, attrs);
    default:
      return {
        ok: false,
        error: UNSUPPORTED_VERBS.has(el.name)
          ? `<${el.name}> is not supported by Herald`
          : `unknown verb <${el.name}>`,
      };
  }
}

/** An error when a verb that takes no content has some. */
function empty(el: XmlElement): Read | null {
  if (elementChildren(el).length > 0 || ownText(el) !== '')
    return { ok: false, error: `<${el.name}> must be empty` };
  return null;
}

function readRedirect(el: XmlElement, attrs: AttributeReader): Read {
  if (elementChildren(el).length > 0) return { ok: false, error: '<Redirect> holds elements' };
  const url = ownText(el);
  if (url === '') return { ok: false, error: '<Redirect> without a URL' };
  return { ok: true, value: { verb: 'Redirect', url, method: attrs.method(el) } };
}

function readSay(el: XmlElement, attrs: AttributeReader): Read {
  const voice = attrs.string(el, 'voice');
  const language = attrs.string(el, 'language');
  return {
    ok: true,
    value: {
      verb: 'Say',
      text: textContent(el.children),
      ...(voice !== undefined && { voice }),
      ...(language !== undefined && { language }),
      loop: attrs.integer(el, 'loop', 1, 0, 1000),
    },
  };
}

function readPlay(el: XmlElement, attrs: AttributeReader): Read {
  if (elementChildren(el).length > 0) return { ok: false, error: '<Play> holds elements' };
  const url = ownText(el);
  let digits = attrs.string(el, 'digits');
  if (digits !== undefined && !DTMF.test(digits)) {
    attrs.warnings.push(
      `<Play> digits=${JSON.stringify(digits.slice(0, 40))} is not DTMF, ignored`,
    );
    digits = undefined;
  }
  if (url === '' && digits === undefined)
    return { ok: false, error: '<Play> without a URL or digits' };
  return {
    ok: true,
    value: {
      verb: 'Play',
      url,
      loop: attrs.integer(el, 'loop', 1, 0, 1000),
      ...(digits !== undefined && { digits }),
    },
  };
}
