/** The Via header (RFC 3261 §20.42, §18.2.1; RFC 3581 rport; RFC 5118 IPv6). */
import { expect } from 'chai';
import { formatVia, parseVia, viaBranch, type Via } from '../../../src/sip/via.js';
import { NO_PARAMS } from '../../../src/sip/grammar.js';
import { topViaOf } from '../../../src/sip/fields.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { stampVia } from '../../../src/transport/via-received.js';

function ok(text: string): Via {
  const r = parseVia(text);
  if (!r.ok) throw new Error(`${text} does not parse: ${r.reason}`);
  return r.value;
}

describe('Via', () => {
  it('sent-protocol, sent-by and parameters', () => {
    expect(
      ok(
        'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;received=198.51.100.7;rport=41234;ttl=16;maddr=239.255.255.1',
      ),
    ).to.deep.equal({
      protocol: 'SIP',
      version: '2.0',
      transport: 'UDP',
      host: '192.0.2.1',
      port: 5060,
      params: new Map([
        ['branch', 'z9hG4bK776asdhds'],
        ['received', '198.51.100.7'],
        ['rport', '41234'],
        ['ttl', '16'],
        ['maddr', '239.255.255.1'],
      ]),
    });
  });

  it('transports are upper-cased; unknown ones are kept', () => {
    for (const t of ['udp', 'TCP', 'tls', 'SCTP', 'ws', 'WSS', 'UNKNOWN']) {
      expect(ok(`SIP/2.0/${t} h.example.com`).transport).to.equal(t.toUpperCase());
    }
  });

  it('the common sent-protocols (compared, not matched by the regex) read as their other spellings do', () => {
    for (const t of ['UDP', 'TCP', 'TLS', 'WS', 'WSS']) {
      const common = ok(`SIP/2.0/${t} h.example.com:5070;branch=z9hG4bK-1`);
      expect(common).to.deep.equal(ok(`sip / 2.0 / ${t.toLowerCase()}\t h.example.com:5070;branch=z9hG4bK-1`));
      expect(common).to.deep.include({ protocol: 'SIP', version: '2.0', transport: t, host: 'h.example.com', port: 5070 });
    }
    expect(ok('SIP/2.0/UDPX h').transport, 'a longer transport is not cut to a common one').to.equal('UDPX');
    expect(parseVia('SIP/2.0/UDP ').ok, 'a common sent-protocol still needs a host').to.equal(false);
  });

  it('a parameter without value: rport as a request, and others', () => {
    const v = ok('SIP/2.0/WSS 7v0qv3q6jg5n.invalid;branch=z9hG4bK4827164;rport;alias');
    expect(v.params.get('rport')).to.equal(null);
    expect(v.params.has('rport')).to.equal(true);
    expect(v.params.has('alias')).to.equal(true);
    expect(v.port).to.equal(null);
  });

  it('IPv6 references in sent-by, received and maddr', () => {
    const v = ok(
      'SIP/2.0/TCP [2001:db8::9:1]:5061;branch=z9hG4bKas3;received=[2001:db8::9:255];maddr=[ff02::1]',
    );
    expect(v.host).to.equal('[2001:db8::9:1]');
    expect(v.port).to.equal(5061);
    expect(v.params.get('received')).to.equal('[2001:db8::9:255]');
    expect(v.params.get('maddr')).to.equal('[ff02::1]');
    // RFC 3261's via-received is IPv6address without brackets; both forms are accepted (RFC 5118 §4.5).
    expect(ok('SIP/2.0/UDP [2001:db8::1];received=2001:db8::2').params.get('received')).to.equal(
      '2001:db8::2',
    );
    expect(ok('SIP/2.0/UDP [::1]').host).to.equal('[::1]');
  });

  it('LWS around "/", ":", ";" and "=" (RFC 4475 §3.1.1.1)', () => {
    const v = ok('SIP  /   2.0 /UDP    192.0.2.2 : 5060 ;   branch  =   z9hG4bK9ikj8  ');
    expect(v).to.deep.include({
      protocol: 'SIP',
      version: '2.0',
      transport: 'UDP',
      host: '192.0.2.2',
      port: 5060,
    });
    expect(viaBranch(v)).to.equal('z9hG4bK9ikj8');
  });

  it('viaBranch gives the branch or null', () => {
    expect(viaBranch(ok('SIP/2.0/UDP h;branch=z9hG4bK'))).to.equal('z9hG4bK');
    expect(viaBranch(ok('SIP/2.0/UDP h'))).to.equal(null);
    expect(viaBranch(ok("SIP/2.0/TCP h;branch=z9hG4bK-.!%66*_+`'~"))).to.equal(
      "z9hG4bK-.!%66*_+`'~",
    );
  });

  it('formatVia(parseVia(x)) === x for canonical values', () => {
    for (const text of [
      'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds',
      'SIP/2.0/WSS 7v0qv3q6jg5n.invalid;branch=z9hG4bK4827164;rport',
      'SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;received=[2001:db8::2];rport=5061',
      'SIP/2.0/TLS host.example.com.;branch=z9hG4bKa;alias',
      'SIP/2.0/UDP iftgw.example.com',
    ]) {
      expect(formatVia(ok(text))).to.equal(text);
    }
  });

  describe('malformed values are refused with a reason', () => {
    const BAD: [string, RegExp][] = [
      ['', /sent-protocol/],
      ['SIP/2.0 host', /sent-protocol/],
      ['SIP/2.0/UDP', /sent-protocol/],
      ['SIP/2.0/UDP ', /sent-protocol|sent-by host/],
      ['SIP/2.0/UDP _bad', /sent-by host/],
      ['SIP/2.0/UDP host:', /sent-by port/],
      ['SIP/2.0/UDP host:99999', /sent-by port/],
      ['SIP/2.0/UDP host:abc', /sent-by port/],
      ['SIP/2.0/UDP 192.0.2.15;;', /empty parameter name/],
      ['SIP/2.0/UDP host;branch=', /empty value/],
      ['SIP/2.0/UDP host;branch=a;branch=b', /duplicate parameter/],
      ['SIP/2.0/UDP host junk', /Via parameter/],
      ['SIP/2.0/UDP host;branch="quoted', /unterminated/],
    ];
    for (const [text, reason] of BAD) {
      it(JSON.stringify(text), () => {
        const r = parseVia(text);
        expect(r.ok).to.equal(false);
        if (!r.ok) expect(r.reason).to.match(reason);
      });
    }
  });

  it('a Via without parameters shares the unchangeable empty map, and is still stamped (RFC 2543 sender, §18.2.1)', () => {
    const bare = ok('SIP/2.0/UDP 192.0.2.1:5060');
    expect(bare.params).to.equal(NO_PARAMS);
    const r = parseMessage(
      Buffer.from('OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n'),
    );
    if (!r.ok) throw new Error(r.reason);
    stampVia(r.message, '198.51.100.7', 5099);
    expect(r.message.headers.get('via')).to.equal('SIP/2.0/UDP 192.0.2.1:5060;received=198.51.100.7');
    expect(topViaOf(r.message)?.params.get('received'), 'the stamped Via is what the memo holds').to.equal('198.51.100.7');
    expect(NO_PARAMS.size, 'nothing leaked into the shared map').to.equal(0);
  });
});
