import { expect } from 'chai';
import { TimerQueue, type TimerName, type TimerOwner } from '../../../src/transaction/timers.js';
import { EventLog } from './fake-transport.js';

function owner(log: EventLog<string>, label: string): TimerOwner {
  return { onTimer: (name: TimerName) => log.push(`${label}:${name}`) };
}

describe('TimerQueue', () => {
  let queue: TimerQueue;
  let errors: unknown[];
  beforeEach(() => {
    errors = [];
    queue = new TimerQueue((err) => errors.push(err));
  });
  afterEach(() => queue.clear());

  it('fires timers of one duration in start order and of several durations by deadline', async () => {
    const log = new EventLog<string>();
    queue.start(30, owner(log, 'a'), 'A');
    queue.start(10, owner(log, 'b'), 'B');
    queue.start(30, owner(log, 'c'), 'E');
    queue.start(20, owner(log, 'd'), 'F');
    expect(queue.size()).to.equal(4);
    await log.waitFor(() => true, 4);
    expect(log.items).to.deep.equal(['b:B', 'd:F', 'a:A', 'c:E']);
    expect(queue.size()).to.equal(0);
  });

  it('cancelled timers never fire, including the head of a list', async () => {
    const log = new EventLog<string>();
    const head = queue.start(15, owner(log, 'head'), 'A');
    queue.start(15, owner(log, 'second'), 'A');
    const last = queue.start(15, owner(log, 'third'), 'A');
    queue.cancel(head);
    queue.cancel(last);
    queue.cancel(last); // twice is harmless
    await log.waitFor(() => true, 1);
    queue.start(5, owner(log, 'probe'), 'B');
    await log.waitFor(() => true, 2);
    expect(log.items).to.deep.equal(['second:A', 'probe:B']);
  });

  it('a timer started from a handler of the same duration fires one period later', async () => {
    const log = new EventLog<string>();
    let n = 0;
    const o: TimerOwner = {
      onTimer: () => {
        log.push(`tick${n++}`);
        if (n < 3) queue.start(10, o, 'G');
      },
    };
    queue.start(10, o, 'G');
    const t0 = performance.now();
    await log.waitFor(() => true, 3);
    expect(performance.now() - t0).to.be.at.least(28);
  });

  it('clear() cancels everything; a throwing handler is reported and the rest still fire', async () => {
    const log = new EventLog<string>();
    queue.start(
      5,
      {
        onTimer: () => {
          throw new Error('boom');
        },
      },
      'A',
    );
    queue.start(5, owner(log, 'after'), 'A');
    await log.waitFor(() => true, 1);
    expect(errors).to.have.length(1);
    queue.start(5, owner(log, 'x'), 'B');
    queue.clear();
    expect(queue.size()).to.equal(0);
    queue.start(15, owner(log, 'y'), 'B');
    await log.waitFor(() => true, 2);
    expect(log.items).to.deep.equal(['after:A', 'y:B']);
  });
});
