/** When a leg's transport learns the peer's address from its first packet (src/media/comedia.ts). */
import { expect } from 'chai';
import { needsComedia } from '../../../src/media/comedia.js';

describe('comedia decision', () => {
  it('sends to the advertised address when the SIP came from it, or when it is public', () => {
    expect(needsComedia('127.0.0.1', '127.0.0.1')).to.equal(false);
    expect(needsComedia('192.168.1.20', '192.168.1.20'), 'a LAN phone talking to a LAN Herald').to.equal(false);
    expect(needsComedia('203.0.113.9', '198.51.100.4'), 'a trunk whose media gateway is another host').to.equal(false);
    expect(needsComedia('2001:db8::5', null)).to.equal(false);
  });

  it('learns it when the advertised address is private, shared or link-local and the SIP came from elsewhere (a NAT)', () => {
    for (const ip of ['10.1.2.3', '172.16.0.9', '172.31.255.1', '192.168.0.7', '100.64.1.1', '169.254.3.3', 'fd00::2', 'fe80::1']) {
      expect(needsComedia(ip, '203.0.113.50'), ip).to.equal(true);
    }
    expect(needsComedia('172.32.0.1', '203.0.113.50'), '172.32/16 is public').to.equal(false);
  });

  it('learns it when the address says nothing usable: unspecified, or a host name', () => {
    expect(needsComedia('0.0.0.0', '127.0.0.1')).to.equal(true);
    expect(needsComedia('::', null)).to.equal(true);
    expect(needsComedia('phone.example.com', '203.0.113.50')).to.equal(true);
  });
});
