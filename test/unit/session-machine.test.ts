/**
 * The device-session decisions (core/session-machine.ts), row by row as
 * docs/sessions.md tables them: every way an attempt ends, each backoff window
 * and the ceiling, parking, the failover burst, pause / resume / reconfigure
 * during a backoff, the lease, continue-as-new, and the status facts the
 * machine keeps (failing since, next retry). No Temporal, no clock: events
 * carry their time and randomness is passed in.
 */
import assert from 'node:assert/strict';
import { COLLECTOR_LEAVING, type DeviceSessionOptions } from '../../core/names';
import {
  COMPLETED_RESTART_MS,
  HEALTHY_SESSION_MS,
  IMMEDIATE_FAILOVERS,
  decide,
  initialMachine,
  interruptionReason,
  retryDelay,
  retryWindow,
  waitOver,
  type AttemptOutcome,
  type Decision,
  type SessionAction,
  type MachineEvent,
  type SessionMachine,
} from '../../core/session-machine';
import { FAILURE_HANDLING, SessionError, failureHandling, type SessionErrorCode } from '../../core/session';

const T0 = 1_700_000_000_000;
const mid = () => 0.5;
const next: MachineEvent = { type: 'next', continueAsNewDue: false };

/** Feed events in order; returns every decision. */
function run(m: SessionMachine, events: MachineEvent[], random: () => number = mid): Decision[] {
  const out: Decision[] = [];
  for (const e of events) {
    const d = decide(m, e, random);
    out.push(d);
    m = d.state;
  }
  return out;
}
const last = (ds: Decision[]) => ds[ds.length - 1];

/** A machine whose first attempt is running (described, started). */
function running(options?: DeviceSessionOptions, carried?: SessionMachine['carried']): SessionMachine {
  const ds = run(initialMachine(options, carried), [{ type: 'described', exists: true, initial: true }, next]);
  assert.equal(last(ds).action.type, 'start');
  return last(ds).state;
}
const fail = (type: string | undefined, message = `${type}: it broke`, lastPointAt?: number): AttemptOutcome => ({ kind: 'error', type, message, lastPointAt });
const ended = (outcome: AttemptOutcome, now = T0, continueAsNewDue = false): MachineEvent => ({ type: 'ended', outcome, now, continueAsNewDue });

/** End the running attempt with `outcome`, then ask what next until an attempt starts again; returns every action. */
function cycle(m: SessionMachine, outcome: AttemptOutcome, now = T0): { m: SessionMachine; actions: SessionAction[] } {
  const actions: SessionAction[] = [];
  let d = decide(m, ended(outcome, now), mid);
  actions.push(d.action);
  while (d.action.type !== 'start') {
    d = decide(d.state, next, mid);
    actions.push(d.action);
  }
  return { m: d.state, actions };
}

