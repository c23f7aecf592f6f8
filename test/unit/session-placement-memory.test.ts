/**
 * The device-session workflow's placement memory and display (core/session-placement-memory.ts,
 * core/session-display.ts), without Temporal: lost queues and their sequence, a queue placed again,
 * the placement made ahead (kept, taken once, refused), the reason the next attempt asks placement
 * after each kind of end, the classification of settled, failed and lost attempts, and where each
 * `patched()` marker is asked (only where the workflow always asked it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { LOST_QUEUES_KEPT, SessionPlacementMemory, describeFailure, heartbeatOf } from '../../core/session-placement-memory';
import { PLACED_AHEAD_FRESH_MS, PLACED_AHEAD_VALID_MS } from '../../core/placement';
import { SessionDisplay, validateInput, validateReconfigure, validateRequest } from '../../core/session-display';
import { acknowledged, decide, initialMachine, type SessionMachine } from '../../core/session-machine';
import type { RunSessionResult } from '../../core/names';

const T = 1_800_000_000_000;
const q = (name: string) => `device-sessions/${name}/1`;
const at = (name: string) => ({ taskQueue: q(name), collectorId: name });

/** A marker callback that records whether it was asked. */
function marker(answer = true) {
  const m = { asked: 0, ask: () => (m.asked++, answer) };
  return m;
}

const activityFailure = (cause: Error) => new ActivityFailure('activity failed', 'runDeviceSession', '1', RetryState.NON_RETRYABLE_FAILURE, undefined, cause);
const timeout = (type: TimeoutType, heartbeat?: unknown) => new TimeoutFailure('timed out', heartbeat, type);

