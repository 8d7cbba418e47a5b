/**
 * A transaction's request, which the transaction can let go of while it
 * lives on: Timer J keeps a UDP non-INVITE transaction 32 s, Accepted and
 * Completed keep an INVITE's as long, and at thousands of requests a second
 * their messages would fill the old generation. Once released, only the
 * method and Request-URI stay (copied, so no slice keeps the message text);
 * the TU got the full request and keeps it if it needs it.
 */
import { detach } from '../core/strings.js';
import { SipRequest } from '../sip/message.js';

export class HeldRequest {
  private req: SipRequest | null;
  private method = '';
  private uri = '';

  constructor(request: SipRequest) {
    this.req = request;
  }

  /** The request, or after `release` a stand-in with its method and Request-URI (logs, rare lookups). */
  get(): SipRequest {
    return this.req ?? new SipRequest(this.method, this.uri);
  }

  release(): void {
    const r = this.req;
    if (r === null) return;
    this.method = detach(r.method);
    this.uri = detach(r.uri);
    this.req = null;
  }
}