describe('session machine: after an attempt (docs/sessions.md)', () => {
  const rows: Array<[string, AttemptOutcome, SessionAction['type'], Partial<SessionMachine> & { parked?: string }]> = [
    ['lease over', { kind: 'result', reason: 'lease', points: 3 } as AttemptOutcome, 'continue-as-new', {}],
    ['completed by itself (ONCE)', { kind: 'result', reason: 'completed' }, 'restart', {}],
    ['device disabled', { kind: 'result', reason: 'disabled' }, 'next', {}],
    ['device deleted', { kind: 'result', reason: 'deleted' }, 'stop', { state: 'disabled', detail: 'device deleted' }],
    ['AUTH_FAILED', fail('AUTH_FAILED'), 'park', { state: 'auth-failed', parked: 'auth-failed' }],
    ['CONFIG_INVALID', fail('CONFIG_INVALID'), 'park', { state: 'config-invalid', parked: 'config-invalid' }],
    ['HOST_KEY_MISMATCH', fail('HOST_KEY_MISMATCH'), 'park', { state: 'config-invalid', parked: 'config-invalid' }],
    ['HOST_KEY_UNKNOWN', fail('HOST_KEY_UNKNOWN'), 'park', { state: 'config-invalid', parked: 'config-invalid' }],
    ['TLS_FAILED', fail('TLS_FAILED'), 'park', { state: 'config-invalid', parked: 'config-invalid' }],
    ['UNAVAILABLE', fail('UNAVAILABLE'), 'back-off', { state: 'backoff' }],
    ['PROTOCOL_ERROR', fail('PROTOCOL_ERROR'), 'back-off', { state: 'backoff' }],
    ['STALLED', fail('STALLED'), 'back-off', { state: 'backoff' }],
    ['INTERNAL', fail('INTERNAL'), 'back-off', { state: 'backoff' }],
    ['an unknown failure type', fail('SOMETHING_NEW'), 'back-off', { state: 'backoff' }],
    ['a failure without a type', fail(undefined, 'boom'), 'back-off', { state: 'backoff' }],
    ['COLLECTOR_LEAVING (SIGTERM)', fail(COLLECTOR_LEAVING), 'fail-over', {}],
    ['a planned hand-over (SIGTERM, clean)', { kind: 'result', reason: 'handover' }, 'fail-over', {}],
    ['TIMEOUT (heartbeats stopped)', fail('TIMEOUT', 'collector lost (heartbeat timeout)'), 'fail-over', {}],
  ];
  for (const [name, outcome, action, expect] of rows) {
    it(`${name} → ${action}`, () => {
      const d = decide(running(), ended(outcome), mid);
      assert.equal(d.action.type, action);
      if (expect.state) assert.equal(d.state.state, expect.state);
      if (expect.detail) assert.equal(d.state.detail, expect.detail);
      assert.equal(d.state.carried.parked?.state, expect.parked);
      assert.equal(d.state.running, undefined, 'no attempt in flight after it ended');
      if (outcome.kind === 'error') {
        assert.equal(d.state.lastError, outcome.message);
        assert.equal(d.state.carried.failingSince, T0);
      } else {
        assert.equal(d.state.carried.failingSince, undefined);
      }
      if (action === 'restart') assert.equal((d.action as { delayMs: number }).delayMs, COMPLETED_RESTART_MS);
      if (action === 'stop') assert.equal((d.action as { drain: boolean }).drain, false);
    });
  }

  it('a disabled device then waits in disabled until enabled (resume or reconfigure)', () => {
    const [, wait] = run(running(), [ended({ kind: 'result', reason: 'disabled' }), next]);
    assert.equal(wait.action.type, 'wait-enabled');
    assert.equal(wait.state.state, 'disabled');
    assert.equal(waitOver(wait.state, wait.action, false), false);
    const resumed = decide(wait.state, { type: 'resume' }, mid).state;
    assert.equal(waitOver(resumed, wait.action, false), true);
    assert.equal(decide(resumed, next, mid).action.type, 'start');
  });

  for (const [request, event] of [
    ['pause', { type: 'pause', reason: 'maintenance' }],
    ['reconfigure', { type: 'reconfigure' }],
    ['stop', { type: 'stop' }],
  ] as const) {
    it(`a failure of an attempt interrupted by ${request} is not a break: no gap, no backoff, no park`, () => {
      const m = decide(running(), event, mid).state;
      for (const type of ['UNAVAILABLE', 'AUTH_FAILED', 'TIMEOUT']) {
        const d = decide(m, ended(fail(type, 'x', T0 - 5_000)), mid);
        assert.equal(d.action.type, 'next', type);
        assert.equal(d.state.carried.brokenSince, undefined);
        assert.equal(d.state.carried.parked, undefined);
        assert.equal(d.state.carried.lastPointAt, T0 - 5_000, 'the last point is still kept');
      }
    });
  }

  it('an attempt ended while continue-as-new is due is not a break either', () => {
    const d = decide(running(), ended(fail('UNAVAILABLE'), T0, true), mid);
    assert.equal(d.action.type, 'next');
    assert.equal(decide(d.state, { type: 'next', continueAsNewDue: true }, mid).action.type, 'continue-as-new');
  });

  it('a break carries the gap from the last point before it through every retry', () => {
    let m = running();
    const starts: SessionAction[] = [];
    // The start stays at the first break's last point even when a later attempt reports a newer one
    // (the activity takes the newest stored point from the database anyway: ADR 041).
    for (const [i, lastPointAt] of [5_000, 6_000, undefined].entries()) {
      const c = cycle(m, fail('UNAVAILABLE', `refused ${i}`, lastPointAt), T0 + i * 10_000);
      m = c.m;
      starts.push(c.actions[c.actions.length - 1]);
    }
    assert.deepEqual(
      starts.map((s) => s.type === 'start' && [s.attempt, s.gapFrom, s.gapReason]),
      [
        [2, 5_000, 'refused 0'],
        [3, 5_000, 'refused 1'],
        [4, 5_000, 'refused 2'],
      ],
    );
    assert.equal(m.state, 'connecting');
    assert.equal(m.detail, 'reconnecting after a break');
    assert.equal(m.carried.failingSince, T0, 'failing since the first break');
  });
});

