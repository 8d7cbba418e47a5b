/**
 * A raw SIP subscriber over UDP for presence tests: it sees requests
 * (NOTIFY) and responses from Herald on one socket, answers NOTIFYs, and
 * reads the status Herald writes in its PIDF.
 */
import { expect } from 'chai';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipMessage, SipRequest, SipResponse } from '../../src/sip/message.js';
import { createResponse } from '../../src/sip/response.js';
import { serialize } from '../../src/sip/serializer.js';
import { UdpPeer } from './sip-socket.js';

/** The status a NOTIFY's PIDF carries (the tuple's note Herald writes). */
export const statusOf = (pidf: string): string => /<tuple[^>]*>[\s\S]*?<note>([^<]+)<\/note>/.exec(pidf)?.[1] ?? `(no status in ${pidf})`;

/** Messages from Herald of any kind (requests and responses) on one UDP socket. */
export class UdpSubscriber {
  private constructor(readonly peer: UdpPeer) {}
  static async open(): Promise<UdpSubscriber> {
    return new UdpSubscriber(await UdpPeer.open());
  }
  async next(ms = 5000): Promise<SipMessage | null> {
    const b = await this.peer.next(ms);
    if (b === null) return null;
    const r = parseMessage(b);
    if (!r.ok) throw new Error(`unparsable message from Herald: ${b.toString()}`);
    return r.message;
  }
  /** The next NOTIFY (answered with `status`) and the responses that came before it. */
  async notify(heraldPort: number, status = 200, ms = 5000): Promise<{ notify: SipRequest; responses: SipResponse[] }> {
    const responses: SipResponse[] = [];
    for (;;) {
      const m = await this.next(ms);
      if (m === null) throw new Error(`no NOTIFY within ${ms} ms`);
      if (m.type === 'response') {
        responses.push(m);
        continue;
      }
      expect(m.method).to.equal('NOTIFY');
      this.peer.send(serialize(createResponse(m, status)), heraldPort);
      return { notify: m, responses };
    }
  }
  /** The next response (NOTIFYs before it are answered 200 and returned). */
  async response(heraldPort: number, ms = 5000): Promise<{ response: SipResponse; notifies: SipRequest[] }> {
    const notifies: SipRequest[] = [];
    for (;;) {
      const m = await this.next(ms);
      if (m === null) throw new Error(`no response within ${ms} ms`);
      if (m.type === 'response') return { response: m, notifies };
      this.peer.send(serialize(createResponse(m, 200)), heraldPort);
      notifies.push(m);
    }
  }
  close(): void {
    this.peer.close();
  }
}

