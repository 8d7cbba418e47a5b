/** Building a response to a request (RFC 3261 §8.2.6). */
import { Headers, type HeaderField } from './headers.js';
import { SipResponse, type SipRequest } from './message.js';
import { randomToken } from './ids.js';
import { parseNameAddr, type NameAddr } from './name-addr.js';

/** Default reason phrases (RFC 3261 §21 and the extensions Herald answers with). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  204: 'No Notification',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  421: 'Extension Required',
  423: 'Interval Too Brief',
  429: 'Too Many Requests',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};

const CONTENT_LENGTH_0: HeaderField = Headers.field('Content-Length', '0');

export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? (status < 200 ? 'Provisional' : status < 300 ? 'OK' : 'Error');
}

/**
 * A response that copies Via, From, To, Call-ID and CSeq from the request, and
 * adds a To tag to non-100 responses when the request had none (§8.2.6.2).
 * Works from a partially parsed request too (the headers are copied raw), so a
 * malformed request can still be answered 400.
 */
export function createResponse(
  request: Pick<SipRequest, 'headers'>,
  status: number,
  reason: string = reasonPhrase(status),
  toTag?: string,
): SipResponse {
  // The copied fields are the request's own (fields are never changed in place, only replaced).
  const fields: HeaderField[] = [];
  for (const f of request.headers.all()) {
    if (f.key === 'via' || f.key === 'from' || f.key === 'call-id' || f.key === 'cseq') fields.push(f);
    else if (f.key === 'to') {
      // The tag is a header parameter: a `tag` URI parameter inside <> or a
      // ";tag=" inside a quoted display name is not one. Validation parsed To
      // already (memoized, one To field); else parse it here.
      const memo = request.headers.memoized('to') as NameAddr | null | undefined;
      const na = memo ? { ok: true as const, value: memo } : parseNameAddr(f.value);
      const hasTag = na.ok ? na.value.params.has('tag') : /;\s*tag\s*=/i.test(f.value);
      fields.push(status > 100 && !hasTag ? { key: f.key, name: f.name, value: `${f.value};tag=${toTag ?? randomToken(10)}` } : f);
    }
  }
  fields.push(CONTENT_LENGTH_0);
  const h = new Headers(fields);
  return new SipResponse(status, reason, h);
}

/**
 * A Warning header value (RFC 3261 §20.43) from Herald: code 399
 * (miscellaneous), agent `herald`, the text made safe for a quoted-string.
 */
export function heraldWarning(text: string): string {
  return `399 herald "${text.replace(/["\\\r\n]/g, ' ').slice(0, 300)}"`;
}
