/**
 * The 49 RFC 4475 torture messages: each valid one parses with the meaning
 * the RFC gives it, each invalid one fails parsing or validation with a
 * reason that names the problem, and the outcome table in
 * test/rfc4475-expectations.ts agrees with what the parser, the stream framer
 * and the validator actually do when replayed in the server's order.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import {
  RFC4475_EXPECTATIONS,
  type Rfc4475Expectation,
  type Rfc4475File,
} from '../../rfc4475-expectations.js';
import {
  callIdOf,
  cseqOf,
  fromOf,
  maxForwardsOf,
  tagOf,
  toOf,
  topViaOf,
} from '../../../src/sip/fields.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseNameAddr, type NameAddr } from '../../../src/sip/name-addr.js';
import { parseMessage, type ParseResult } from '../../../src/sip/parser.js';
import { StreamFramer } from '../../../src/sip/stream-framer.js';
import { decodeUser, parseUri, type SipUri, type Uri } from '../../../src/sip/uri.js';
import { validateRequest, validateResponse } from '../../../src/sip/validate.js';
import { parseVia, viaBranch, type Via } from '../../../src/sip/via.js';
import { KNOWN_METHODS } from '../../../src/sip/methods.js';

const DIR = new URL('../../fixtures/rfc4475/', import.meta.url);
const FILES = Object.keys(RFC4475_EXPECTATIONS) as Rfc4475File[];

function load(file: Rfc4475File): Buffer {
  return readFileSync(new URL(file, DIR));
}

function parsed(file: Rfc4475File): SipMessage {
  const r = parseMessage(load(file));
  if (!r.ok) throw new Error(`${file} does not parse: ${r.reason}`);
  return r.message;
}

function request(file: Rfc4475File): SipRequest {
  const m = parsed(file);
  if (m.type !== 'request') throw new Error(`${file} is not a request`);
  return m;
}

function response(file: Rfc4475File): SipResponse {
  const m = parsed(file);
  if (m.type !== 'response') throw new Error(`${file} is not a response`);
  return m;
}

function sipUri(u: Uri): SipUri {
  if (u.kind !== 'sip') throw new Error(`not a SIP URI: ${u.kind}`);
  return u;
}

function uriOf(text: string): Uri {
  const r = parseUri(text);
  if (!r.ok) throw new Error(`URI ${text} does not parse: ${r.reason}`);
  return r.uri;
}

function nameAddr(value: string): NameAddr {
  const r = parseNameAddr(value);
  if (!r.ok) throw new Error(`${value} does not parse: ${r.reason}`);
  return r.value;
}

function via(value: string): Via {
  const r = parseVia(value);
  if (!r.ok) throw new Error(`${value} does not parse: ${r.reason}`);
  return r.value;
}

function must<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new Error(`${what} is missing`);
  return v;
}

// --- The server's order of checks, replayed on the bytes ----------------------

interface Decision {
  answer: number | 'drop';
  stage: Rfc4475Expectation['stage'];
  reason: string | null;
  unsupported?: string[];
}

/** What the server does with one parsed (or failed) message; null when it cannot answer at all (no Via). */
function decide(r: ParseResult): Decision | null {
  if (!r.ok) {
    if (r.partial?.type === 'response')
      return { answer: 'drop', stage: 'response', reason: r.reason };
    if (r.partial?.type === 'request' && r.partial.headers.has('via'))
      return { answer: 400, stage: 'parse', reason: r.reason };
    return null;
  }
  const m = r.message;
  if (m.type === 'response')
    return { answer: 'drop', stage: 'response', reason: validateResponse(m) };
  const v = validateRequest(m);
  if (!v.ok) return { answer: v.status, stage: 'validate', reason: v.reason };
  if (!HANDLED.has(m.method)) {
    // Another recognised method is 405, an unknown one 501 (RFC 3261 §8.2.1, §21.5.2).
    return { answer: KNOWN_METHODS.has(m.method) ? 405 : 501, stage: 'method', reason: null };
  }
  const required = m.headers.list('require') ?? [];
  if (required.length > 0)
    return { answer: 420, stage: 'require', reason: null, unsupported: required };
  if (m.method === 'REGISTER') {
    // The registrar: the AOR must be sip:identity@host (else 404); no credentials → 401.
    const to = toOf(m)?.uri;
    if (to === undefined || to.kind !== 'sip' || to.user === null) return { answer: 404, stage: 'register', reason: null };
    return { answer: 401, stage: 'register', reason: null };
  }
  if (m.method === 'INVITE') {
    // The call engine: a To tag names a dialog Herald does not have (481); otherwise who is calling? No credentials, no trunk: 401.
    return { answer: tagOf(toOf(m)) !== null ? 481 : 401, stage: 'invite', reason: null };
  }
  return { answer: 200, stage: 'options', reason: null };
}

