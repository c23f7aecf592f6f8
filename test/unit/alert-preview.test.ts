/**
 * The rule editor's 24 h preview replay (core/alert-preview.ts): known step series in,
 * known transitions out — `for` (pending, then firing; cleared before it ran out),
 * the recovery threshold (hysteresis holds a firing instance), gaps (no data drops a
 * pending instance back and holds a firing one; the window bridges short gaps), and
 * the notification count. Absence rules: a device's silence from its samples per step (fires
 * once silent `silentMs`, resolves at the next step with data; `for` on top). Session rules:
 * the state at each evaluation from recorded changes (a parked state fires, a backoff only
 * once longer than its bound, a device no longer in a watched state resolves as no longer
 * reported and a pending one clears).
 */
import assert from 'node:assert/strict';
import { replayAbsence, replaySession, replayThreshold, type PreviewGroup, type PreviewRule, type SessionStateChange } from '../../core/alert-preview';

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

describe('alert preview replay: absence rules', () => {
  /** Sample counts per step from T0 (null: the fleet query's empty step). */
  const counts = (key: string, values: Array<number | null>): PreviewGroup => group(key, values);
  const absence = (silentMs: number, forMs = 0) => ({ spec: { silentMs }, forMs });

  it('fires once the device stored nothing for silentMs and resolves at the first step with samples', () => {
    // Silent 3 min at 1-min steps: steps 2-5 empty; at the end of step 4 the newest data (step 1's end) is 3 min old.
    const r = replayAbsence(absence(3 * STEP), [counts('quiet', [2, 3, null, null, null, null, 1, 2]), counts('busy', [1, 1, 1, 1, 1, 1, 1, 1])], STEP, T0);
    assert.deepEqual(events(r, 'quiet'), [
      ['firing', at(4)],
      ['resolved', at(6)],
    ]);
    const firing = r.instances[0].events[0];
    assert.equal(firing.value, 180, 'the value is the silence in seconds');
    assert.equal(r.quietInstances, 1, 'busy never went silent');
    assert.equal(r.notifications, 2);
    assert.equal(r.instances[0].noDataSteps, 0, 'silence is the condition, not missing data');
  });

  it('a gap shorter than silentMs stays quiet; for holds the silence pending before it fires', () => {
    const short = replayAbsence(absence(3 * STEP), [counts('a', [1, null, null, 1, 1])], STEP, T0);
    assert.deepEqual(events(short, 'a'), []);
    const held = replayAbsence(absence(2 * STEP, 2 * STEP), [counts('a', [1, null, null, null, null, null, 0, 1])], STEP, T0);
    assert.deepEqual(events(held, 'a'), [
      ['pending', at(2)],
      ['firing', at(4)],
      ['resolved', at(7)],
    ]);
  });

  it('a device without any sample counts as having stored just before the range: it fires silentMs in', () => {
    const r = replayAbsence(absence(2 * STEP), [counts('dead', [null, null, null, null])], STEP, T0);
    assert.deepEqual(events(r, 'dead'), [['firing', at(1)]]);
    assert.equal(r.instances[0].state, 'firing');
  });
});

describe('alert preview replay: session rules', () => {
  const session = (over: { states?: string[]; backoffLongerThanMs?: number; forMs?: number } = {}) => ({
    spec: { states: (over.states ?? ['auth-failed', 'config-invalid', 'backoff']) as Array<'auth-failed' | 'config-invalid' | 'backoff'>, backoffLongerThanMs: over.backoffLongerThanMs ?? 2 * STEP },
    forMs: over.forMs ?? 0,
  });
  const changes = (list: Array<[number, string | null]>): SessionStateChange[] => list.map(([minutes, state]) => ({ at: T0 + minutes * STEP, state }));

  it('a parked state fires at the first evaluation that sees it and resolves (no longer reported) once the device streams', () => {
    const devices = new Map([
      ['parked', changes([[-30, 'streaming'], [2.5, 'auth-failed'], [6.5, 'streaming']])],
      ['fine', changes([[-30, 'streaming']])],
    ]);
    const r = replaySession(session(), devices, STEP, T0, T0 + 10 * STEP);
    assert.equal(r.steps, 10);
    assert.deepEqual(events(r, 'parked'), [
      ['firing', at(2)],
      ['resolved', at(6)],
    ]);
    assert.equal(r.instances[0].events[0].value, 30, 'how long it has been in the state (s)');
    assert.equal(r.quietInstances, 1);
  });

  it('a backoff fires only once it lasted longer than backoffLongerThanMs; a short one never does', () => {
    const devices = new Map([
      ['long', changes([[0.5, 'backoff'], [5.5, 'streaming']])],
      ['short', changes([[0.5, 'backoff'], [2.2, 'streaming']])],
    ]);
    const r = replaySession(session(), devices, STEP, T0, T0 + 8 * STEP);
    // In backoff since 0.5 min: 2.5 min at the end of step 2 (> 2 min), resolved at the end of step 5.
    assert.deepEqual(events(r, 'long'), [
      ['firing', at(2)],
      ['resolved', at(5)],
    ]);
    assert.deepEqual(events(r, 'short'), []);
  });

  it('the state at the start of the range counts (a change before from), unwatched states and a gone row do not; for makes it pending first', () => {
    const devices = new Map([
      ['was-parked', changes([[-120, 'config-invalid'], [3.5, null]])],
      ['paused', changes([[-5, 'paused']])],
    ]);
    const r = replaySession(session({ states: ['config-invalid'], forMs: 2 * STEP }), devices, STEP, T0, T0 + 6 * STEP);
    assert.deepEqual(events(r, 'was-parked'), [
      ['pending', at(0)],
      ['firing', at(2)],
      ['resolved', at(3)],
    ]);
    assert.deepEqual(events(r, 'paused'), []);
    const cleared = replaySession(session({ states: ['auth-failed'], forMs: 5 * STEP }), new Map([['brief', changes([[0.5, 'auth-failed'], [2.5, 'streaming']])]]), STEP, T0, T0 + 4 * STEP);
    assert.deepEqual(events(cleared, 'brief'), [
      ['pending', at(0)],
      ['cleared', at(2)],
    ]);
    assert.equal(cleared.notifications, 0);
  });
});
