import { expect } from 'chai';
import { LingeringResponses } from '../../../src/transaction/lingering.js';
import type { PreparedResponse } from '../../../src/transport/types.js';
import { udpFlow } from './fake-transport.js';

function response(status = 200): PreparedResponse {
  const flow = udpFlow();
  return { status, bytes: Buffer.from(`SIP/2.0 ${status} OK\r\n\r\n`), flow, target: flow.remote };
}

/** Resolves when the table forgets `key` (Timer J swept it). */
function forgotten(l: LingeringResponses<never>, key: string, r: PreparedResponse): Promise<void> {
  return new Promise((resolve) => l.onForgotten(key, r, resolve));
}

describe('lingering responses (compact Completed state, RFC 3261 §17.2.2)', () => {
  const LIFETIME = 40;
  let table: Map<string, PreparedResponse>;
  let errors: unknown[];
  let lingering: LingeringResponses<never>;

  beforeEach(() => {
    table = new Map();
    errors = [];
    lingering = new LingeringResponses<never>(table, LIFETIME, 5, (err) => errors.push(err));
  });
  afterEach(() => lingering.clear());

  it('forgets entries in the order they came, never before their lifetime, across compactions', async () => {
    const first = response();
    const t0 = performance.now();
    lingering.add('k0', first);
    // Enough entries for the swept slots to be compacted away.
    const many = Array.from({ length: 3000 }, (_, i) => ({ key: `k${i + 1}`, r: response() }));
    for (const { key, r } of many) lingering.add(key, r);
    expect(lingering.size()).to.equal(3001);
    expect(table.get('k0')).to.equal(first);
    // One entry added while the first batch is swept: the arrays are cut, not emptied.
    const later = response(202);
    const laterAdded = new Promise<number>((resolve) =>
      lingering.onForgotten('k0', first, () => {
        lingering.add('k-later', later);
        resolve(performance.now());
      }),
    );
    const addedAt = await laterAdded;
    expect(addedAt - t0, 'never before the lifetime').to.be.at.least(LIFETIME - 1);
    const last = many[many.length - 1]!;
    await forgotten(lingering, last.key, last.r);
    await forgotten(lingering, 'k-later', later);
    expect(performance.now() - addedAt).to.be.at.least(LIFETIME - 1);
    expect(lingering.size()).to.equal(0);
    expect(table.size).to.equal(0);
  });

  it('a listener that stops everything (clear) ends the sweep cleanly, and the table works on', async () => {
    const a = response();
    const b = response();
    lingering.add('a', a);
    lingering.add('b', b);
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
    const c = response();
    lingering.add('c', c);
    await forgotten(lingering, 'c', c);
    expect(table.size).to.equal(0);
  });

  it('leaves a key alone that the table no longer maps to its response', async () => {
    const r = response();
    lingering.add('k', r);
    const gone = forgotten(lingering, 'k', r);
    const other = response(500);
    table.set('k', other);
    await gone;
    expect(table.get('k'), 'another entry under the same key survives the sweep').to.equal(other);
  });

  it('reports a throwing listener and still runs the others', async () => {
    const r = response();
    lingering.add('k', r);
    lingering.onForgotten('k', r, () => {
      throw new Error('listener failed');
    });
    await forgotten(lingering, 'k', r);
    expect(errors).to.have.length(1);
  });

  it('clear() forgets everything at once without running listeners', () => {
    const r = response();
    lingering.add('k', r);
    let ran = 0;
    lingering.onForgotten('k', r, () => ran++);
    lingering.clear();
    expect(table.size).to.equal(0);
    expect(lingering.size()).to.equal(0);
    expect(ran).to.equal(0);
  });
});