/** Methods the server handles (src/server.ts); ACK and CANCEL come with INVITE. */
const HANDLED = new Set(['OPTIONS', 'REGISTER', 'PUBLISH', 'SUBSCRIBE', 'INVITE', 'BYE', 'UPDATE', 'INFO', 'ACK', 'CANCEL']);

function answersOverDatagram(bytes: Buffer): Decision[] {
  const d = decide(parseMessage(bytes));
  return d === null ? [] : [d];
}

/** Statuses sent when the bytes arrive on a stream; a framing error is answered and closes the flow. */
function answersOverStream(bytes: Buffer): number[] {
  const framer = new StreamFramer(65535);
  const out: number[] = [];
  for (const e of framer.push(bytes)) {
    if (e.kind === 'error') {
      out.push(e.status);
      break;
    }
    if (e.kind !== 'message') continue;
    const d = decide(parseMessage(e.bytes, { stream: true }));
    if (d !== null && d.answer !== 'drop') out.push(d.answer);
  }
  return out;
}

describe('RFC 4475 torture messages', () => {
  describe('the expectation table', () => {
    it('has exactly one entry per fixture file', () => {
      const onDisk = readdirSync(DIR)
        .filter((f) => f.endsWith('.dat'))
        .sort();
      expect(onDisk).to.have.length(49);
      expect([...FILES].sort()).to.deep.equal(onDisk);
    });

    it('cites each section once, with the RFC’s counts per group', () => {
      const sections = FILES.map((f) => RFC4475_EXPECTATIONS[f].section);
      expect(new Set(sections).size).to.equal(49);
      expect(sections.filter((s) => s.startsWith('3.1.1.'))).to.have.length(13);
      expect(sections.filter((s) => s.startsWith('3.1.2.'))).to.have.length(19);
      expect(sections.filter((s) => s.startsWith('3.2.'))).to.have.length(1);
      expect(sections.filter((s) => s.startsWith('3.3.'))).to.have.length(15);
      expect(sections.filter((s) => s.startsWith('3.4.'))).to.have.length(1);
      for (const f of FILES) {
        const e = RFC4475_EXPECTATIONS[f];
        if (e.section.startsWith('3.1.1.')) expect(e.valid, f).to.equal(true);
        if (e.section.startsWith('3.1.2.')) expect(e.valid, f).to.equal(false);
        expect(e.why.length, f).to.be.greaterThan(20);
        expect(e.expect === 'drop', f).to.equal(e.kind === 'response');
      }
    });

    for (const file of FILES) {
      const e = RFC4475_EXPECTATIONS[file];
      it(`${file} (§${e.section}): ${e.expect === 'drop' ? 'dropped' : e.expect} as the table says`, () => {
        const bytes = load(file);
        const [d, ...more] = answersOverDatagram(bytes);
        expect(more).to.have.length(0);
        const decision = must(d, 'a decision');
        expect(decision.answer, 'datagram answer').to.equal(e.expect);
        expect(decision.stage, 'deciding stage').to.equal(e.stage);
        if (e.reason !== undefined)
          expect(must(decision.reason, 'a failure reason')).to.match(e.reason);
        if (e.unsupported !== undefined) expect(decision.unsupported).to.deep.equal(e.unsupported);
        // Over a stream: the table's list where it has one, otherwise the datagram outcome.
        const sameAsDatagram = e.expect === 'drop' ? [] : [e.expect];
        expect(answersOverStream(bytes), 'stream answers').to.deep.equal(
          e.overStream ?? sameAsDatagram,
        );
        // Valid requests pass validation; invalid ones fail parsing or validation.
        const r = parseMessage(bytes);
        const failed =
          !r.ok ||
          (r.message.type === 'request'
            ? !validateRequest(r.message).ok
            : validateResponse(r.message) !== null);
        if (e.valid && e.kind === 'response')
          expect(failed, 'a valid response fails').to.equal(false);
        if (!e.valid) expect(failed, 'an invalid message passes').to.equal(true);
        expect(r.ok ? r.message.type : r.partial?.type).to.equal(e.kind);
      });
    }
  });

  describe('valid messages (§3.1.1) parse with the meaning the RFC gives them', () => {
    it('wsinv: a short tortuous INVITE', () => {
      const m = request('wsinv.dat');
      expect(m.method).to.equal('INVITE');
      expect(m.version).to.equal('SIP/2.0');
      expect(m.uri).to.equal('sip:vivekg@chair-dnrc.example.com;unknownparam');
      const ruri = sipUri(uriOf(m.uri));
      expect([...ruri.params]).to.deep.equal([['unknownparam', null]]);

      const top = must(topViaOf(m), 'top Via');
      expect(top).to.include({
        protocol: 'SIP',
        version: '2.0',
        transport: 'UDP',
        host: '192.0.2.2',
        port: null,
      });
      expect(viaBranch(top)).to.equal('390skdjuw');
      const vias = must(m.headers.list('via'), 'Via list').map(via);
      expect(vias.map((v) => [v.transport, v.host, viaBranch(v)])).to.deep.equal([
        ['UDP', '192.0.2.2', '390skdjuw'],
        ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['UDP', '192.168.255.111', 'z9hG4bK30239'],
      ]);

      const to = must(toOf(m), 'To');
      expect(to.displayName).to.equal(null);
      expect(sipUri(to.uri).user).to.equal('vivekg');
      expect(to.params.get('tag')).to.equal('1918181833n');
      const from = must(fromOf(m), 'From');
      expect(from.displayName).to.equal('J Rosenberg \\"');
      expect(from.params.get('tag')).to.equal('98asjd8');
      expect(sipUri(from.uri).user).to.equal('jdrosen');

      expect(maxForwardsOf(m)).to.equal(68);
      expect(cseqOf(m)).to.deep.equal({ seq: 9, method: 'INVITE' });
      expect(callIdOf(m)).to.equal('wsinv.ndaksdj@192.0.2.1');
      expect(m.headers.get('subject')).to.equal('');
      expect(m.headers.get('NewFangledHeader')).to.equal(
        'newfangled value continued newfangled value',
      );
      expect(m.headers.get('UnknownHeaderWithUnusualValue')).to.equal(';;,,;;,;');
      expect(m.headers.get('content-length')).to.equal('150');
      expect(m.body.length).to.equal(150);
      expect(m.body.subarray(0, 5).toString('latin1')).to.equal('v=0\r\n');

      const route = must(m.headers.list('route'), 'Route');
      expect(route).to.have.length(1);
      const routeUri = sipUri(nameAddr(route[0] as string).uri);
      expect([...routeUri.params]).to.deep.equal([
        ['lr', null],
        ['unknownwith', 'value'],
        ['unknown-no-value', null],
      ]);

      const contacts = must(m.headers.list('contact'), 'Contact');
      expect(contacts).to.have.length(1);
      const contact = nameAddr(contacts[0] as string);
      expect(contact.displayName).to.equal('Quoted string ""');
      expect([...contact.params]).to.deep.equal([
        ['newparam', 'newvalue'],
        ['secondparam', null],
        ['q', '0.33'],
      ]);
      expect(validateRequest(m)).to.deep.equal({ ok: true });
    });

    it('intmeth: the odd method, Request-URI and token characters', () => {
      const m = request('intmeth.dat');
      const method = "!interesting-Method0123456789_*+`.%indeed'~";
      expect(m.method).to.equal(method);
      expect(cseqOf(m)).to.deep.equal({ seq: 139122385, method });
      const ruri = sipUri(uriOf(m.uri));
      expect(ruri.user).to.equal("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
      expect(ruri.password).to.equal("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
      expect(ruri.host).to.equal('example.com');
      expect(viaBranch(must(topViaOf(m), 'Via'))).to.equal("z9hG4bK-.!%66*_+`'~");
      const to = must(toOf(m), 'To');
      expect(to.displayName).to.equal('BEL:\x07 NUL:\x00 DEL:\x7f');
      expect(sipUri(to.uri).user).to.equal("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
      const from = must(fromOf(m), 'From');
      expect(from.displayName).to.equal("token1~` token2'+_ token3*%!.-");
      expect(from.params.get("fromparam''~+*_!.-%")).to.equal('"работающий"');
      expect(from.params.get('tag')).to.equal("_token~1'+`*%!-.");
      expect(callIdOf(m)).to.equal('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
      expect(maxForwardsOf(m)).to.equal(255);
      const ext = must(m.headers.get("extensionHeader-!.%*+_`'~"), 'extension header');
      expect(Buffer.from(ext, 'utf8').toString('hex')).to.equal('efbbbfe5a4a7e5819ce99bbb');
      expect(validateRequest(m)).to.deep.equal({ ok: true });
    });

    it('esc01: %-escapes decode in URI user parts, not elsewhere', () => {
      const m = request('esc01.dat');
      const ruri = sipUri(uriOf(m.uri));
      expect(ruri.user).to.equal('sips%3Auser%40example.com');
      expect(decodeUser(ruri)).to.equal('sips:user@example.com');
      expect(ruri.host).to.equal('example.net');
      expect(decodeUser(sipUri(must(toOf(m), 'To').uri))).to.equal('user');
      expect(decodeUser(sipUri(must(fromOf(m), 'From').uri))).to.equal('I have spaces');
      const contact = nameAddr(must(m.headers.list('contact'), 'Contact')[0] as string);
      const cu = sipUri(contact.uri);
      expect(decodeUser(cu)).to.equal('caller');
      // "value%41" is NOT "valueA": parameters stay as written.
      expect(cu.params.get('n%61me')).to.equal('v%61lue%25%34%31');
      expect(cu.params.has('%6c%72')).to.equal(true);
      expect(m.headers.get('content-type')).to.equal('application/sdp');
      expect(m.body.length).to.equal(150);
    });

    it('escnull: user parts with %00 are kept whole', () => {
      const m = request('escnull.dat');
      const to = sipUri(must(toOf(m), 'To').uri);
      expect(to.user).to.equal('null-%00-null');
      expect(decodeUser(to)).to.equal('null-\u0000-null');
      const contacts = must(m.headers.list('contact'), 'Contact').map((c) =>
        sipUri(nameAddr(c).uri),
      );
      expect(contacts.map((u) => u.user)).to.deep.equal(['%00', '%00%00']);
      expect(contacts.map((u) => decodeUser(u))).to.deep.equal(['\u0000', '\u0000\u0000']);
      expect(validateRequest(m)).to.deep.equal({ ok: true });
    });

    it('esc02: % is not an escape in a method, a display name or a header name', () => {
      const m = request('esc02.dat');
      expect(m.method).to.equal('RE%47IST%45R');
      expect(m.method).not.to.equal('REGISTER');
      expect(must(toOf(m), 'To').displayName).to.equal('%Z%45');
      expect(must(fromOf(m), 'From').displayName).to.equal('%Z%45');
      const contacts = must(m.headers.list('contact'), 'Contact').map(
        (c) => sipUri(nameAddr(c).uri).user,
      );
      expect(contacts).to.deep.equal(['alias1', 'alias3']);
      expect(m.headers.get('C%6Fntact')).to.equal('<sip:alias2@host2.example.com>');
      expect(viaBranch(must(topViaOf(m), 'Via'))).to.equal('z9hG4bK209%fzsnel234');
      expect(validateRequest(m)).to.deep.equal({ ok: true });
    });

    it('lwsdisp: a token display name directly followed by <', () => {
      const m = request('lwsdisp.dat');
      const from = must(fromOf(m), 'From');
      expect(from.displayName).to.equal('caller');
      expect(sipUri(from.uri).user).to.equal('caller');
      expect(from.params.get('tag')).to.equal('323');
    });

    it('longreq: long values intact and 34 Vias under every spelling of the name', () => {
      const m = request('longreq.dat');
      const to = must(toOf(m), 'To');
      expect(to.displayName).to.equal(
        'I have a user name of ' + 'extreme'.repeat(10) + ' proportion',
      );
      const tu = sipUri(to.uri);
      expect(tu.port).to.equal(6000);
      expect(tu.params.get('unknownparam1')).to.equal('very' + 'long'.repeat(20) + 'value');
      expect(tu.params.get('longparam' + 'name'.repeat(25))).to.equal('shortvalue');
      expect(
        tu.params.get(('very' + 'long'.repeat(25) + 'ParameterNameWithNoValue').toLowerCase()),
      ).to.equal(null);
      const from = must(fromOf(m), 'From');
      expect(from.params.get('tag')).to.equal('12' + '982'.repeat(50) + '424');
      expect(from.params.get('unknownheaderparam' + 'name'.repeat(20))).to.equal(
        'unknowheaderparam' + 'value'.repeat(15),
      );
      expect(from.params.has('unknownvaluelessparamname' + 'paramname'.repeat(9))).to.equal(true);
      expect(callIdOf(m)).to.equal('longreq.one' + 'really'.repeat(20) + 'longcallid');
      expect(m.headers.get('Unknown-' + 'Long'.repeat(20) + '-Name')).to.equal(
        'unknown-' +
          'long'.repeat(20) +
          '-value; unknown-' +
          'long'.repeat(20) +
          '-parameter-name = unknown-' +
          'long'.repeat(20) +
          '-parameter-value',
      );
      const vias = must(m.headers.list('via'), 'Via').map(via);
      expect(vias).to.have.length(34);
      expect(vias.slice(0, 33).map((v) => v.host)).to.deep.equal(
        Array.from({ length: 33 }, (_, i) => `sip${33 - i}.example.com`),
      );
      const last = vias[33] as Via;
      expect(last.host).to.equal('host.example.com');
      expect(last.params.get('received')).to.equal('192.0.2.5');
      expect(viaBranch(last)).to.equal('very' + 'long'.repeat(50) + 'branchvalue');
      expect(m.body.length).to.equal(150);
      expect(validateRequest(m)).to.deep.equal({ ok: true });
    });

    it('dblreq: in a datagram the INVITE after Content-Length is not part of the message', () => {
      const m = request('dblreq.dat');
      expect(m.method).to.equal('REGISTER');
      expect(m.body.length).to.equal(0);
      expect(callIdOf(m)).to.equal('dblreq.0ha0isndaksdj99sdfafnl3lk233412');
      expect(m.headers.size).to.equal(8);
      expect(m.headers.has('content-type')).to.equal(false);
      expect(m.headers.count('via')).to.equal(1);
      expect(cseqOf(m)).to.deep.equal({ seq: 8, method: 'REGISTER' });
    });

    it('dblreq: on a stream the same bytes are two requests', () => {
      const frames = new StreamFramer(65535).push(load('dblreq.dat'));
      const messages = frames.map((e) =>
        e.kind === 'message' ? parseMessage(e.bytes, { stream: true }) : null,
      );
      expect(frames.map((e) => e.kind)).to.deep.equal(['message', 'message', 'message']);
      const [first, second, third] = messages;
      expect(first?.ok && first.message.type === 'request' && first.message.method).to.equal(
        'REGISTER',
      );
      if (!second?.ok) throw new Error('the INVITE does not parse');
      expect(second.message.type === 'request' && second.message.method).to.equal('INVITE');
      expect(callIdOf(second.message)).to.equal('dblreq.0ha0isnda977644900765@192.0.2.15');
      expect(second.message.body.length).to.equal(150);
      // The INVITE's body is longer than its Content-Length: the rest cannot be answered.
      expect(third?.ok).to.equal(false);
      expect(third?.ok === false && third.partial?.headers.has('via')).to.equal(false);
    });

    it('semiuri: a ";" inside the user part', () => {
      const m = request('semiuri.dat');
      const u = sipUri(uriOf(m.uri));
      expect(u.user).to.equal('user;par=u%40example.net');
      expect(decodeUser(u)).to.equal('user;par=u@example.net');
      expect(u.host).to.equal('example.com');
      expect(u.params.size).to.equal(0);
      expect(m.headers.list('accept')).to.deep.equal([
        'application/sdp',
        'application/pkcs7-mime',
        'multipart/mixed',
        'multipart/signed',
        'message/sip',
        'message/sipfrag',
      ]);
    });

    it('transports: five Vias with known and unknown transports', () => {
      const m = request('transports.dat');
      const vias = must(m.headers.list('via'), 'Via').map(via);
      expect(vias.map((v) => v.transport)).to.deep.equal(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
      expect(vias.map((v) => v.host)).to.deep.equal(
        ['t1', 't2', 't3', 't4', 't5'].map((h) => `${h}.example.com`),
      );
      expect(callIdOf(m)).to.equal('transports.kijh4akdnaqjkwendsasfdj');
    });

    it('mpart01: the binary multipart body is framed by Content-Length', () => {
      const raw = load('mpart01.dat');
      const m = request('mpart01.dat');
      expect(m.method).to.equal('MESSAGE');
      expect(Number(m.headers.get('content-length'))).to.equal(553);
      expect(m.body.length).to.equal(553);
      expect(m.body.includes(0)).to.equal(true);
      expect(m.body.equals(raw.subarray(raw.length - 553))).to.equal(true);
      expect(m.body.subarray(-22).toString('latin1')).to.equal('--7a9cbec02ceef655--\r\n');
      const top = must(topViaOf(m), 'Via');
      expect(top.port).to.equal(5070);
      expect(top.params.get('rport')).to.equal(null);
      expect(top.params.has('rport')).to.equal(true);
      expect(m.headers.get('content-type')).to.equal('multipart/mixed;boundary=7a9cbec02ceef655');
    });

    it('unreason: a UTF-8 reason phrase is kept intact', () => {
      const m = response('unreason.dat');
      expect(m.status).to.equal(200);
      expect(m.reason).to.equal('= 2**3 * 5**2 но сто девяносто девять - простое');
      const raw = load('unreason.dat');
      expect(
        Buffer.from(m.reason, 'utf8').equals(
          raw.subarray('SIP/2.0 200 '.length, raw.indexOf('\r\n')),
        ),
      ).to.equal(true);
      expect(m.body.length).to.equal(154);
      expect(validateResponse(m)).to.equal(null);
    });

    it('noreason: an empty reason phrase', () => {
      const m = response('noreason.dat');
      expect(m.status).to.equal(100);
      expect(m.reason).to.equal('');
      expect(validateResponse(m)).to.equal(null);
    });
  });

  describe('well-formed messages of §3.2–3.4', () => {
    it('badbranch: a branch that is only the magic cookie', () => {
      const m = request('badbranch.dat');
      expect(viaBranch(must(topViaOf(m), 'Via'))).to.equal('z9hG4bK');
      expect(validateRequest(m)).to.deep.equal({ ok: true });
    });

    it('unkscm, novelsc: the Request-URI parses as an absolute URI and is refused 416', () => {
      for (const [file, scheme] of [
        ['unkscm.dat', 'nobodyknowsthisscheme'],
        ['novelsc.dat', 'soap.beep'],
      ] as const) {
        const m = request(file);
        expect(uriOf(m.uri)).to.include({ kind: 'absolute', scheme });
        expect(validateRequest(m)).to.deep.include({ ok: false, status: 416 });
      }
    });

    it('unksm2: unknown URI schemes in To, From and Contact', () => {
      const m = request('unksm2.dat');
      expect(must(toOf(m), 'To').uri).to.deep.equal({
        kind: 'absolute',
        scheme: 'isbn',
        opaque: '2983792873',
      });
      expect(must(fromOf(m), 'From').uri).to.deep.equal({
        kind: 'absolute',
        scheme: 'http',
        opaque: '//www.example.com',
      });
      expect(nameAddr(must(m.headers.get('contact'), 'Contact')).uri).to.deep.equal({
        kind: 'absolute',
        scheme: 'name',
        opaque: 'John_Smith',
      });
    });

    it('bext01: both Require values are listed, Proxy-Require is separate', () => {
      const m = request('bext01.dat');
      expect(m.headers.list('require')).to.deep.equal([
        'nothingSupportsThis',
        'nothingSupportsThisEither',
      ]);
      expect(m.headers.list('proxy-require')).to.deep.equal([
        'noProxiesSupportThis',
        'norDoAnyProxiesSupportThis',
      ]);
    });

    it('cparam01 / cparam02: contact-param versus URI parameter', () => {
      const outside = nameAddr(must(request('cparam01.dat').headers.get('contact'), 'Contact'));
      expect(outside.angle).to.equal(false);
      expect(outside.params.has('unknownparam')).to.equal(true);
      expect(sipUri(outside.uri).params.size).to.equal(0);
      const inside = nameAddr(must(request('cparam02.dat').headers.get('contact'), 'Contact'));
      expect(inside.angle).to.equal(true);
      expect(inside.params.size).to.equal(0);
      expect(sipUri(inside.uri).params.has('unknownparam')).to.equal(true);
    });

    it('regescrt: an escaped header in a Contact URI within <>', () => {
      const c = nameAddr(must(request('regescrt.dat').headers.get('m'), 'Contact'));
      expect(sipUri(c.uri).headers).to.equal('Route=%3Csip:sip.example.com%3E');
    });

    it('zeromf: Max-Forwards 0 is a valid value', () => {
      const m = request('zeromf.dat');
      expect(maxForwardsOf(m)).to.equal(0);
      expect(validateRequest(m)).to.deep.equal({ ok: true });
    });

    it('bcast: the second Via names the broadcast address', () => {
      const m = response('bcast.dat');
      expect(must(m.headers.list('via'), 'Via').map((v) => via(v).host)).to.deep.equal([
        '192.0.2.198',
        '255.255.255.255',
      ]);
      expect(m.body.length).to.equal(154);
    });

    it('invut, sdp01, regaut01: unknown content, Accept and authorization scheme are carried as written', () => {
      const invut = request('invut.dat');
      expect(invut.headers.get('content-type')).to.equal('application/unknownformat');
      expect(invut.body.toString('latin1')).to.equal(
        '<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n',
      );
      expect(request('sdp01.dat').headers.list('accept')).to.deep.equal(['text/nobodyKnowsThis']);
      expect(request('regaut01.dat').headers.get('authorization')).to.equal(
        'NoOneKnowsThisScheme opaque-data=here',
      );
    });

    it('inv2543: RFC 2543 syntax (no branch, no From tag, no Content-Length, no Max-Forwards)', () => {
      const raw = load('inv2543.dat');
      const m = request('inv2543.dat');
      expect(viaBranch(must(topViaOf(m), 'Via'))).to.equal(null);
      expect(must(fromOf(m), 'From').params.has('tag')).to.equal(false);
      expect(m.headers.has('content-length')).to.equal(false);
      expect(maxForwardsOf(m)).to.equal(undefined);
      // The body is the rest of the datagram…
      const bodyStart = raw.indexOf('\r\n\r\n') + 4;
      expect(m.body.equals(raw.subarray(bodyStart))).to.equal(true);
      expect(m.body.toString('latin1')).to.match(/^v=0\r\n[^]*m=audio 49217 RTP\/AVP 0\r\n$/);
      expect(validateRequest(m)).to.deep.equal({ ok: true });
      // …but on a stream a missing Content-Length means no body.
      const s = parseMessage(raw, { stream: true });
      expect(s.ok && s.message.body.length).to.equal(0);
    });
  });

  describe('invalid messages fail with a reason that names the problem', () => {
    /** The reason of the first failure: parsing, then validation. */
    function failure(file: Rfc4475File): string {
      const r = parseMessage(load(file));
      if (!r.ok) return r.reason;
      const m = r.message;
      const why = m.type === 'request' ? validateRequest(m) : validateResponse(m);
      if (why === null || (typeof why === 'object' && why.ok)) throw new Error(`${file} passes`);
      return typeof why === 'string' ? why : why.reason;
    }

    const cases: [Rfc4475File, RegExp][] = [
      ['badinv01.dat', /Malformed Via/],
      ['clerr.dat', /Content-Length larger than the message/],
      ['ncl.dat', /bad Content-Length/],
      ['scalar02.dat', /Malformed CSeq/],
      ['scalarlg.dat', /Malformed CSeq/],
      ['quotbal.dat', /Malformed To/],
      ['ltgtruri.dat', /Request-URI enclosed in <>/],
      ['lwsruri.dat', /whitespace inside Request-URI/],
      ['lwsstart.dat', /more than one space between Request-Line elements/],
      ['trws.dat', /trailing whitespace in Request-Line/],
      ['escruri.dat', /Request-URI must not contain headers/],
      ['baddate.dat', /Malformed Date/],
      ['regbadct.dat', /Malformed Contact/],
      ['badaspec.dat', /Malformed To/],
      ['baddn.dat', /Malformed From/],
      ['badvers.dat', /Version Not Supported/],
      ['mismatch01.dat', /CSeq method does not match Request-Line/],
      ['mismatch02.dat', /CSeq method does not match Request-Line/],
      ['bigcode.dat', /bad status code/],
      ['insuf.dat', /Missing From/],
      ['multi01.dat', /Multiple From headers/],
      ['mcl01.dat', /multiple Content-Length headers/],
    ];
    for (const [file, reason] of cases) {
      it(`${file}: ${reason.source}`, () => {
        expect(failure(file)).to.match(reason);
      });
    }

    it('covers every message the RFC calls invalid', () => {
      const invalid = FILES.filter((f) => !RFC4475_EXPECTATIONS[f].valid).sort();
      expect(cases.map(([f]) => f).sort()).to.deep.equal(invalid);
    });

    it('a request that fails parsing still yields the headers needed to answer 400', () => {
      for (const file of [
        'clerr.dat',
        'ncl.dat',
        'ltgtruri.dat',
        'lwsruri.dat',
        'lwsstart.dat',
        'trws.dat',
        'mcl01.dat',
      ] as const) {
        const r = parseMessage(load(file));
        if (r.ok) throw new Error(`${file} parses`);
        const partial = must(r.partial, 'partial');
        expect(partial.type, file).to.equal('request');
        for (const h of ['via', 'from', 'to', 'call-id', 'cseq'])
          expect(partial.headers.has(h), `${file} ${h}`).to.equal(true);
      }
    });

    it('badinv01 and scalar02 also have the other defects the RFC lists', () => {
      const bad = request('badinv01.dat');
      expect(parseNameAddr(must(bad.headers.get('contact'), 'Contact')).ok).to.equal(false);
      const scalar = request('scalar02.dat');
      expect(maxForwardsOf(scalar)).to.equal(null);
      expect(
        nameAddr(must(scalar.headers.get('contact'), 'Contact')).params.get('expires'),
      ).to.equal('280297596632815');
    });
  });
});
