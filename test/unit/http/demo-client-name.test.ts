/** `/demo/voice` reads the client to dial from Twilio's `To` in each form a caller may produce (src/http/demo-api.ts). */
import { expect } from 'chai';
import { clientNamedIn } from '../../../src/http/demo-api.js';

describe('demo voice: the client named in To', () => {
  it('reads client:NAME, sip:NAME@host, sips: and a bare NAME', () => {
    expect(clientNamedIn('client:alice')).to.equal('alice');
    expect(clientNamedIn('sip:alice@demo.sip.localhost')).to.equal('alice');
    expect(clientNamedIn('sips:alice@example.com;transport=ws')).to.equal('alice');
    expect(clientNamedIn('alice')).to.equal('alice');
    expect(clientNamedIn(' +15550001111 ')).to.equal('+15550001111');
  });

  it('decodes an escaped user part', () => {
    expect(clientNamedIn('sip:a%2Eb@host')).to.equal('a.b');
  });

  it('refuses what names no client', () => {
    for (const to of ['', 'client:', 'sip:@host', 'sip:host', 'has space', 'sip:%zz@host', 'a<b>', 'x'.repeat(122)]) {
      expect(clientNamedIn(to), to).to.equal(null);
    }
  });
});