describe('session machine: backoff windows', () => {
  const defaults = initialMachine(undefined, undefined).opts;
  // [max(1 s, base/2), max(that + 1 s, base)], base = 1 s · 2^(n−1) capped at 30 s.
  const windows: Array<[number, [number, number]]> = [
    [1, [1_000, 2_000]],
    [2, [1_000, 2_000]],
    [3, [2_000, 4_000]],
    [4, [4_000, 8_000]],
    [5, [8_000, 16_000]],
    [6, [15_000, 30_000]],
    [7, [15_000, 30_000]],
    [20, [15_000, 30_000]],
  ];
  for (const [n, [low, high]] of windows) {
    it(`retry ${n}: ${low / 1000}–${high / 1000} s`, () => {
      assert.deepEqual(retryWindow(defaults, n), [low, high]);
      assert.equal(retryDelay(defaults, n, 0.5), Math.round((low + high) / 2));
    });
  }

  it('consecutive breaks walk through the windows; the chosen delay is in the state and the action', () => {
    let m = running();
    for (const [n, [low, high]] of windows.slice(0, 7)) {
      for (const r of [0, 1]) {
        const d = decide(m, ended(fail('UNAVAILABLE', 'refused')), () => r);
        assert.equal(d.action.type, 'back-off');
        const a = d.action as Extract<SessionAction, { type: 'back-off' }>;
        assert.equal(a.retry, n);
        assert.equal(a.delayMs, r ? high : low);
        assert.deepEqual(d.state.backoff, { at: T0, ms: a.delayMs, retry: n, resumes: 0 });
        assert.equal(d.state.detail, `refused; retry ${n} in ${(a.delayMs / 1000).toFixed(1)} s`);
      }
      m = cycle(m, fail('UNAVAILABLE', 'refused')).m;
    }
  });

  it('never above the 30 s ceiling, whatever the options say', () => {
    const opts = initialMachine({ initialBackoffMs: 20_000, maxBackoffMs: 120_000 }, undefined).opts;
    assert.equal(opts.maxBackoffMs, 30_000);
    for (const n of [1, 2, 5, 50]) assert.ok(retryWindow(opts, n)[1] <= 30_000, `retry ${n}`);
    assert.deepEqual(retryWindow(opts, 3), [15_000, 30_000]);
  });

  it('a configured lower ceiling caps the windows ([1.25, 2.5] s for 2.5 s)', () => {
    const opts = initialMachine({ initialBackoffMs: 1_000, maxBackoffMs: 2_500 }, undefined).opts;
    assert.deepEqual([1, 2, 3, 4].map((n) => retryWindow(opts, n)), [
      [1_000, 2_000],
      [1_000, 2_000],
      [1_250, 2_500],
      [1_250, 2_500],
    ]);
  });

  it('sub-second delays are raised to the timer floor and keep a second of jitter (ADR 042)', () => {
    const opts = initialMachine({ initialBackoffMs: 100, maxBackoffMs: 300 }, undefined).opts;
    assert.deepEqual(retryWindow(opts, 1), [1_000, 2_000]);
    assert.deepEqual(retryWindow(opts, 3), [1_000, 2_000]);
  });

  it('runs started before ADR 042 (no patch marker) keep their [base/2, base] delays', () => {
    const opts = initialMachine({ initialBackoffMs: 400, maxBackoffMs: 1_600 }, undefined).opts;
    assert.equal(retryDelay(opts, 1, 0, false), 200);
    assert.equal(retryDelay(opts, 3, 1, false), 1_600);
    const d = decide(running({ initialBackoffMs: 400 }), ended(fail('UNAVAILABLE')), () => 0, () => false);
    assert.equal((d.action as { delayMs: number }).delayMs, 200);
  });

  it('random and the timer-floor check are consulted only when a backoff is drawn', () => {
    let asked = 0;
    const count = () => (asked++, 0.5);
    const m = running();
    for (const o of [fail('AUTH_FAILED'), fail('TIMEOUT'), { kind: 'result', reason: 'lease' } as AttemptOutcome]) {
      decide(m, ended(o), count, () => (asked++, true));
    }
    decide(m, next, count, () => (asked++, true));
    assert.equal(asked, 0);
    decide(m, ended(fail('UNAVAILABLE')), count, () => (asked++, true));
    assert.equal(asked, 2);
  });

  it('a session that streamed for 30 s resets the backoff; a shorter one does not', () => {
    let m = running();
    for (let i = 0; i < 4; i++) m = cycle(m, fail('UNAVAILABLE')).m;
    assert.equal(m.failures, 4);
    const short = decide(decide(m, { type: 'streaming', attempt: m.attempt, now: T0 }, mid).state, ended(fail('UNAVAILABLE'), T0 + HEALTHY_SESSION_MS - 1), mid);
    assert.equal((short.action as { retry: number }).retry, 5);
    const healthy = decide(decide(m, { type: 'streaming', attempt: m.attempt, now: T0 }, mid).state, ended(fail('UNAVAILABLE'), T0 + HEALTHY_SESSION_MS), mid);
    assert.equal((healthy.action as { retry: number }).retry, 1);
  });
});

