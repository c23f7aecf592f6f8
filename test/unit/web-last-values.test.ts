/** The table widget's last value per series (issue 21): value, rate over the last interval, age and staleness. */
import assert from 'node:assert/strict';
import { lastValue } from '../../web/app/lib/last-values';

const NOW = Date.parse('2026-11-28T07:10:00Z');

describe('web: last values of the table widget', () => {
  it('the newest value scaled, with its time and the spacing of the last two points', () => {
    assert.deepEqual(
      lastValue(
        [
          { t: NOW - 2000, v: 5 },
          { t: NOW - 7000, v: 3 },
        ],
        { rate: false, scale: 8, now: NOW },
      ),
      { value: 40, at: NOW - 2000, intervalMs: 5000, stale: false },
    );
  });
  it('a rate is the increase over the last interval per second; a counter reset gives no value', () => {
    assert.equal(
      lastValue(
        [
          { t: NOW - 1000, v: 3000 },
          { t: NOW - 3000, v: 1000 },
        ],
        { rate: true, scale: 1, now: NOW },
      ).value,
      1000,
    );
    assert.equal(
      lastValue(
        [
          { t: NOW - 1000, v: 10 },
          { t: NOW - 3000, v: 1000 },
        ],
        { rate: true, scale: 1, now: NOW },
      ).value,
      null,
    );
    assert.equal(lastValue([{ t: NOW - 1000, v: 10 }], { rate: true, scale: 1, now: NOW }).value, null, 'one point has no rate');
  });
  it('stale after three intervals (at least 30 s), after 60 s with one point, and without any point', () => {
    const pts = [
      { t: NOW - 40_000, v: 1 },
      { t: NOW - 50_000, v: 1 },
    ];
    assert.equal(lastValue(pts, { rate: false, scale: 1, now: NOW }).stale, true);
    assert.equal(lastValue([{ t: NOW - 50_000, v: 1 }], { rate: false, scale: 1, now: NOW }).stale, false);
    assert.equal(lastValue([{ t: NOW - 61_000, v: 1 }], { rate: false, scale: 1, now: NOW }).stale, true);
    assert.deepEqual(lastValue([], { rate: false, scale: 1, now: NOW }), { value: null, at: null, stale: true });
  });
});
