/** SIP requests and responses (RFC 3261 §7). Bodies are bytes; header values stay raw until asked. */
import { Headers } from './headers.js';

export const SIP_VERSION = 'SIP/2.0';
export const EMPTY_BODY: Buffer = Buffer.alloc(0);

export class SipRequest {
  readonly type = 'request' as const;
  constructor(
    public method: string,
    public uri: string,
    public headers: Headers = new Headers(),
    public body: Buffer = EMPTY_BODY,
    public version: string = SIP_VERSION,
  ) {}
}

export class SipResponse {
  readonly type = 'response' as const;
  constructor(
    public status: number,
    public reason: string,
    public headers: Headers = new Headers(),
    public body: Buffer = EMPTY_BODY,
    public version: string = SIP_VERSION,
  ) {}
}

export type SipMessage = SipRequest | SipResponse;

/** Sets the body and the Content-Length (and Content-Type when given) that describe it. */
export function setBody(msg: SipMessage, body: Buffer | string, contentType?: string): void {
  msg.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (contentType !== undefined) msg.headers.set('Content-Type', contentType);
  else if (msg.body.length === 0) msg.headers.remove('Content-Type');
  msg.headers.set('Content-Length', String(msg.body.length));
}