describe('session machine: failover burst, parking, requests, lease', () => {
  it(`replaces a lost collector at once ${IMMEDIATE_FAILOVERS} times in a row, then backs off`, () => {
    let m = running();
    const firstActions: string[] = [];
    for (let i = 0; i < IMMEDIATE_FAILOVERS + 2; i++) {
      const c = cycle(m, fail(i % 2 ? 'TIMEOUT' : COLLECTOR_LEAVING));
      firstActions.push(c.actions[0].type);
      m = c.m;
    }
    assert.deepEqual(firstActions, ['fail-over', 'fail-over', 'fail-over', 'back-off', 'back-off']);
  });

  it('a healthy session between collector losses restores the immediate failovers', () => {
    let m = running();
    for (let i = 0; i < IMMEDIATE_FAILOVERS; i++) m = cycle(m, fail('TIMEOUT')).m;
    m = decide(m, { type: 'streaming', attempt: m.attempt, now: T0 }, mid).state;
    assert.equal(decide(m, ended(fail('TIMEOUT'), T0 + HEALTHY_SESSION_MS), mid).action.type, 'fail-over');
  });

  it('parks: no attempt while parked, resume or reconfigure unparks and retries at once', () => {
    const [parked] = run(running(), [ended(fail('AUTH_FAILED', 'AUTH_FAILED: the device said no'))]);
    assert.equal(parked.action.type, 'park');
    assert.equal(parked.state.failures, 0);
    assert.deepEqual(parked.state.carried.parked, { state: 'auth-failed', error: 'AUTH_FAILED: the device said no' });
    // Asked again while nothing changed: still parked, no start.
    const again = decide(parked.state, next, mid);
    assert.equal(again.action.type, 'park');
    assert.equal(waitOver(again.state, again.action, false), false);
    for (const [req, events, actions] of [
      [{ type: 'resume' }, [next], ['start']],
      [{ type: 'reconfigure' }, [next, { type: 'described', exists: true }, next], ['describe', 'next', 'start']],
    ] as const) {
      const after = decide(again.state, req, mid).state;
      assert.equal(after.carried.parked, undefined, req.type);
      assert.equal(waitOver(after, again.action, false), true, req.type);
      const d = run(after, [...events]);
      assert.deepEqual(d.map((x) => x.action.type), actions, req.type);
      assert.equal(last(d).state.carried.failingSince, T0, 'still failing until points arrive');
    }
  });

  it('a parked session that is paused waits paused; continue-as-new due wakes it', () => {
    const parked = decide(running(), ended(fail('TLS_FAILED')), mid);
    assert.equal(waitOver(parked.state, parked.action, true), true);
    const paused = decide(parked.state, { type: 'pause' }, mid).state;
    assert.equal(waitOver(paused, parked.action, false), true);
    assert.equal(decide(paused, next, mid).action.type, 'acknowledge-pause');
  });

  it('pause during a backoff ends the wait, acknowledges the pause, and drops the next retry', () => {
    const b = decide(running(), ended(fail('UNAVAILABLE')), mid);
    assert.equal(b.action.type, 'back-off');
    assert.equal(waitOver(b.state, b.action, false), false);
    const paused = decide(b.state, { type: 'pause', reason: 'rewiring' }, mid).state;
    assert.equal(waitOver(paused, b.action, false), true);
    const ack = decide(paused, next, mid);
    assert.equal(ack.action.type, 'acknowledge-pause');
    assert.equal(ack.state.state, 'paused');
    assert.equal(ack.state.detail, 'rewiring');
    assert.equal(ack.state.backoff, undefined);
    assert.equal(waitOver(ack.state, ack.action, false), false);
    const resumed = decide(ack.state, { type: 'resume' }, mid).state;
    assert.equal(waitOver(resumed, ack.action, false), true);
    const start = decide(resumed, next, mid);
    assert.equal(start.action.type, 'start');
    assert.equal((start.action as { gapFrom?: number }).gapFrom, undefined, 'no points yet, no gap');
  });

  it('says why it ends a running attempt (the reason of its direct stop): collector lost, stop, pause, reconfigure, else the history limit', () => {
    const m = running();
    assert.equal(interruptionReason(m, true), 'collector lost');
    assert.equal(interruptionReason(decide(m, { type: 'stop' }, mid).state, false), 'stop');
    assert.equal(interruptionReason(decide(m, { type: 'pause' }, mid).state, false), 'pause');
    assert.equal(interruptionReason(decide(m, { type: 'reconfigure' }, mid).state, false), 'reconfigure');
    assert.equal(interruptionReason(m, false), 'history limit');
  });

  it('resume during a backoff retries at once; reconfigure reads the device first', () => {
    const b = decide(running(), ended(fail('UNAVAILABLE')), mid);
    const resumed = decide(b.state, { type: 'resume' }, mid).state;
    assert.equal(waitOver(resumed, b.action, false), true);
    assert.equal(decide(resumed, next, mid).action.type, 'start');

    const reconfigured = decide(b.state, { type: 'reconfigure' }, mid).state;
    assert.equal(waitOver(reconfigured, b.action, false), true);
    const ds = run(reconfigured, [next, { type: 'described', exists: true }, next]);
    assert.deepEqual(ds.map((d) => d.action.type), ['describe', 'next', 'start']);
    assert.equal((last(ds).action as { generation: number }).generation, 1);
  });

  it('a device deleted meanwhile ends the workflow when it is read again', () => {
    const m = decide(running(), { type: 'reconfigure' }, mid).state;
    const ds = run(m, [ended(fail('UNAVAILABLE')), next, { type: 'described', exists: false }]);
    assert.deepEqual(ds.map((d) => d.action.type), ['next', 'describe', 'stop']);
    assert.equal(last(ds).state.detail, 'device deleted');
  });

  it('a stop request ends the workflow after its handlers finished', () => {
    const d = run(running(), [{ type: 'stop' }, ended(fail(undefined, 'cancelled')), next]);
    assert.deepEqual(last(d).action, { type: 'stop', drain: true });
    assert.equal(last(d).state.state, 'disabled');
  });

  it('the lease ends in continue-as-new carrying attempts, the last point, pause and generation', () => {
    const m = decide(running(undefined, { paused: false, generation: 2, attempts: 6 }), { type: 'streaming', attempt: 7, now: T0 }, mid).state;
    const d = decide(m, ended({ kind: 'result', reason: 'lease', lastPointAt: 7_000 }), mid);
    assert.equal(d.action.type, 'continue-as-new');
    assert.deepEqual(d.state.carried, { paused: false, generation: 2, attempts: 7, lastPointAt: 7_000, brokenSince: undefined, brokenReason: undefined, failingSince: undefined });
    // The next run starts from the carried state: attempt 8, no gap (a lease end is not a break).
    const again = running(undefined, d.state.carried);
    assert.equal(again.attempt, 8);
    assert.equal(again.carried.brokenSince, undefined);
  });

  it('continue-as-new while paused keeps the pause (woken by the history limit)', () => {
    const ack = run(decide(running(), { type: 'pause' }, mid).state, [ended(fail(undefined, 'cancelled')), next]);
    assert.equal(last(ack).action.type, 'acknowledge-pause');
    assert.equal(waitOver(last(ack).state, last(ack).action, true), true);
    const d = decide(last(ack).state, { type: 'next', continueAsNewDue: true }, mid);
    assert.equal(d.action.type, 'continue-as-new');
    assert.equal(d.state.carried.paused, true);
    // A run carried paused starts paused.
    assert.equal(decide(initialMachine(undefined, d.state.carried), next, mid).action.type, 'acknowledge-pause');
  });

  it('points arriving clear failing-since; events of a stale attempt change nothing', () => {
    const b = cycle(running(), fail('UNAVAILABLE')).m;
    assert.equal(b.carried.failingSince, T0);
    const stale = decide(b, { type: 'streaming', attempt: b.attempt - 1, now: T0 + 1 }, mid);
    assert.equal(stale.action.type, 'none');
    assert.equal(stale.state.carried.failingSince, T0);
    const live = decide(b, { type: 'streaming', attempt: b.attempt, now: T0 + 1 }, mid);
    assert.equal(live.action.type, 'show');
    assert.equal(live.state.state, 'streaming');
    assert.equal(live.state.carried.failingSince, undefined);
    assert.equal(decide(live.state, { type: 'streaming', attempt: b.attempt, now: T0 + 2 }, mid).action.type, 'none', 'already streaming');
  });

  it('decide never changes the state it is given', () => {
    const m = running();
    const frozen = JSON.stringify(m);
    for (const e of [ended(fail('UNAVAILABLE', 'x', 5)), ended(fail('AUTH_FAILED')), { type: 'pause' }, { type: 'resume' }, { type: 'reconfigure' }, { type: 'stop' }] as MachineEvent[]) {
      decide(m, e, mid);
    }
    assert.equal(JSON.stringify(m), frozen);
  });
});

