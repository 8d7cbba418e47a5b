/**
 * The checks a request must pass before anyone acts on it (RFC 3261 §8.2,
 * §16.3, RFC 4475): mandatory header fields present once and well formed,
 * CSeq method matching the Request-Line, a supported SIP version and URI
 * scheme. The answer names the status to send and a reason phrase that says
 * what is wrong.
 */
import { callIdOf, contactsOf, cseqOf, fromOf, maxForwardsOf, toOf, topViaOf } from './fields.js';
import type { SipRequest, SipResponse } from './message.js';
import { parseUri } from './uri.js';

export type Verdict = { ok: true } | { ok: false; status: number; reason: string };

const RFC1123_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/;

function bad(reason: string): Verdict {
  return { ok: false, status: 400, reason };
}

/** How many fields of each header the checks care about a message has: one pass over the fields. */
interface FieldCounts {
  via: number;
  from: number;
  to: number;
  callId: number;
  cseq: number;
  expires: number;
  date: number;
}

function countFields(msg: SipRequest | SipResponse): FieldCounts {
  const n: FieldCounts = { via: 0, from: 0, to: 0, callId: 0, cseq: 0, expires: 0, date: 0 };
  for (const f of msg.headers.all()) {
    switch (f.key) {
      case 'via':
        n.via++;
        break;
      case 'from':
        n.from++;
        break;
      case 'to':
        n.to++;
        break;
      case 'call-id':
        n.callId++;
        break;
      case 'cseq':
        n.cseq++;
        break;
      case 'expires':
        n.expires++;
        break;
      case 'date':
        n.date++;
        break;
    }
  }
  return n;
}

const SINGLE_FIELDS = [
  ['From', 'from'],
  ['To', 'to'],
  ['Call-ID', 'callId'],
  ['CSeq', 'cseq'],
] as const;

/** Mandatory fields common to requests and responses. */
function checkCommon(msg: SipRequest | SipResponse, n: FieldCounts): string | null {
  if (n.via === 0) return 'Missing Via';
  if (topViaOf(msg) === null) return 'Malformed Via';
  for (const [name, key] of SINGLE_FIELDS) {
    if (n[key] === 0) return `Missing ${name}`;
    if (n[key] > 1) return `Multiple ${name} headers`;
  }
  if (fromOf(msg) === null) return 'Malformed From';
  if (toOf(msg) === null) return 'Malformed To';
  if (callIdOf(msg) === null) return 'Malformed Call-ID';
  if (cseqOf(msg) === null) return 'Malformed CSeq';
  return null;
}

export function validateRequest(req: SipRequest): Verdict {
  if (req.version !== 'SIP/2.0') return { ok: false, status: 505, reason: 'Version Not Supported' };
  const n = countFields(req);
  const common = checkCommon(req, n);
  if (common !== null) return bad(common);
  const cseq = cseqOf(req);
  if (cseq !== null && cseq.method !== req.method) return bad('CSeq method does not match Request-Line');
  if (maxForwardsOf(req) === null) return bad('Malformed Max-Forwards');
  if (n.expires > 1 || (n.expires === 1 && !/^[0-9]+$/.test(req.headers.get('expires') as string))) {
    return bad('Malformed Expires');
  }
  if (n.date > 0 && !RFC1123_DATE.test(req.headers.get('date') as string)) return bad('Malformed Date');
  if (contactsOf(req) === null) return bad('Malformed Contact');
  const uri = parseUri(req.uri);
  if (!uri.ok) return bad(`Malformed Request-URI: ${uri.reason}`);
  if (uri.uri.kind === 'absolute') {
    return { ok: false, status: 416, reason: 'Unsupported URI Scheme' };
  }
  if (uri.uri.kind === 'sip' && uri.uri.headers !== null) return bad('Request-URI must not contain headers');
  return { ok: true };
}

/** Responses that fail this are dropped (§18.1.2: nothing to answer them with). */
export function validateResponse(res: SipResponse): string | null {
  if (res.version !== 'SIP/2.0') return 'unsupported SIP version';
  return checkCommon(res, countFields(res));
}
