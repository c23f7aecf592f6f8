/**
 * The rule editor's 24 h preview replay (core/alert-preview.ts): known step series in,
 * known transitions out — `for` (pending, then firing; cleared before it ran out),
 * the recovery threshold (hysteresis holds a firing instance), gaps (no data drops a
 * pending instance back and holds a firing one; the window bridges short gaps), and
 * the notification count.
 */
import assert from 'node:assert/strict';
import { replayThreshold, type PreviewGroup, type PreviewRule } from '../../core/alert-preview';

const STEP = 60_000;
const T0 = 1_764_000_000_000;

/** A group whose values come one per step from T0. */
const group = (key: string, values: Array<number | null>): PreviewGroup => ({ key, points: values.map((v, i) => ({ t: T0 + i * STEP, v })) });
/** Evaluation time of step i (the step's end). */
const at = (i: number) => T0 + (i + 1) * STEP;
const rule = (over: Partial<PreviewRule['spec']> & { forMs?: number } = {}): PreviewRule => {
  const { forMs = 0, ...spec } = over;
  return { spec: { op: '>', threshold: 10, windowMs: STEP, ...spec }, forMs };
};
const events = (r: ReturnType<typeof replayThreshold>, key: string) => r.instances.find((i) => i.key === key)?.events.map((e) => [e.to, e.at]) ?? [];

describe('alert preview replay', () => {
  it('for 0: fires at the first breach and resolves at the first calm step; two notifications', () => {
    const r = replayThreshold(rule(), [group('a', [5, 12, 15, 8, 3])], STEP);
    assert.deepEqual(events(r, 'a'), [
      ['firing', at(1)],
      ['resolved', at(3)],
    ]);
    assert.equal(r.notifications, 2);
    assert.equal(r.steps, 5);
    assert.equal(r.instances[0].state, 'resolved');
  });

  it('for 2 min: pending first, firing once the condition held 2 min; a shorter breach clears without a notification', () => {
    const r = replayThreshold(rule({ forMs: 2 * STEP }), [group('a', [12, 5, 12, 12, 12, 12, 4])], STEP);
    assert.deepEqual(events(r, 'a'), [
      ['pending', at(0)],
      ['cleared', at(1)],
      ['pending', at(2)],
      ['firing', at(4)],
      ['resolved', at(6)],
    ]);
    assert.equal(r.instances[0].notifications, 2);
  });

  it('recovery threshold: a firing instance holds between recovery and threshold, resolves only below recovery', () => {
    const r = replayThreshold(rule({ recovery: 5 }), [group('a', [12, 8, 6, 5, 4, 12])], STEP);
    assert.deepEqual(events(r, 'a'), [
      ['firing', at(0)],
      ['resolved', at(4)],
      ['firing', at(5)],
    ]);
    assert.equal(r.notifications, 3);
    assert.equal(r.instances[0].state, 'firing');
  });

  it('gaps: no data drops pending back and holds firing (counted as no-data steps)', () => {
    const r = replayThreshold(rule({ forMs: 2 * STEP }), [group('p', [12, null, 12, 12, 12, null, null, 3]), group('q', [1, 1, 1, 1, 1, 1, 1, 1])], STEP);
    assert.deepEqual(events(r, 'p'), [
      ['pending', at(0)],
      ['cleared', at(1)],
      ['pending', at(2)],
      ['firing', at(4)],
      ['resolved', at(7)],
    ]);
    assert.equal(r.instances[0].noDataSteps, 3);
    assert.equal(r.quietInstances, 1, 'q never breached');
    assert.equal(r.instances.length, 1);
  });

  it('a window longer than the step bridges a gap with the newest value it reaches', () => {
    // Window 3 min at 1-min steps: a step reaches the two before it.
    const r = replayThreshold(rule({ forMs: 3 * STEP, windowMs: 3 * STEP }), [group('a', [12, null, null, 12, null, null, null, 2])], STEP);
    assert.deepEqual(events(r, 'a'), [
      ['pending', at(0)],
      ['firing', at(3)],
      ['resolved', at(7)],
    ]);
    assert.equal(r.instances[0].noDataSteps, 1, 'only step 6 reaches no value (steps 3-5 bridged back to step 3)');
  });

  it('operator < with recovery above: fires low, resolves once back above recovery; busiest instance listed first', () => {
    const r = replayThreshold({ spec: { op: '<', threshold: 10, recovery: 20, windowMs: STEP }, forMs: 0 }, [group('calm', [50, 50, 50]), group('low', [5, 15, 25]), group('flap', [5, 25, 5])], STEP);
    assert.deepEqual(
      r.instances.map((i) => i.key),
      ['flap', 'low'],
    );
    assert.deepEqual(events(r, 'low'), [
      ['firing', at(0)],
      ['resolved', at(2)],
    ]);
    assert.deepEqual(events(r, 'flap'), [
      ['firing', at(0)],
      ['resolved', at(1)],
      ['firing', at(2)],
    ]);
    assert.equal(r.notifications, 5);
    assert.equal(r.quietInstances, 1);
  });
});
