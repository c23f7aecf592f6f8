import assert from 'node:assert/strict';
import { counterRate, nextRate } from '../../query/rate';

describe('counter rates', () => {
  it('is the per-second derivative', () => {
    assert.deepEqual(
      counterRate([
        { t: 0, v: 100 },
        { t: 1000, v: 1100 },
        { t: 3000, v: 2100 },
      ]),
      [
        { t: 1000, v: 1000 },
        { t: 3000, v: 500 },
      ],
    );
  });
  it('breaks the line on a counter reset instead of going negative', () => {
    const r = counterRate([
      { t: 0, v: 5000 },
      { t: 1000, v: 10 },
      { t: 2000, v: 1010 },
    ]);
    assert.deepEqual(r, [
      { t: 1000, v: null },
      { t: 2000, v: 1000 },
    ]);
  });
  it('breaks the line across a gap longer than maxGapMs and on null points', () => {
    const r = counterRate(
      [
        { t: 0, v: 0 },
        { t: 1000, v: 10 },
        { t: 60_000, v: 20 },
        { t: 61_000, v: null },
        { t: 62_000, v: 40 },
        { t: 63_000, v: 50 },
      ],
      { maxGapMs: 10_000 },
    );
    assert.deepEqual(r, [
      { t: 1000, v: 10 },
      { t: 60_000, v: null },
      { t: 61_000, v: null },
      { t: 63_000, v: 10 },
    ]);
  });
  it('computes a single live step', () => {
    assert.equal(nextRate({ t: 0, v: 10 }, { t: 500, v: 20 }), 20);
    assert.equal(nextRate({ t: 0, v: 10 }, { t: 500, v: 5 }), null);
    assert.equal(nextRate(undefined, { t: 500, v: 5 }), undefined);
  });
});
