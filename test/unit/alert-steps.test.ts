/**
 * When an alert rule wakes (ADR 225, core/alert-steps.ts): each rule a stable phase after the
 * epoch-aligned step, within the first half of the interval (at most 5 s), spread over it for
 * a thousand consecutive rule ids; the next step never repeats the one evaluated last and
 * skips a step whose wake-up already passed.
 */
import assert from 'node:assert/strict';
import { MAX_STEP_PHASE_MS, alertStepPhaseMs, nextAlertStep } from '../../core/alert-steps';

describe('alert steps: per-rule phase within the step', () => {
  it('is stable per rule, within half the interval and at most 5 s', () => {
    for (const interval of [1_000, 30_000, 60_000, 120_000, 3_600_000]) {
      for (let id = 1; id <= 500; id++) {
        const p = alertStepPhaseMs(id, interval);
        assert.equal(p, alertStepPhaseMs(id, interval));
        assert.ok(p >= 0 && p < Math.min(interval / 2, MAX_STEP_PHASE_MS), `rule ${id} every ${interval} ms: phase ${p}`);
      }
    }
    assert.equal(alertStepPhaseMs(7, 1), 0, 'an interval under 2 ms has no room for a phase');
  });

  it('spreads 1,000 consecutive rule ids evenly over the spread (no tenth of it holds more than twice its share)', () => {
    const buckets = new Array(10).fill(0);
    for (let id = 1; id <= 1000; id++) buckets[Math.floor(alertStepPhaseMs(id, 60_000) / (MAX_STEP_PHASE_MS / 10))]++;
    assert.ok(Math.max(...buckets) <= 200, `per tenth of the spread: ${buckets.join(', ')}`);
    assert.ok(Math.min(...buckets) >= 50, `per tenth of the spread: ${buckets.join(', ')}`);
  });

  it('the next step: its wake-up ahead of now, after the step evaluated last', () => {
    const I = 60_000;
    const S = 1_000 * I; // an aligned step
    // Within the phase of the step just past: that step is still ahead.
    assert.deepEqual(nextAlertStep(S + 2_000, I, 5_000), { step: S, wakeAt: S + 5_000 });
    // ... unless it was evaluated already (a run's first evaluation takes the boundary just past).
    assert.deepEqual(nextAlertStep(S + 2_000, I, 5_000, S), { step: S + I, wakeAt: S + I + 5_000 });
    // Past the phase (the evaluation just ran): the next step.
    assert.deepEqual(nextAlertStep(S + 5_300, I, 5_000, S), { step: S + I, wakeAt: S + I + 5_000 });
    // Late past the next step's wake-up: that step is skipped, as before phases.
    assert.deepEqual(nextAlertStep(S + I + 6_000, I, 5_000, S), { step: S + 2 * I, wakeAt: S + 2 * I + 5_000 });
    // Phase 0 is the ADR 190 boundary.
    assert.deepEqual(nextAlertStep(S, I, 0), { step: S + I, wakeAt: S + I });
  });
});