describe('session failure classification (one table for the activity and the workflow)', () => {
  const codes: SessionErrorCode[] = ['AUTH_FAILED', 'CONFIG_INVALID', 'HOST_KEY_MISMATCH', 'HOST_KEY_UNKNOWN', 'TLS_FAILED', 'UNAVAILABLE', 'PROTOCOL_ERROR', 'STALLED', 'INTERNAL'];
  it('every session error code is retryable exactly when the workflow does not park on it', () => {
    for (const code of codes) {
      assert.equal(new SessionError(code, 'x').retryable, FAILURE_HANDLING[code].then !== 'park', code);
      const d = decide(running(), ended(fail(code)), mid);
      assert.equal(d.action.type === 'park', !new SessionError(code, 'x').retryable, code);
    }
  });
  it('a collector shutting down and a heartbeat timeout fail over; anything unknown backs off', () => {
    assert.deepEqual(failureHandling(COLLECTOR_LEAVING), { then: 'fail-over' });
    assert.deepEqual(failureHandling('TIMEOUT'), { then: 'fail-over' });
    assert.deepEqual(failureHandling('toString'), { then: 'back-off' });
    assert.deepEqual(failureHandling(undefined), { then: 'back-off' });
  });
});

describe('session machine: a planned hand-over (issue 21)', () => {
  it('fails over at once, records the gap from the last point like COLLECTOR_LEAVING, and is no error', () => {
    const d = decide(running(), ended({ kind: 'result', reason: 'handover', lastPointAt: T0 - 1000 }), mid);
    assert.equal(d.action.type, 'fail-over');
    assert.equal(d.state.carried.brokenSince, T0 - 1000, 'the gap starts at the last point');
    assert.match(d.state.carried.brokenReason ?? '', /^COLLECTOR_LEAVING: .*planned hand-over/);
    assert.equal(d.state.lastError, undefined, 'a hand-over is not shown as an error');
    assert.equal(d.state.carried.failingSince, undefined);
  });
  it('of a session streaming until it ended there: the break starts when that stream ended, not at its last point (make before break, ADR 236)', () => {
    const d = decide(running(), ended({ kind: 'result', reason: 'handover', lastPointAt: T0 - 1000, streamedUntil: T0 - 200 }), mid);
    assert.equal(d.state.carried.brokenSince, T0 - 200, 'the next stream, begun before T0 - 200, records no gap');
    assert.equal(d.state.carried.lastPointAt, T0 - 1000, 'the last point is still the last point');
  });
  it('moved again before the workflow heard it stream: the break starts when that stream ended, not at the earlier break it settled', () => {
    const first = cycle(running(), { kind: 'result', reason: 'handover', lastPointAt: T0 - 5000, streamedUntil: T0 - 4000 });
    assert.deepEqual(first.actions.filter((a) => a.type === 'start').map((a) => a.type === 'start' && a.gapFrom), [T0 - 4000]);
    // The next attempt streamed (it adopted a warm stream: no gap) and was moved on before its streaming event arrived.
    const again = decide(first.m, ended({ kind: 'result', reason: 'handover', lastPointAt: T0 - 300, streamedUntil: T0 - 100 }), mid);
    assert.equal(again.state.carried.brokenSince, T0 - 100, 'not T0 - 4000: the following stream, begun before T0 - 100, records no gap');
  });
});

