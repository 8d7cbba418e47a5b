/**
 * The part of a PIDF document (RFC 3863) that sets a presence status, with
 * the RPID activities (RFC 4480) softphones send. The mapping, deliberately
 * small:
 *
 *   basic `closed` (no tuple open)                          → away
 *   basic `open` and a <note> "dnd" / "do not disturb",
 *     or an RPID activity <busy/>                           → dnd
 *   basic `open` and a <note> "away", or activity <away/>   → away
 *   basic `open` otherwise                                  → available
 *
 * Notes are compared trimmed and case-insensitively, wherever they sit
 * (presence, tuple, person); dnd wins over away. Namespace prefixes are
 * ignored (`dm:person`, `rpid:activities` or any other prefix).
 */
import { XMLParser } from 'fast-xml-parser';
import type { ExplicitStatus, PresenceStatus } from './status.js';

export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => ['tuple', 'person', 'note', 'activities'].includes(name),
});

type Node = Record<string, unknown>;
const isNode = (x: unknown): x is Node => typeof x === 'object' && x !== null && !Array.isArray(x);
const nodes = (x: unknown): Node[] => (Array.isArray(x) ? x.filter(isNode) : isNode(x) ? [x] : []);

/** A note's text: a string, or `#text` when the element also had children or attributes. */
function noteText(x: unknown): string | null {
  if (typeof x === 'string') return x;
  if (isNode(x) && typeof x['#text'] === 'string') return x['#text'];
  return null;
}

export type PidfResult = { ok: true; status: ExplicitStatus } | { ok: false; reason: string };

export function statusFromPidf(xml: string): PidfResult {
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    return { ok: false, reason: `malformed XML: ${err instanceof Error ? err.message.split('\n')[0] : 'parse error'}` };
  }
  const presence = isNode(doc) ? doc['presence'] : undefined;
  if (!isNode(presence)) return { ok: false, reason: 'no <presence> element' };
  const tuples = nodes(presence['tuple']);
  const basics = tuples.map((t) => {
    const status = t['status'];
    const basic = isNode(status) ? status['basic'] : undefined;
    return typeof basic === 'string' ? basic.trim().toLowerCase() : null;
  });
  if (!basics.includes('open') && !basics.includes('closed')) return { ok: false, reason: 'no <tuple><status><basic>open|closed' };
  if (!basics.includes('open')) return { ok: true, status: 'away' };

  const persons = nodes(presence['person']);
  const notes = [presence, ...tuples, ...persons]
    .flatMap((n) => (Array.isArray(n['note']) ? (n['note'] as unknown[]) : []))
    .map(noteText)
    .filter((t): t is string => t !== null)
    .map((t) => t.trim().toLowerCase());
  const activities = new Set(persons.flatMap((p) => nodes(p['activities']).flatMap((a) => Object.keys(a))));
  if (notes.includes('dnd') || notes.includes('do not disturb') || activities.has('busy')) return { ok: true, status: 'dnd' };
  if (notes.includes('away') || activities.has('away')) return { ok: true, status: 'away' };
  return { ok: true, status: 'available' };
}

const NOTE: Readonly<Record<PresenceStatus, string>> = {
  available: 'available',
  busy: 'busy',
  away: 'away',
  dnd: 'dnd',
  offline: 'offline',
};

/** RPID activity (RFC 4480) written for a status; none for available/offline. */
const ACTIVITY: Readonly<Record<PresenceStatus, string | null>> = {
  available: null,
  busy: 'on-the-phone',
  away: 'away',
  dnd: 'busy',
  offline: null,
};

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The PIDF document (RFC 3863, RFC 4479 data model, RFC 4480 activities) a
 * NOTIFY carries for an effective status: basic `open` while the client is
 * present, `closed` when offline; the status itself as a note (what
 * softphones display) and as an RPID activity. Read back by
 * `statusFromPidf`, away and dnd come out as they went in.
 */
export function pidfDocument(entity: string, status: PresenceStatus): string {
  const basic = status === 'offline' ? 'closed' : 'open';
  const activity = ACTIVITY[status];
  const person =
    activity === null
      ? `<dm:person id="p"><dm:note>${NOTE[status]}</dm:note></dm:person>`
      : `<dm:person id="p"><rpid:activities><rpid:${activity}/></rpid:activities><dm:note>${NOTE[status]}</dm:note></dm:person>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ` +
    `xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${escapeXml(entity)}">\n` +
    `<tuple id="herald"><status><basic>${basic}</basic></status><note>${NOTE[status]}</note></tuple>\n` +
    `${person}\n</presence>\n`
  );
}
