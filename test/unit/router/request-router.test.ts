/** The router's checks in RFC 3261 §8.2 order, against a recording transaction (pure logic). */
import { expect } from 'chai';
import { OWN_BRANCH_PREFIX } from '../../../src/sip/ids.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { createResponse } from '../../../src/sip/response.js';
import { RequestRouter } from '../../../src/router/request-router.js';
import { silentLog } from '../../../src/log.js';
import type { ServerTransaction, ServerTransactionState } from '../../../src/transaction/types.js';
import type { Flow } from '../../../src/transport/types.js';

const FLOW: Flow = { id: 'udp:5060:192.0.2.1:5060', protocol: 'udp', local: { address: '127.0.0.1', port: 5060 }, remote: { address: '192.0.2.1', port: 5060 }, reliable: false };

class RecordingTxn implements ServerTransaction {
  readonly id = 'txn';
  readonly flow = FLOW;
  state: ServerTransactionState = 'trying';
  readonly responses: SipResponse[] = [];
  constructor(readonly request: SipRequest) {}
  respond(response: SipResponse): void {
    this.responses.push(response);
    if (response.status >= 200) this.state = 'completed';
  }
  onCancel(): void {}
  onTerminated(): void {}
}

function req(method: string, extra: string[] = [], via = 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1'): SipRequest {
  const text = [`${method} sip:bob@herald.test SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70', 'From: <sip:alice@herald.test>;tag=a', 'To: <sip:bob@herald.test>', 'Call-ID: c1', `CSeq: 1 ${method}`, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.message.type !== 'request') throw new Error(r.ok ? 'not a request' : r.reason);
  return r.message;
}

function route(router: RequestRouter, request: SipRequest): SipResponse {
  const txn = new RecordingTxn(request);
  router.onRequest(request, txn);
  expect(txn.responses, 'one final response').to.have.length(1);
  return txn.responses[0]!;
}

describe('RequestRouter', () => {
  it('answers OPTIONS with 200, Allow, Accept and Supported built from what is registered', () => {
    const router = new RequestRouter(silentLog);
    router.handle('INVITE', () => undefined);
    router.addSupported('path');
    const res = route(router, req('OPTIONS'));
    expect(res.status).to.equal(200);
    expect(res.headers.get('allow')).to.equal('OPTIONS, INVITE, ACK, CANCEL');
    expect(res.headers.get('accept')).to.equal('application/sdp');
    expect(res.headers.get('supported')).to.equal('path');
  });

  it('answers a recognised unsupported method 405 and an unknown one 501, both with Allow (§8.2.1)', () => {
    const router = new RequestRouter(silentLog);
    const known = route(router, req('SUBSCRIBE'));
    expect(known.status).to.equal(405);
    expect(known.headers.get('allow')).to.equal('OPTIONS');
    const unknown = route(router, req('FROB'));
    expect(unknown.status).to.equal(501);
    expect(unknown.headers.get('allow')).to.equal('OPTIONS');
  });

  it('answers 420 listing exactly the unsupported Require tags (§8.2.2.3)', () => {
    const router = new RequestRouter(silentLog);
    router.addSupported('path');
    const res = route(router, req('OPTIONS', ['Require: path, foo', 'Require: bar']));
    expect(res.status).to.equal(420);
    expect(res.headers.get('unsupported')).to.equal('foo, bar');
  });

  it('answers 482 to a new request carrying a branch of this node in a Via (loop, §16.3)', () => {
    const router = new RequestRouter(silentLog);
    const looped = req('OPTIONS', [], `SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-x, SIP/2.0/UDP 127.0.0.1;branch=${OWN_BRANCH_PREFIX}abc`);
    expect(route(router, looped).status).to.equal(482);
    // Another node's branch is not a loop (cluster relays).
    const relayed = req('OPTIONS', [], 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-hrld-OTHER-abc');
    expect(route(router, relayed).status).to.equal(200);
  });

  it('answers 483 when a forwarding handler gets Max-Forwards 0, and runs it otherwise', () => {
    const router = new RequestRouter(silentLog);
    let ran = 0;
    router.handle(
      'MESSAGE',
      (r, txn) => {
        ran++;
        txn.respond(createResponse(r, 202));
      },
      { forwards: true },
    );
    const r0 = req('MESSAGE');
    r0.headers.set('Max-Forwards', '0');
    expect(route(router, r0).status).to.equal(483);
    expect(ran).to.equal(0);
    expect(route(router, req('MESSAGE')).status).to.equal(202);
    expect(ran).to.equal(1);
  });

  it('answers 500 when a handler throws before responding', () => {
    const router = new RequestRouter(silentLog);
    router.handle('INFO', () => {
      throw new Error('boom');
    });
    expect(route(router, req('INFO')).status).to.equal(500);
  });

  it('while draining, answers a new INVITE 503 with Retry-After and lets in-dialog ones through', () => {
    const router = new RequestRouter(silentLog);
    let invites = 0;
    router.handle('INVITE', (r, txn) => {
      invites++;
      txn.respond(createResponse(r, 200));
    });
    router.startDrain();
    const res = route(router, req('INVITE'));
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.match(/^\d+$/);
    const reinvite = req('INVITE');
    reinvite.headers.set('To', '<sip:bob@herald.test>;tag=b');
    expect(route(router, reinvite).status).to.equal(200);
    expect(invites).to.equal(1);
  });
});
