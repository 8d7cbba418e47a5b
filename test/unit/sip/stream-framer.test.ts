/** StreamFramer: Content-Length framing on stream transports (RFC 3261 §18.3) and CRLF keep-alives (RFC 5626 §4.4.1). */
import { expect } from 'chai';
import { parseMessage } from '../../../src/sip/parser.js';
import { StreamFramer, type FrameEvent } from '../../../src/sip/stream-framer.js';

function msg(callId: string, body = ''): string {
  return (
    `OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK${callId}\r\nCall-ID: ${callId}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

function messages(events: FrameEvent[]): string[] {
  return events.map((e) => (e.kind === 'message' ? e.bytes.toString('utf8') : `<${e.kind}>`));
}

describe('StreamFramer', () => {
  it('several messages in one chunk', () => {
    const f = new StreamFramer(65535);
    const all = msg('a') + msg('b', 'hello') + msg('c', 'wörld');
    expect(messages(f.push(Buffer.from(all)))).to.deep.equal([
      msg('a'),
      msg('b', 'hello'),
      msg('c', 'wörld'),
    ]);
    expect(f.pending).to.equal(0);
  });

  it('one message split byte by byte', () => {
    const f = new StreamFramer(65535);
    const bytes = Buffer.from(msg('split', 'body with \r\n\r\n inside'));
    const out: FrameEvent[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const ev = f.push(bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) expect(ev, `after byte ${i}`).to.deep.equal([]);
      out.push(...ev);
    }
    expect(messages(out)).to.deep.equal([msg('split', 'body with \r\n\r\n inside')]);
    expect(f.pending).to.equal(0);
  });

  it('a message split at every possible point', () => {
    const bytes = Buffer.from(msg('x', 'abc') + msg('y'));
    for (let cut = 1; cut < bytes.length; cut++) {
      const f = new StreamFramer(65535);
      const out = [...f.push(bytes.subarray(0, cut)), ...f.push(bytes.subarray(cut))];
      expect(messages(out), `cut at ${cut}`).to.deep.equal([msg('x', 'abc'), msg('y')]);
    }
  });

  it('a message comes out as a copy that parses', () => {
    const chunk = Buffer.from(msg('copy', 'xyz'));
    const [e] = new StreamFramer(65535).push(chunk);
    if (e?.kind !== 'message') throw new Error('no message');
    chunk.fill(0);
    const r = parseMessage(e.bytes, { stream: true });
    expect(r.ok && r.message.body.toString()).to.equal('xyz');
  });

  it('CRLFCRLF between messages is a ping; a lone CRLF is skipped', () => {
    const f = new StreamFramer(65535);
    const ev = f.push(Buffer.from('\r\n\r\n' + msg('a') + '\r\n' + msg('b') + '\r\n\r\n\r\n\r\n'));
    expect(messages(ev)).to.deep.equal(['<ping>', msg('a'), msg('b'), '<ping>', '<ping>']);
    expect(f.pending).to.equal(0);
  });

  it('a ping split across segments is still one ping', () => {
    const f = new StreamFramer(65535);
    expect(f.push(Buffer.from('\r'))).to.deep.equal([]);
    expect(f.push(Buffer.from('\n\r'))).to.deep.equal([]);
    expect(f.push(Buffer.from('\n'))).to.deep.equal([{ kind: 'ping' }]);
    expect(f.pending).to.equal(0);
    // A single CRLF (a pong) followed by a message.
    expect(messages(f.push(Buffer.from('\r\n' + msg('after'))))).to.deep.equal([msg('after')]);
  });

  it('waits for the body, and keeps the next message’s start', () => {
    const f = new StreamFramer(65535);
    const full = msg('a', 'hello world') + msg('b');
    expect(f.push(Buffer.from(full.slice(0, full.indexOf('hello') + 3)))).to.deep.equal([]);
    expect(f.pending).to.be.greaterThan(0);
    expect(messages(f.push(Buffer.from(full.slice(full.indexOf('hello') + 3))))).to.deep.equal([
      msg('a', 'hello world'),
      msg('b'),
    ]);
    expect(f.leftover().length).to.equal(0);
  });

  it('a missing Content-Length means an empty body', () => {
    const f = new StreamFramer(65535);
    const noLength = 'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n';
    expect(messages(f.push(Buffer.from(noLength + msg('next'))))).to.deep.equal([
      noLength,
      msg('next'),
    ]);
  });

  it('reads Content-Length the way the parser does: compact, folded, never from a continuation line', () => {
    const start = 'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n';
    const cases: [string, string][] = [
      [start + 'l: 5\r\n\r\nhello', 'hello'],
      [start + 'CONTENT-LENGTH  :  5\r\n\r\nhello', 'hello'],
      [start + 'Content-Length:\r\n 5\r\n\r\nhello', 'hello'],
      // " l: 5" continues Subject: there is no Content-Length, so no body.
      [start + 'Subject: x\r\n l: 5\r\n\r\n', ''],
    ];
    for (const [text, body] of cases) {
      const [e, ...rest] = new StreamFramer(65535).push(Buffer.from(text + 'OPTIONS'));
      if (e?.kind !== 'message') throw new Error(`no message for ${JSON.stringify(text)}`);
      expect(rest).to.deep.equal([]);
      expect(e.bytes.toString()).to.equal(text);
      const r = parseMessage(e.bytes, { stream: true });
      expect(r.ok && r.message.body.toString(), JSON.stringify(text)).to.equal(body);
    }
  });

  for (const [what, value] of [
    ['negative', '-999'],
    ['not a number', 'five'],
    ['empty', ''],
    ['two values', '5, 5'],
  ] as const) {
    it(`a bad Content-Length (${what}) is a 400 framing error that ends the flow`, () => {
      const f = new StreamFramer(65535);
      const head = `INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nContent-Length: ${value}\r\n\r\n`;
      const ev = f.push(Buffer.from(head + 'body' + msg('next')));
      expect(ev).to.have.length(1);
      const e = ev[0];
      if (e?.kind !== 'error') throw new Error('no error');
      expect(e.status).to.equal(400);
      expect(e.reason).to.match(/Content-Length/);
      // The head is there to build the 400 from.
      expect(e.head?.toString()).to.equal(head);
      expect(f.pending).to.equal(0);
    });
  }

  it('two Content-Length headers are a framing error', () => {
    const ev = new StreamFramer(65535).push(
      Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\nl: 13\r\n\r\nhello'),
    );
    expect(ev).to.deep.include({
      kind: 'error',
      reason: 'multiple Content-Length headers',
      status: 400,
      head: ev[0]?.kind === 'error' ? ev[0].head : null,
    });
  });

  it('513 when a message would exceed maxMessageBytes', () => {
    const f = new StreamFramer(200);
    const big = msg('big', 'x'.repeat(300));
    const [e] = f.push(Buffer.from(big));
    if (e?.kind !== 'error') throw new Error('no error');
    expect(e).to.deep.include({ status: 513, reason: 'Message Too Large' });
    expect(e.head?.toString()).to.equal(big.slice(0, big.indexOf('\r\n\r\n') + 4));
    // Exactly at the limit is fine.
    const exact = msg('ok', 'y'.repeat(10));
    expect(
      messages(new StreamFramer(Buffer.byteLength(exact)).push(Buffer.from(exact))),
    ).to.deep.equal([exact]);
  });

  it('513 when the header section alone grows past maxMessageBytes without ending', () => {
    const f = new StreamFramer(100);
    expect(f.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\n'))).to.deep.equal([]);
    const ev = f.push(Buffer.from('X-Filler: ' + 'z'.repeat(200) + '\r\n'));
    expect(ev).to.deep.equal([
      { kind: 'error', reason: 'header section too large', status: 513, head: null },
    ]);
    expect(f.pending).to.equal(0);
  });

  it('a 64 KB message trickled one byte per segment costs linear time', () => {
    const f = new StreamFramer(70000);
    const text = msg('slow', 'b'.repeat(32000)).replace(
      'Call-ID',
      'X-Pad: ' + 'p'.repeat(32000) + '\r\nCall-ID',
    );
    const bytes = Buffer.from(text);
    const t0 = performance.now();
    const out: FrameEvent[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...f.push(bytes.subarray(i, i + 1)));
    const ms = performance.now() - t0;
    expect(messages(out)).to.deep.equal([text]);
    // Quadratic re-concatenation and re-scanning took ~4.5 s here; linear takes well under 100 ms.
    expect(ms).to.be.lessThan(1000);
  });

  it('does not keep a reference to the caller’s chunk', () => {
    const f = new StreamFramer(65535);
    const text = msg('reuse', 'hello');
    const chunk = Buffer.from(text.slice(0, 30));
    expect(f.push(chunk)).to.deep.equal([]);
    chunk.fill(0x21); // the transport reuses its read buffer
    expect(messages(f.push(Buffer.from(text.slice(30))))).to.deep.equal([text]);
  });

  it('leftover() holds an incomplete message when the peer stops', () => {
    const f = new StreamFramer(65535);
    const partial = msg('a', 'hello').slice(0, -2);
    expect(f.push(Buffer.from(partial))).to.deep.equal([]);
    expect(f.leftover().toString()).to.equal(partial);
  });
});
