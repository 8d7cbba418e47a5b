/** The signed relay route of cluster routing (src/cluster/relay-route.ts): what it names, and that nothing else passes for it. */
import { expect } from 'chai';
import { readRelayRoute, relayRouteUri } from '../../../src/cluster/relay-route.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const keys = (sid: string) => (sid === ACCOUNT ? '0123456789abcdef0123456789abcdef' : null);
const target = { node: 'node-b', accountSid: ACCOUNT, flowId: 'ws:3f2a:7' };
const address = { protocol: 'udp' as const, host: '10.0.0.2', port: 5070 };

describe('relay route', () => {
  it('is a loose route to the node naming node, account and flow, and reads back to them', () => {
    const uri = relayRouteUri(address, target, keys)!;
    expect(uri).to.match(/^sip:10\.0\.0\.2:5070;transport=udp;lr;herald-relay=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(readRelayRoute(`<${uri}>`, keys)).to.deep.equal({ kind: 'relay', target });
    expect(relayRouteUri({ ...address, host: '2001:db8::2' }, target, keys)).to.match(/^sip:\[2001:db8::2\]:5070;/);
  });

  it('refuses a route whose flow, node or account was changed, or whose signature was made with another key', () => {
    const uri = relayRouteUri(address, target, keys)!;
    const token = /herald-relay=(.*)$/.exec(uri)![1]!.split('.');
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const [i, value] of [[0, b64('node-c')], [2, b64('ws:other:1')], [3, Buffer.alloc(16).toString('base64url')]] as const) {
      const parts = [...token];
      parts[i] = value;
      expect(readRelayRoute(`<sip:10.0.0.2:5070;lr;herald-relay=${parts.join('.')}>`, keys)).to.deep.equal({ kind: 'invalid', reason: 'bad relay signature' });
    }
    const other = [...token];
    other[1] = b64('ACfedcba9876543210fedcba9876543210');
    expect(readRelayRoute(`<sip:10.0.0.2;lr;herald-relay=${other.join('.')}>`, keys)).to.deep.equal({ kind: 'invalid', reason: 'unknown account' });
    expect(readRelayRoute('<sip:10.0.0.2;lr;herald-relay=abc>', keys)).to.deep.equal({ kind: 'invalid', reason: 'malformed relay token' });
  });

  it('is not a relay route without the parameter (a Path or Record-Route of someone else)', () => {
    expect(readRelayRoute('<sip:edge.example;lr>', keys)).to.deep.equal({ kind: 'none' });
    expect(readRelayRoute('not a route', keys)).to.deep.equal({ kind: 'none' });
  });
});
