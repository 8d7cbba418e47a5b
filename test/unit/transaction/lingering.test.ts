import { expect } from 'chai';
import { LingeringResponses, type LingerId } from '../../../src/transaction/lingering.js';
import type { PreparedResponse } from '../../../src/transport/types.js';
import { udpFlow } from './fake-transport.js';

function response(status = 200): PreparedResponse {
  const flow = udpFlow();
  return { status, bytes: Buffer.from(`SIP/2.0 ${status} OK\r\n\r\n`), flow, target: flow.remote };
}

/** Resolves when the table forgets `key` (Timer J swept it). */
function forgotten(l: LingeringResponses<never>, key: string, id: LingerId): Promise<void> {
  return new Promise((resolve) => l.onForgotten(key, id, resolve));
}

describe('lingering responses (compact Completed state, RFC 3261 §17.2.2)', () => {
  const LIFETIME = 40;
  let table: Map<string, LingerId>;
  let errors: unknown[];
  let lingering: LingeringResponses<never>;

  beforeEach(() => {
    table = new Map();
    errors = [];
    lingering = new LingeringResponses<never>(table, LIFETIME, 5, (err) => errors.push(err));
  });
  afterEach(() => lingering.clear());

  it('forgets entries in the order they came, never before their lifetime, across compactions', async () => {
    const t0 = performance.now();
    const first = lingering.add('k0', response());
    // Enough entries for the swept slots to be compacted away.
    const many = Array.from({ length: 3000 }, (_, i) => ({ key: `k${i + 1}`, id: lingering.add(`k${i + 1}`, response()) }));
    expect(lingering.size()).to.equal(3001);
    expect(table.get('k0')).to.equal(first);
    // One entry added while the first batch is swept: the arrays are cut, not emptied.
    let later = -1;
    const laterAdded = new Promise<number>((resolve) =>
      lingering.onForgotten('k0', first, () => {
        later = lingering.add('k-later', response(202));
        resolve(performance.now());
      }),
    );
    const addedAt = await laterAdded;
    expect(addedAt - t0, 'never before the lifetime').to.be.at.least(LIFETIME - 1);
    expect(lingering.response(first), 'a forgotten entry has no response').to.equal(null);
    expect(lingering.response(later)?.status).to.equal(202);
    const last = many[many.length - 1]!;
    await forgotten(lingering, last.key, last.id);
    await forgotten(lingering, 'k-later', later);
    expect(performance.now() - addedAt).to.be.at.least(LIFETIME - 1);
    expect(lingering.size()).to.equal(0);
    expect(table.size).to.equal(0);
  });

  it('a listener that stops everything (clear) ends the sweep cleanly, and the table works on', async () => {
    const a = lingering.add('a', response());
    const b = lingering.add('b', response());
    let bRan = 0;
    lingering.onForgotten('b', b, () => bRan++);
    await new Promise<void>((resolve) =>
      lingering.onForgotten('a', a, () => {
        lingering.clear();
        resolve();
      }),
    );
    expect(bRan, 'cleared listeners do not run').to.equal(0);
    expect(table.size).to.equal(0);
    const c = lingering.add('c', response());
    expect(c, 'ids are not reused after clear()').to.be.above(b);
    await forgotten(lingering, 'c', c);
    expect(table.size).to.equal(0);
  });

  it('leaves a key alone that the table no longer maps to its response', async () => {
    const r = lingering.add('k', response());
    const gone = forgotten(lingering, 'k', r);
    const other = 1_000_000;
    table.set('k', other);
    await gone;
    expect(table.get('k'), 'another entry under the same key survives the sweep').to.equal(other);
  });

  it('reports a throwing listener and still runs the others', async () => {
    const r = lingering.add('k', response());
    lingering.onForgotten('k', r, () => {
      throw new Error('listener failed');
    });
    await forgotten(lingering, 'k', r);
    expect(errors).to.have.length(1);
  });

  it('clear() forgets everything at once without running listeners', () => {
    const r = lingering.add('k', response());
    let ran = 0;
    lingering.onForgotten('k', r, () => ran++);
    lingering.clear();
    expect(table.size).to.equal(0);
    expect(lingering.size()).to.equal(0);
    expect(ran).to.equal(0);
  });

  it('gives back the exact bytes, flow and target of each entry, across chunks and for a response larger than a chunk', async () => {
    const flow = udpFlow();
    const target = { address: '192.0.2.7', port: 5099 };
    const sizes = [300, 70_000, 200_000, 600_000, 90, 250_000];
    const entries = sizes.map((n, i) => {
      const bytes = Buffer.alloc(n, i + 1);
      bytes.write(`SIP/2.0 20${i} OK`, 0, 'latin1');
      return { key: `big${i}`, bytes, id: lingering.add(`big${i}`, { status: 200 + i, bytes, flow, target }) };
    });
    for (const [i, e] of entries.entries()) {
      const r = lingering.response(e.id);
      expect(r, `entry ${i}`).to.not.equal(null);
      expect(r!.status).to.equal(200 + i);
      expect(r!.flow).to.equal(flow);
      expect(r!.target).to.deep.equal(target);
      expect(Buffer.compare(r!.bytes, e.bytes), `bytes of entry ${i}`).to.equal(0);
    }
    await forgotten(lingering, 'big5', entries[5]!.id);
    expect(lingering.chunkCount(), 'chunks of forgotten entries are freed').to.be.at.most(1);
    // Writing goes on after everything was swept.
    const again = lingering.add('again', response(299));
    expect(lingering.response(again)?.bytes.toString('latin1')).to.equal('SIP/2.0 299 OK\r\n\r\n');
  });
});
