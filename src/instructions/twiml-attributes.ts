/**
 * Reading TwiML attribute values. Twilio treats a bad attribute value as a
 * warning (its 13xxx codes) and carries on with the default, so these readers
 * do the same: they never fail, they note what they replaced.
 */
import type { XmlElement, XmlNode } from './xml-document.js';
import type { HttpMethod } from './twiml-types.js';

/** DTMF for `sendDigits` and `<Play digits>`: digits, `*`, `#`, `w` (a half-second wait). */
export const DTMF = /^[0-9*#wW]{1,64}$/;

export class AttributeReader {
  readonly warnings: string[] = [];

  /** The trimmed value, or undefined when absent or empty. */
  string(el: XmlElement, name: string): string | undefined {
    const value = el.attributes.get(name)?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** An integer clamped into [min, max]; `fallback` when absent or not a number. */
  integer(el: XmlElement, name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(el, name);
    if (raw === undefined) return fallback;
    // Twilio accepts "30" and "30.0"; fractions are cut, as it does.
    if (!/^[+-]?\d+(\.\d+)?$/.test(raw)) {
      this.warn(el, name, raw, `not a number, using ${fallback}`);
      return fallback;
    }
    const n = Math.trunc(Number(raw));
    if (n < min || n > max) {
      const clamped = Math.min(max, Math.max(min, n));
      this.warn(el, name, raw, `out of range ${min}..${max}, using ${clamped}`);
      return clamped;
    }
    return n;
  }

  boolean(el: XmlElement, name: string, fallback: boolean): boolean {
    const raw = this.string(el, name);
    if (raw === undefined) return fallback;
    const lower = raw.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    this.warn(el, name, raw, `not true or false, using ${fallback}`);
    return fallback;
  }

  method(el: XmlElement, name = 'method'): HttpMethod {
    return this.oneOf(el, name, ['POST', 'GET'] as const, 'POST', (v) => v.toUpperCase());
  }

  oneOf<T extends string>(
    el: XmlElement,
    name: string,
    allowed: readonly T[],
    fallback: T,
    normalize: (v: string) => string = (v) => v.toLowerCase(),
  ): T {
    const raw = this.string(el, name);
    if (raw === undefined) return fallback;
    const value = normalize(raw);
    const found = allowed.find((a) => a === value);
    if (found !== undefined) return found;
    this.warn(el, name, raw, `not one of ${allowed.join(', ')}, using ${fallback}`);
    return fallback;
  }

  private warn(el: XmlElement, name: string, raw: string, what: string): void {
    this.warnings.push(`<${el.name}> ${name}=${JSON.stringify(raw.slice(0, 40))} ${what}`);
  }
}

/** All text of a node and its descendants (SSML inside `<Say>`), whitespace collapsed. */
export function textContent(nodes: readonly XmlNode[]): string {
  const parts: string[] = [];
  const walk = (list: readonly XmlNode[]): void => {
    for (const n of list) {
      if (n.kind === 'text') parts.push(n.text);
      else {
        // An SSML element such as <break/> separates words.
        parts.push(' ');
        walk(n.children);
        parts.push(' ');
      }
    }
  };
  walk(nodes);
  return parts.join('').replace(/\s+/g, ' ').trim();
}

/** Element children only; whitespace between them is layout. */
export function elementChildren(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element');
}

/** Text directly inside `el`, trimmed (for `<Client>alice</Client>`, `<Redirect>url</Redirect>`). */
export function ownText(el: XmlElement): string {
  return el.children
    .filter((c) => c.kind === 'text')
    .map((c) => (c.kind === 'text' ? c.text : ''))
    .join('')
    .trim();
}