describe('session machine: an attempt ended as paused by its collector (bulk pause, ADR 250)', () => {
  const bulk = { reason: 'bulk pause (#7) by admin@example.com', at: T0 };
  const pausedResult = (pause?: { reason: string; at: number }): AttemptOutcome => ({ kind: 'result', reason: 'paused', lastPointAt: T0 - 500, ...(pause ? { pause } : {}) });

  it('is a pause: acknowledged with the bulk reason at the next step, no gap, no error, nothing started', () => {
    const d = decide(running(), ended(pausedResult(bulk), T0 + 100), mid);
    assert.equal(d.action.type, 'next');
    assert.equal(d.state.carried.paused, true);
    assert.equal(d.state.carried.pausedReason, bulk.reason);
    assert.equal(d.state.carried.brokenSince, undefined, 'a pause is no break');
    assert.equal(d.state.carried.lastPointAt, T0 - 500);
    assert.equal(d.state.lastError, undefined);
    const ack = decide(d.state, next, mid);
    assert.equal(ack.action.type, 'acknowledge-pause');
    assert.equal(ack.state.state, 'paused');
    assert.equal(ack.state.detail, bulk.reason);
    assert.equal(waitOver(ack.state, ack.action, false), false, 'waits for a resume');
    const resumed = decide(ack.state, { type: 'resume', now: T0 + 5000 }, mid).state;
    assert.equal(waitOver(resumed, ack.action, false), true);
    assert.equal(decide(resumed, next, mid).action.type, 'start');
  });

  it('a resume the workflow saw after the collector ended the attempt wins: the session starts again', () => {
    const resumedLater = decide(running(), { type: 'resume', now: T0 + 50 }, mid).state;
    const d = decide(resumedLater, ended(pausedResult(bulk), T0 + 100), mid);
    assert.equal(d.state.carried.paused, false);
    assert.equal(d.action.type, 'next');
    assert.equal(decide(d.state, next, mid).action.type, 'start');
  });

  it('a resume before the collector ended the attempt does not undo the pause', () => {
    const resumedBefore = decide(running(), { type: 'resume', now: T0 - 50 }, mid).state;
    const d = decide(resumedBefore, ended(pausedResult(bulk), T0 + 100), mid);
    assert.equal(d.state.carried.paused, true);
    assert.equal(decide(d.state, next, mid).action.type, 'acknowledge-pause');
  });

  it('a stop requested meanwhile still ends the workflow; a pause signal as well changes nothing', () => {
    const stopping = decide(running(), { type: 'stop' }, mid).state;
    const d = decide(stopping, ended(pausedResult(bulk)), mid);
    assert.deepEqual(decide(d.state, next, mid).action, { type: 'stop', drain: true });
    const signalled = decide(running(), { type: 'pause', reason: bulk.reason }, mid).state;
    const twice = decide(signalled, ended(pausedResult(bulk)), mid);
    assert.equal(twice.state.carried.paused, true);
    assert.equal(decide(twice.state, next, mid).action.type, 'acknowledge-pause');
  });

  it('without the pause details it is still a pause, with a generic reason', () => {
    const d = decide(running(), ended(pausedResult()), mid);
    assert.equal(d.state.carried.paused, true);
    assert.equal(d.state.carried.pausedReason, 'paused by a bulk action');
  });
});
