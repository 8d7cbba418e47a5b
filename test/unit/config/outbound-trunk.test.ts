/** `trunks[].outbound` (README "Configuration"): what it accepts, what it refuses with file, path and reason, and the Request-URI it gives a number. */
import { expect } from 'chai';
import { configFromText, ConfigError } from '../../../src/config/load.js';
import { numberRequestUri, outboundTrunks } from '../../../src/calls/outbound-trunk.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const yaml = (outbound: string) => `accounts:
  - { sid: ${ACCOUNT}, authToken: 0123456789abcdef0123456789abcdef }
trunks:
  - { name: carrier-a, account: ${ACCOUNT}, from: ["192.0.2.0/24"], outbound: ${outbound} }
`;
const load = (text: string) => configFromText('trunks.yaml', text, {});

describe('config: trunks[].outbound', () => {
  it('accepts a carrier URI with optional credentials and callerId', () => {
    const c = load(yaml('{ uri: "sip:carrier.example:5080;transport=tcp", username: acme, password: s3cret, callerId: "+15550000000" }'));
    expect(outboundTrunks(c.settings.trunks).get(ACCOUNT)).to.deep.equal({
      name: 'carrier-a',
      outbound: { uri: 'sip:carrier.example:5080;transport=tcp', username: 'acme', password: 's3cret', callerId: '+15550000000' },
    });
  });

  for (const [outbound, message] of [
    ['{ uri: "sip:+1555@carrier.example" }', /trunks\[0\]\.outbound\.uri: must be a SIP URI without a user part/],
    ['{ uri: "sip:carrier.example;transport=ws" }', /trunks\[0\]\.outbound\.uri: .*transport udp, tcp or tls/],
    ['{ uri: "http://carrier.example" }', /trunks\[0\]\.outbound\.uri/],
    ['{ uri: "sip:carrier.example", username: acme }', /trunks\[0\]\.outbound\.password: username and password go together/],
    ['{ uri: "sip:carrier.example", callerId: "+1 555" }', /trunks\[0\]\.outbound\.callerId/],
  ] as const) {
    it(`refuses ${outbound}`, () => {
      expect(() => load(yaml(outbound))).to.throw(ConfigError, message);
    });
  }

  it('gives a number the trunk URI with the number as user and user=phone, keeping port and transport', () => {
    expect(numberRequestUri('sip:carrier.example:5080;transport=tcp', '+15557654321')).to.equal('sip:+15557654321@carrier.example:5080;transport=tcp;user=phone');
    expect(numberRequestUri('sips:[2001:db8::1]', '15557654321')).to.equal('sips:15557654321@[2001:db8::1];user=phone');
  });
});