describe('session placement memory (pure)', () => {
  describe('lost queues', () => {
    it('remembers a lost queue once; a repeat or a malformed signal changes nothing', () => {
      const mem = new SessionPlacementMemory();
      mem.collectorLost(q('a'), undefined, T);
      mem.collectorLost(q('a'), at('b'), T);
      mem.collectorLost(undefined, at('b'), T);
      mem.collectorLost(42, at('b'), T);
      assert.deepEqual(mem.lostQueues, [q('a')]);
      assert.equal(mem.placedAhead, undefined, 'a repeated or malformed signal keeps no placement');
      assert.ok(mem.isLost(q('a')));
      assert.ok(!mem.isLost(q('b')));
      assert.ok(!mem.isLost(undefined), 'the shared queue is never lost');
    });

    it(`keeps at most ${LOST_QUEUES_KEPT}, the oldest forgotten first`, () => {
      const mem = new SessionPlacementMemory();
      for (let i = 0; i < LOST_QUEUES_KEPT + 3; i++) mem.collectorLost(q(`c${i}`), undefined, T);
      assert.equal(mem.lostQueues.length, LOST_QUEUES_KEPT);
      assert.deepEqual(mem.lostQueues[0], q('c3'));
      assert.ok(!mem.isLost(q('c0')));
      assert.ok(mem.isLost(q(`c${LOST_QUEUES_KEPT + 2}`)));
    });

    const placedAgainCases: Array<{ name: string; lostBefore: string[]; lostAfter: string[]; placed: string; patched: boolean; asked: number; lost: string[] }> = [
      { name: 'lost before the ask, placed again: live again', lostBefore: ['a'], lostAfter: [], placed: 'a', patched: true, asked: 1, lost: [] },
      { name: 'placed again, histories before the marker: still lost', lostBefore: ['a'], lostAfter: [], placed: 'a', patched: false, asked: 1, lost: ['a'] },
      { name: 'lost after the ask (the answer was on its way): stays lost', lostBefore: [], lostAfter: ['a'], placed: 'a', patched: true, asked: 0, lost: ['a'] },
      { name: 'placed elsewhere: nothing forgotten, marker not asked', lostBefore: ['a'], lostAfter: [], placed: 'b', patched: true, asked: 0, lost: ['a'] },
    ];
    for (const c of placedAgainCases) {
      it(`a queue placed again — ${c.name}`, () => {
        const mem = new SessionPlacementMemory();
        for (const n of c.lostBefore) mem.collectorLost(q(n), undefined, T);
        const taken = mem.takePlacedAhead(T, () => assert.fail('no placement made ahead: the ADR 245 marker is not asked'));
        for (const n of c.lostAfter) mem.collectorLost(q(n), undefined, T);
        const again = marker(c.patched);
        mem.placedOn(q(c.placed), taken.asked, again.ask);
        assert.equal(again.asked, c.asked, 'times the lost-queue-placed-again marker was asked');
        assert.deepEqual(mem.lostQueues, c.lost.map(q));
      });
    }
  });

  describe('placement made ahead', () => {
    const cases: Array<{ name: string; by: 'monitor' | 'leaving-collector'; age: number; lost?: boolean; patched?: boolean; taken: boolean; refused?: 'lost' | 'too-old'; markerAsked: number }> = [
      { name: 'fresh, by the monitor', by: 'monitor', age: 0, taken: true, markerAsked: 0 },
      { name: 'fresh, by the leaving collector', by: 'leaving-collector', age: PLACED_AHEAD_FRESH_MS, taken: true, markerAsked: 0 },
      { name: 'minutes old with the ADR 245 marker', by: 'leaving-collector', age: PLACED_AHEAD_FRESH_MS + 1, patched: true, taken: true, markerAsked: 1 },
      { name: 'minutes old, history before the marker', by: 'leaving-collector', age: 5 * 60_000, patched: false, taken: false, refused: 'too-old', markerAsked: 1 },
      { name: 'too old', by: 'monitor', age: PLACED_AHEAD_VALID_MS + 1, taken: false, refused: 'too-old', markerAsked: 0 },
      { name: 'on a queue reported lost since', by: 'leaving-collector', age: 0, lost: true, taken: false, refused: 'lost', markerAsked: 0 },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.taken ? 'taken' : `refused (${c.refused})`}, once`, () => {
        const mem = new SessionPlacementMemory();
        if (c.by === 'monitor') mem.collectorLost(q('old'), at('b'), T);
        else mem.settled({ reason: 'handover', points: 3, next: at('b') }, T);
        if (c.lost) mem.collectorLost(q('b'), undefined, T + 1);
        const valid = marker(c.patched ?? true);
        const taken = mem.takePlacedAhead(T + c.age, valid.ask);
        assert.equal(valid.asked, c.markerAsked, 'times the ADR 245 marker was asked');
        if (c.taken) assert.deepEqual(taken.ahead, { placement: at('b'), at: T, by: c.by });
        else assert.equal(taken.ahead, undefined);
        assert.equal(taken.refused, c.refused);
        assert.equal(mem.placedAhead, undefined, 'taken or refused, it is gone');
        assert.deepEqual(mem.takePlacedAhead(T + c.age, valid.ask), { asked: taken.asked }, 'the next attempt finds none');
      });
    }

    it('a malformed placement is not kept; a hand-over without one keeps none', () => {
      const mem = new SessionPlacementMemory();
      mem.collectorLost(q('a'), { taskQueue: q('b') } as never, T);
      mem.settled({ reason: 'handover', points: 0 }, T);
      mem.keepPlacedAhead({ taskQueue: 7, collectorId: 'b' } as never, 'monitor', T);
      assert.equal(mem.placedAhead, undefined);
    });

    it('the latest placement made ahead wins', () => {
      const mem = new SessionPlacementMemory();
      mem.collectorLost(q('a'), at('b'), T);
      mem.settled({ reason: 'handover', points: 1, next: at('c') }, T + 5);
      assert.deepEqual(mem.placedAhead, { placement: at('c'), at: T + 5, by: 'leaving-collector' });
    });
  });

  describe('why the next attempt asks placement (ADR 260)', () => {
    const ended = (mem: SessionPlacementMemory, how: (mem: SessionPlacementMemory) => void) => (how(mem), mem);
    const result =
      (reason: RunSessionResult['reason'], more: Partial<RunSessionResult> = {}) =>
      (mem: SessionPlacementMemory) =>
        void mem.settled({ reason, points: 1, ...more }, T);
    const failure =
      (error: unknown, byRequest = false, lost = false) =>
      (mem: SessionPlacementMemory) =>
        void mem.failed(error, byRequest, lost);
    const cases: Array<[string, (mem: SessionPlacementMemory) => void, string]> = [
      ['none yet', () => undefined, 'first-attempt'],
      ['completed', result('completed'), 'ended'],
      ['lease', result('lease'), 'ended'],
      ['paused where it ran', result('paused', { pause: { reason: 'bulk', at: T } }), 'ended'],
      ['handed over with a next queue', result('handover', { next: at('b') }), 'ended'],
      ['handed over without one', result('handover'), 'handover-without-queue'],
      ['cancelled by request', failure(activityFailure(ApplicationFailure.create({ type: 'CANCELLED', message: 'x' })), true, true), 'ended'],
      ['failed on a queue reported lost', failure(activityFailure(timeout(TimeoutType.HEARTBEAT)), false, true), 'collector-lost'],
      ['heartbeat timeout', failure(activityFailure(timeout(TimeoutType.HEARTBEAT))), 'heartbeat-timeout'],
      ['schedule-to-start timeout', failure(activityFailure(timeout(TimeoutType.SCHEDULE_TO_START))), 'schedule-to-start-timeout'],
      ['start-to-close timeout', failure(activityFailure(timeout(TimeoutType.START_TO_CLOSE))), 'timeout'],
      ['COLLECTOR_LEAVING', failure(activityFailure(ApplicationFailure.create({ type: 'COLLECTOR_LEAVING', message: 'bye' }))), 'collector-leaving'],
      ['a device error', failure(activityFailure(ApplicationFailure.create({ type: 'UNREACHABLE', message: 'no route' }))), 'error'],
      ['lost without confirming its cancellation', (mem) => void mem.lostAttempt(q('a')), 'collector-lost'],
    ];
    for (const [name, how, reason] of cases) {
      it(`after ${name}: ${reason}`, () => assert.equal(ended(new SessionPlacementMemory(), how).askReason(undefined), reason));
    }

    it('a refused placement made ahead says why, whatever the previous attempt', () => {
      const mem = ended(new SessionPlacementMemory(), result('completed'));
      assert.equal(mem.askReason('lost'), 'placed-ahead-lost');
      assert.equal(mem.askReason('too-old'), 'placed-ahead-too-old');
    });
  });

  describe('outcome of an attempt', () => {
    it('a result carries its reason, last point, streamed-until and the pause it carried out', () => {
      const mem = new SessionPlacementMemory();
      assert.deepEqual(mem.settled({ reason: 'handover', points: 9, lastPointAt: T - 5, streamedUntil: T, next: at('b') }, T), {
        kind: 'result',
        reason: 'handover',
        lastPointAt: T - 5,
        streamedUntil: T,
      });
      assert.deepEqual(mem.settled({ reason: 'paused', points: 0, pause: { reason: 'bulk pause', at: T } }, T), {
        kind: 'result',
        reason: 'paused',
        lastPointAt: undefined,
        streamedUntil: undefined,
        pause: { reason: 'bulk pause', at: T },
      });
    });

    it('a failure: its type and message, a timeout named by kind, the last point from its heartbeat', () => {
      const mem = new SessionPlacementMemory();
      const app = ApplicationFailure.create({ type: 'AUTH_FAILED', message: 'bad password', details: [{ attempt: 2, lastPointAt: T - 9 }] });
      assert.deepEqual(mem.failed(activityFailure(app), false, false), { kind: 'error', type: 'AUTH_FAILED', message: 'bad password', lastPointAt: T - 9 });
      assert.deepEqual(mem.failed(activityFailure(timeout(TimeoutType.HEARTBEAT, { attempt: 2, lastPointAt: T - 1 })), false, false), {
        kind: 'error',
        type: 'TIMEOUT',
        message: 'collector lost (heartbeat timeout)',
        lastPointAt: T - 1,
      });
      assert.deepEqual(mem.previousAttempt, { kind: 'error', type: 'TIMEOUT', lost: false, timeout: 'heartbeat' });
      const plain = new Error('outer', { cause: new Error('socket closed') });
      assert.deepEqual(mem.failed(plain, false, false), { kind: 'error', message: 'socket closed', lastPointAt: undefined });
      assert.deepEqual(mem.previousAttempt, { kind: 'error', type: undefined, lost: false });
    });

    it('a lost attempt that never confirmed its cancellation is a TIMEOUT naming the lapsed queue', () => {
      const mem = new SessionPlacementMemory();
      assert.deepEqual(mem.lostAttempt(q('a')), { kind: 'error', type: 'TIMEOUT', message: `collector lost (lease of ${q('a')} lapsed)` });
      assert.deepEqual(mem.previousAttempt, { kind: 'error', type: 'TIMEOUT', lost: true });
    });

    it('describeFailure and heartbeatOf read through causes', () => {
      assert.deepEqual(describeFailure(timeout(TimeoutType.SCHEDULE_TO_START)), { type: 'TIMEOUT', message: 'collector lost (schedule-to-start timeout)', timeout: 'schedule-to-start' });
      assert.deepEqual(describeFailure('text'), { message: 'text' });
      assert.equal(heartbeatOf(new Error('no heartbeat')), undefined);
      assert.deepEqual(heartbeatOf(new Error('wrapped', { cause: activityFailure(timeout(TimeoutType.HEARTBEAT, { attempt: 1, lastPointAt: 5 })) })), { attempt: 1, lastPointAt: 5 });
    });
  });
});

describe('session display (pure)', () => {
  const machine = () => decide(initialMachine(undefined, undefined), { type: 'described', exists: true, initial: true }, () => 0.5).state;

  it('shows a state change once: the search attribute, the recent list, since; the same state again only refreshes the details', () => {
    const d = new SessionDisplay(T);
    const m = machine();
    const first = d.show(m, T + 10, { protocol: 'gnmi', address: '127.0.0.1:57400' });
    assert.deepEqual([m.state, m.detail, first.stateChanged], ['connecting', '', false], 'the state first shown is no change');
    assert.match(first.details, /^\*\*connecting\*\*/);
    assert.ok(first.details.includes(`gnmi · 127.0.0.1:57400 · attempt ${m.attempt} · generation 0`), first.details);
    const paused = { ...m, state: 'paused' as const, detail: 'maintenance', carried: { ...m.carried, paused: true } };
    const second = d.show(paused, T + 20, { protocol: 'gnmi' });
    assert.equal(second.stateChanged, true);
    assert.equal(d.show(paused, T + 30, { protocol: 'gnmi' }).stateChanged, false);
    const status = d.status(paused, { deviceId: 7, deviceName: 'sw7' });
    assert.equal(status.state, 'paused');
    assert.equal(status.since, T + 20);
    assert.equal(status.paused, true);
    assert.deepEqual(
      status.recent?.map((r) => r.state),
      ['paused'],
    );
  });

  it('keeps what the session reported about the encoding and Capabilities', () => {
    const d = new SessionDisplay(T);
    d.reported({ encoding: 'JSON_IETF'.repeat(20), capabilities: 'unimplemented' });
    d.reported({});
    const status = d.status(machine(), { deviceId: 1, deviceName: 'x' });
    assert.equal(status.encoding?.length, 100);
    assert.equal(status.capabilities, 'unimplemented');
  });

  it('validates the input and requests', () => {
    validateRequest(undefined);
    validateRequest({ reason: 'ok' });
    assert.throws(() => validateRequest([]), /must be an object/);
    assert.throws(() => validateRequest({ reason: 'x'.repeat(501) }), /reason must be a string/);
    validateReconfigure({ deviceName: 'sw1' });
    assert.throws(() => validateReconfigure({ deviceName: ' ' }), /deviceName must be/);
    assert.throws(() => validateReconfigure({ deviceName: 'x'.repeat(256) }), /deviceName must be/);
    validateInput({ deviceId: 1, deviceName: 'sw1', protocol: 'gnmi' });
    const configInvalid = (re: RegExp) => (e: unknown) => e instanceof ApplicationFailure && e.type === 'CONFIG_INVALID' && e.nonRetryable && re.test(e.message);
    assert.throws(() => validateInput({ deviceId: 0, deviceName: 'sw1', protocol: 'gnmi' }), configInvalid(/invalid deviceId 0/));
    assert.throws(() => validateInput({ deviceId: 1, deviceName: 'sw1', protocol: 'snmp' as never }), configInvalid(/invalid protocol "snmp"/));
    assert.throws(() => validateInput({ deviceId: 1, deviceName: '', protocol: 'netconf' }), configInvalid(/deviceName is required/));
  });
});

describe('session requests acknowledged (pure)', () => {
  const base = initialMachine(undefined, undefined);
  const with_ = (state: SessionMachine['state'], more: Partial<SessionMachine> = {}, paused = false): SessionMachine => ({
    ...base,
    ...more,
    state,
    carried: { ...base.carried, paused, generation: 2 },
  });
  const cases: Array<[string, SessionMachine, Parameters<typeof acknowledged>[1], boolean]> = [
    ['pause, still streaming', with_('streaming', { running: { generation: 2 } }, true), { type: 'pause' }, false],
    ['pause, paused', with_('paused', {}, true), { type: 'pause' }, true],
    ['resume, still in backoff', with_('backoff'), { type: 'resume' }, false],
    ['resume, connecting', with_('connecting', { running: { generation: 2 } }), { type: 'resume' }, true],
    ['resume, paused again', with_('paused', {}, true), { type: 'resume' }, true],
    ['reconfigure, the old generation running', with_('streaming', { running: { generation: 1 } }), { type: 'reconfigure', generation: 2 }, false],
    ['reconfigure, the new generation running', with_('connecting', { running: { generation: 2 } }), { type: 'reconfigure', generation: 2 }, true],
    ['reconfigure, parked again', with_('auth-failed'), { type: 'reconfigure', generation: 2 }, true],
  ];
  for (const [name, m, request, answer] of cases) it(`${name}: ${answer ? 'answers' : 'waits'}`, () => assert.equal(acknowledged(m, request), answer));
});
