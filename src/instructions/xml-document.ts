/**
 * Untrusted XML text → a small element tree, with fast-xml-parser doing the
 * lexing. Webhook answers come from other people's servers, so:
 *  - no DOCTYPE at all: TwiML never has one, and refusing it removes entity
 *    expansion ("billion laughs") and external entities in one rule;
 *  - the library's own entity processing is off; the five predefined entities
 *    and character references are decoded here, in one pass (decoding twice
 *    would turn `&amp;lt;` into `<`), and any other `&name;` is an error;
 *  - size and nesting depth are capped;
 *  - fast-xml-parser's validator is lenient in two places (several root
 *    elements, text after the root), so those are checked here too.
 * Nothing here throws: the library's exceptions become `{ok: false}`.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlText {
  readonly kind: 'text';
  readonly text: string;
  /** From a CDATA section: taken literally, never trimmed away as layout. */
  readonly cdata: boolean;
}

export interface XmlElement {
  readonly kind: 'element';
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlNode[];
}

export type XmlNode = XmlElement | XmlText;

export interface XmlLimits {
  /** Characters of the whole document. */
  readonly maxChars: number;
  /** Elements nested inside each other, the root included. */
  readonly maxDepth: number;
}

export type XmlResult = { ok: true; root: XmlElement } | { ok: false; error: string };

const ATTRIBUTES = ':@';
const TEXT = '#text';
const CDATA = '#cdata';

/**
 * One parser per depth limit, built once: building the options per document
 * was a third of parsing a tiny TwiML answer. `parse` keeps no state between
 * documents (each call makes its own tree builder), so sharing is safe.
 */
const parsers = new Map<number, XMLParser>();

function parser(maxDepth: number): XMLParser {
  let p = parsers.get(maxDepth);
  if (p === undefined) parsers.set(maxDepth, (p = newParser(maxDepth)));
  return p;
}

function newParser(maxDepth: number): XMLParser {
  return new XMLParser({
    preserveOrder: true, // verbs run in document order
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false, // values stay strings; TwiML attributes are typed by the verb reader
    parseAttributeValue: false,
    trimValues: false,
    cdataPropName: CDATA,
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: maxDepth,
  });
}

export function parseXmlDocument(xml: string, limits: XmlLimits): XmlResult {
  if (xml.length > limits.maxChars)
    return { ok: false, error: `document longer than ${limits.maxChars} characters` };
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml; // byte order mark
  if (/<!DOCTYPE/i.test(text)) return { ok: false, error: 'DOCTYPE is not allowed' };
  try {
    const valid = XMLValidator.validate(text);
    if (valid !== true) {
      return {
        ok: false,
        error: `${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col ?? 1})`,
      };
    }
    if (!text.trimEnd().endsWith('>')) return { ok: false, error: 'text after the root element' };
    const nodes: unknown = parser(limits.maxDepth).parse(text);
    const top = convertChildren(nodes);
    if (!top.ok) return top;
    const elements = top.nodes.filter((n): n is XmlElement => n.kind === 'element');
    if (elements.length !== 1)
      return { ok: false, error: `expected one root element, found ${elements.length}` };
    if (top.nodes.some((n) => n.kind === 'text' && n.text.trim() !== '')) {
      return { ok: false, error: 'text outside the root element' };
    }
    return { ok: true, root: elements[0] as XmlElement };
  } catch (err) {
    // fast-xml-parser throws on names like __proto__ and on nesting beyond maxNestedTags.
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

type Converted = { ok: true; nodes: XmlNode[] } | { ok: false; error: string };

/** fast-xml-parser's preserveOrder shape: `[{name: [children], ':@': {attr: value}}, {'#text': '…'}]`. */
function convertChildren(value: unknown): Converted {
  if (!Array.isArray(value)) return { ok: false, error: 'unexpected parser output' };
  const nodes: XmlNode[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== 'object' || item === null)
      return { ok: false, error: 'unexpected parser output' };
    const node = convertNode(item as Record<string, unknown>);
    if (!node.ok) return node;
    nodes.push(...node.nodes);
  }
  return { ok: true, nodes };
}

function convertNode(item: Record<string, unknown>): Converted {
  const names = Object.keys(item).filter((k) => k !== ATTRIBUTES);
  const name = names[0];
  if (names.length !== 1 || name === undefined)
    return { ok: false, error: 'unexpected parser output' };
  const content = item[name];
  if (name === TEXT) {
    const decoded = decodeEntities(String(content));
    return decoded.ok
      ? { ok: true, nodes: [{ kind: 'text', text: decoded.text, cdata: false }] }
      : decoded;
  }
  if (name === CDATA) {
    // The section's content is one raw text node; entities inside CDATA are literal.
    const inner = Array.isArray(content) ? (content as unknown[]) : [];
    const raw = inner
      .map((c) =>
        typeof c === 'object' && c !== null
          ? String((c as Record<string, unknown>)[TEXT] ?? '')
          : '',
      )
      .join('');
    return { ok: true, nodes: [{ kind: 'text', text: raw, cdata: true }] };
  }
  const attributes = convertAttributes(item[ATTRIBUTES]);
  if (!attributes.ok) return attributes;
  const children = convertChildren(content);
  if (!children.ok) return children;
  return {
    ok: true,
    nodes: [{ kind: 'element', name, attributes: attributes.map, children: children.nodes }],
  };
}

function convertAttributes(
  value: unknown,
): { ok: true; map: Map<string, string> } | { ok: false; error: string } {
  const map = new Map<string, string>();
  if (value === undefined) return { ok: true, map };
  if (typeof value !== 'object' || value === null)
    return { ok: false, error: 'unexpected parser output' };
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const decoded = decodeEntities(String(raw));
    if (!decoded.ok) return decoded;
    map.set(key, decoded.text);
  }
  return { ok: true, map };
}

const PREDEFINED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};
const REFERENCE = /&(?:#x([0-9A-Fa-f]{1,6})|#([0-9]{1,7})|([A-Za-z_][A-Za-z0-9._-]*))?;?/g;

/** Decodes the references of XML 1.0 §4.1 that need no DTD; anything else is an error. */
export function decodeEntities(
  text: string,
): { ok: true; text: string } | { ok: false; error: string } {
  if (!text.includes('&')) return { ok: true, text };
  let error: string | null = null;
  const out = text.replace(
    REFERENCE,
    (match, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
      if (!match.endsWith(';') || (hex === undefined && dec === undefined && name === undefined)) {
        error ??= 'bare "&" (write &amp;)';
        return match;
      }
      if (name !== undefined) {
        const value = Object.hasOwn(PREDEFINED, name) ? PREDEFINED[name] : undefined;
        if (value === undefined) error ??= `undefined entity &${name};`;
        return value ?? match;
      }
      const code = hex !== undefined ? parseInt(hex, 16) : Number(dec);
      if (!isXmlChar(code)) {
        error ??= `character reference ${match} is not an XML character`;
        return match;
      }
      return String.fromCodePoint(code);
    },
  );
  return error === null ? { ok: true, text: out } : { ok: false, error };
}

/** XML 1.0 §2.2 Char. */
function isXmlChar(c: number): boolean {
  return (
    c === 0x9 ||
    c === 0xa ||
    c === 0xd ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}
