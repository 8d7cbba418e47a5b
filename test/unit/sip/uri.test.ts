/** sip/sips/tel/absolute URIs (RFC 3261 §19.1, §25.1; RFC 3966): parameters, headers, %-escapes, IPv6. */
import { expect } from 'chai';
import {
  decodeUser,
  formatUri,
  parseUri,
  socketHost,
  uriHost,
  type Uri,
} from '../../../src/sip/uri.js';

function ok(text: string): Uri {
  const r = parseUri(text);
  if (!r.ok) throw new Error(`${text} does not parse: ${r.reason}`);
  return r.uri;
}

describe('URIs', () => {
  describe('format(parse(x)) === x for canonical URIs', () => {
    const CANONICAL = [
      'sip:alice@example.com',
      'sips:alice@example.com',
      'sip:example.com',
      'sip:alice@example.com:5061',
      'sip:alice:secret@example.com',
      'sip:alice@192.0.2.10:5060;transport=udp',
      'sip:alice@example.com;transport=tcp;lr;maddr=239.255.255.1;ttl=15',
      'sip:q8ad2b1k@7v0qv3q6jg5n.invalid;transport=ws',
      'sip:+14155550123@gw.example.net;user=phone',
      'sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
      'sip:alice@example.com;x-route=a/b;x-pair=(1)&$2',
      'sip:alice@example.com?subject=project%20x&priority=urgent',
      'sip:alice@example.com;method=REFER?Replaces=abc%40host%3Bto-tag%3D1',
      'sip:user@example.com?Route=%3Csip:example.com%3E',
      'sip:%61lice@example.com',
      'sip:I%20have%20spaces@example.net',
      'sip:user;par=u%40example.net@example.com',
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
      'sip:[2001:db8::10]',
      'sip:alice@[2001:db8::10]:5070;transport=tcp',
      'sips:[::1]:5061',
      'sip:alice@host.example.com.',
      'tel:+1-201-555-0123',
      'tel:7042;phone-context=example.com',
      'tel:+358-555-1234567;postd=pp22;isub=1411',
      'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
      'http://www.example.com/a?b=c',
      'mailto:alice@example.com',
      'isbn:2983792873',
      'soap.beep://192.0.2.103:3002',
    ];
    for (const text of CANONICAL) {
      it(text, () => {
        expect(formatUri(ok(text))).to.equal(text);
      });
    }
  });

  describe('parts of a SIP URI', () => {
    it('URIs without parameters share one map that cannot be changed; a URI with parameters has its own', () => {
      const a = ok('sip:alice@example.com');
      const b = ok('sip:bob@example.net:5070?subject=hi');
      if (a.kind !== 'sip' || b.kind !== 'sip') throw new Error('not sip');
      expect(a.params).to.equal(b.params);
      expect(a.params.size).to.equal(0);
      expect(() => a.params.set('transport', 'tcp')).to.throw(TypeError, /copy it/);
      expect(() => a.params.delete('x')).to.throw(TypeError);
      const copy = new Map(a.params);
      copy.set('transport', 'tcp');
      expect(formatUri({ ...a, params: copy })).to.equal('sip:alice@example.com;transport=tcp');
      const c = ok('sip:carol@example.com;transport=udp');
      if (c.kind !== 'sip') throw new Error('not sip');
      expect(c.params).to.not.equal(a.params);
      expect(a.params.size, 'nothing leaked into the shared map').to.equal(0);
    });

    it('user, password, host, port, parameters and headers', () => {
      expect(ok('sips:alice:pw@[2001:db8::1]:5061;transport=tls;lr?h=v&k=w')).to.deep.equal({
        kind: 'sip',
        scheme: 'sips',
        user: 'alice',
        password: 'pw',
        host: '[2001:db8::1]',
        port: 5061,
        params: new Map([
          ['transport', 'tls'],
          ['lr', null],
        ]),
        headers: 'h=v&k=w',
      });
    });

    it('scheme and parameter names are case-insensitive; host and values are kept', () => {
      const u = ok('SIP:Alice@Example.COM;Transport=TCP');
      expect(u).to.deep.include({ kind: 'sip', scheme: 'sip', user: 'Alice', host: 'Example.COM' });
      expect(u.kind === 'sip' && u.params.get('transport')).to.equal('TCP');
    });

    it('decodeUser unescapes %HH, including NUL and non-UTF-8 octets', () => {
      const user = (text: string): string | null => {
        const u = ok(text);
        return u.kind === 'sip' ? decodeUser(u) : 'not sip';
      };
      expect(user('sip:sips%3Auser%40example.com@example.net')).to.equal('sips:user@example.com');
      expect(user('sip:%61lice@example.com')).to.equal('alice');
      expect(user('sip:null-%00-null@example.com')).to.equal('null-\u0000-null');
      expect(user('sip:caf%C3%A9@example.com')).to.equal('café');
      expect(user('sip:%FF@example.com')).to.equal('\u00ff');
      expect(user('sip:example.com')).to.equal(null);
    });

    it('a URI parameter value is not unescaped (RFC 4475 §3.1.1.3)', () => {
      const u = ok('sip:a@b;name=v%61lue%25%34%31');
      expect(u.kind === 'sip' && u.params.get('name')).to.equal('v%61lue%25%34%31');
    });

    it('tel and absolute URIs', () => {
      expect(ok('tel:+1-201-555-0123;ext=22')).to.deep.equal({
        kind: 'tel',
        scheme: 'tel',
        number: '+1-201-555-0123',
        params: new Map([['ext', '22']]),
      });
      expect(ok('urn:service:sos')).to.deep.equal({
        kind: 'absolute',
        scheme: 'urn',
        opaque: 'service:sos',
      });
    });

    it('socketHost and uriHost convert between bracketed and bare IPv6', () => {
      expect(socketHost('[2001:db8::1]')).to.equal('2001:db8::1');
      expect(socketHost('example.com')).to.equal('example.com');
      expect(uriHost('2001:db8::1')).to.equal('[2001:db8::1]');
      expect(uriHost('[::1]')).to.equal('[::1]');
      expect(uriHost('192.0.2.1')).to.equal('192.0.2.1');
    });
  });

  describe('malformed URIs are refused with a reason', () => {
    const BAD: [string, RegExp][] = [
      ['', /no scheme/],
      ['alice@example.com', /no scheme/],
      [':foo', /no scheme/],
      ['1sip:a@b', /bad URI scheme/],
      ['sip:alice@example.com; lr', /whitespace/],
      ['sip:a\tb@example.com', /whitespace/],
      ['sip:a\u0000@example.com', /control character/],
      ['sip:al ice@example.com', /whitespace/],
      ['sip:al"ice@example.com', /bad user/],
      ['sip:a@b:c@example.com', /bad port/],
      ['sip:alice@', /bad host/],
      ['sip:alice@exa_mple.com', /bad host/],
      ['sip:alice@-example.com', /bad host/],
      ['sip:alice@[2001:db8::1', /unterminated IPv6/],
      ['sip:alice@example.com:', /bad port/],
      ['sip:alice@example.com:65536', /bad port/],
      ['sip:alice@example.com:123456', /bad port/],
      ['sip:alice@example.com;', /parameter/],
      ['sip:alice@example.com;a=', /parameter/],
      ['sip:alice@example.com;lr;lr', /duplicate parameter/],
      ['sip:alice@example.com?a=<b>', /bad URI headers/],
      ['sip:alice@example.com%', /bad host/],
      ['tel:', /bad tel number/],
      ['tel:+1 555', /whitespace/],
      ['tel:abc-xyz', /bad tel number/],
      ['urn:', /empty URI/],
    ];
    for (const [text, reason] of BAD) {
      it(JSON.stringify(text), () => {
        const r = parseUri(text);
        expect(r.ok).to.equal(false);
        if (!r.ok) expect(r.reason).to.match(reason);
      });
    }
  });
});
