/** The collector's cap on concurrent dials: FIFO permits, release once, abort while waiting, self-release. */
import assert from 'node:assert/strict';
import { DialLimiter } from '../../protocols/dial-limiter';

describe('dial limiter', () => {
  it('grants up to the limit, then queues in arrival order', async () => {
    const dials = new DialLimiter(2);
    const order: number[] = [];
    const r1 = await dials.acquire();
    const r2 = await dials.acquire();
    const third = dials.acquire().then((r) => (order.push(3), r));
    const fourth = dials.acquire().then((r) => (order.push(4), r));
    await new Promise((r) => setImmediate(r)); // every pending promise job has run: a granted permit would show
    assert.equal(dials.active, 2);
    assert.equal(dials.waiting, 2);
    assert.deepEqual(order, []);
    r1();
    r1(); // releasing twice frees one slot only
    const r3 = await third;
    assert.deepEqual(order, [3]);
    assert.equal(dials.waiting, 1);
    r2();
    (await fourth)();
    r3();
    assert.equal(dials.active, 0);
  });

  it('drops a waiter whose session is cancelled, without taking a slot', async () => {
    const dials = new DialLimiter(1);
    const release = await dials.acquire();
    const abort = new AbortController();
    const waiting = dials.acquire(abort.signal);
    abort.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
    assert.equal(dials.waiting, 0);
    release();
    assert.equal(dials.active, 0);
  });

  it('releases a permit by itself when a dial hangs', async () => {
    const dials = new DialLimiter(1);
    await dials.acquire(undefined, 30);
    const next = await Promise.race([dials.acquire(), new Promise((r) => setTimeout(() => r('timeout'), 1000))]);
    assert.equal(typeof next, 'function', 'the hung permit was released after its hold time');
  });

  it('refuses a nonsensical limit', () => {
    assert.throws(() => new DialLimiter(0), /positive integer/);
  });
});
