/**
 * Session placement and rebalance planning (core/placement.ts, ADR 110): least
 * loaded first, sticky within the share, draining and full collectors skipped,
 * a saturated event loop chosen last; rebalancing moves a joining collector's
 * share over within the move budget, empties a draining collector, and leaves a
 * spread within ±10 % alone. Placing a fleet one session at a time (as the
 * activity does under its lock) ends within the share of every collector; a batch
 * (ADR 200) decides exactly as those one-by-one placements would.
 */
import assert from 'node:assert/strict';
import {
  PLACED_AHEAD_FRESH_MS,
  PLACED_AHEAD_VALID_MS,
  choosePlacement,
  placeBatch,
  placedAheadFor,
  placementAskReason,
  planRebalance,
  sharesOf,
  withinShare,
  type CollectorLoad,
  type PlacedAhead,
} from '../../core/placement';

const c = (id: string, sessions: number, more: Partial<CollectorLoad> = {}): CollectorLoad => ({ id, sessions, capacity: 1000, draining: false, ...more });

/** Apply a plan as the system would: each moved session is placed again (avoiding its source). */
function applyPlan(loads: CollectorLoad[], plan: Map<string, number>): CollectorLoad[] {
  let cur = loads.map((x) => ({ ...x }));
  for (const [from, n] of plan) {
    for (let i = 0; i < n; i++) {
      cur = cur.map((x) => (x.id === from ? { ...x, sessions: x.sessions - 1 } : x));
      const to = choosePlacement(cur, { avoid: from })!;
      cur = cur.map((x) => (x.id === to ? { ...x, sessions: x.sessions + 1 } : x));
    }
  }
  return cur;
}

describe('session placement (pure)', () => {
  it('places on the least loaded collector, ties by id', () => {
    assert.equal(choosePlacement([c('a', 5), c('b', 2), c('c', 9)]), 'b');
    assert.equal(choosePlacement([c('b', 0), c('a', 0)]), 'a');
    assert.equal(choosePlacement([]), undefined);
  });

  it('weighs load by capacity', () => {
    assert.equal(choosePlacement([c('small', 4, { capacity: 10 }), c('big', 10, { capacity: 100 })]), 'big');
  });

  it('stays on the previous collector while it is within its share, leaves it when above', () => {
    assert.equal(choosePlacement([c('a', 10), c('b', 9), c('c', 9)], { previous: 'a' }), 'a');
    assert.equal(choosePlacement([c('a', 14), c('b', 8), c('c', 8)], { previous: 'a' }), 'b');
  });

  it('never places on a draining, full or avoided collector; a saturated event loop only when nothing else has room', () => {
    assert.equal(choosePlacement([c('a', 0, { draining: true }), c('b', 50)]), 'b');
    assert.equal(choosePlacement([c('a', 10, { capacity: 10 }), c('b', 50)]), 'b');
    assert.equal(choosePlacement([c('a', 10, { capacity: 10 })]), undefined);
    assert.equal(choosePlacement([c('a', 0), c('b', 5)], { avoid: 'a' }), 'b');
    assert.equal(choosePlacement([c('a', 0, { loopP99Ms: 900 }), c('b', 5)]), 'b');
    assert.equal(choosePlacement([c('a', 0, { loopP99Ms: 900 })]), 'a');
    assert.equal(choosePlacement([c('a', 0), c('b', 5)], { previous: 'a', avoid: 'a' }), 'b');
  });

  it('placing 30 sessions one by one over three collectors gives 10 / 10 / 10', () => {
    let loads = [c('a', 0), c('b', 0), c('c', 0)];
    for (let i = 0; i < 30; i++) {
      const to = choosePlacement(loads);
      loads = loads.map((x) => (x.id === to ? { ...x, sessions: x.sessions + 1 } : x));
    }
    assert.deepEqual(
      loads.map((x) => x.sessions),
      [10, 10, 10],
    );
  });

  it('shares follow capacity; within ±10 % rounds outward', () => {
    assert.deepEqual(
      [...sharesOf([c('a', 0, { capacity: 100 }), c('b', 0, { capacity: 300 }), c('d', 0, { draining: true })], 40)],
      [
        ['a', 10],
        ['b', 30],
      ],
    );
    assert.ok(withinShare(11, 10) && withinShare(9, 10) && !withinShare(12, 10) && !withinShare(8, 10));
    assert.ok(withinShare(4, 3.33) && withinShare(3, 3.33) && !withinShare(5, 3.33));
  });
});

describe('batch placement (pure, ADR 200)', () => {
  it('decides a batch as one placement after another: new sessions spread, capacity respected, the input unchanged', () => {
    const loads = [c('a', 0, { capacity: 4 }), c('b', 0, { capacity: 4 }), c('d', 0, { draining: true })];
    const chosen = placeBatch(
      loads,
      Array.from({ length: 10 }, (_, i) => ({ deviceId: i + 1 })),
    );
    const per = (id: string) => [...chosen.values()].filter((x) => x === id).length;
    assert.deepEqual([per('a'), per('b'), per('d')], [4, 4, 0]);
    assert.deepEqual([chosen.get(9), chosen.get(10)], [undefined, undefined], 'no room left: the shared queue');
    assert.deepEqual(
      loads.map((x) => x.sessions),
      [0, 0, 0],
    );
  });

  it('a session counted on its collector stays there within the share; a moving one leaves unless nowhere else has room', () => {
    // a holds 6 (devices 1-6 among them), b holds 4: restarting 1-6 together keeps them on a.
    const loads = [c('a', 6), c('b', 4)];
    const again = placeBatch(
      loads,
      [1, 2, 3, 4, 5, 6].map((deviceId) => ({ deviceId, previous: 'a', countedOn: 'a' })),
    );
    assert.deepEqual([...new Set(again.values())], ['a']);
    const moved = placeBatch(loads, [{ deviceId: 1, previous: 'a', countedOn: 'a', moving: true }]);
    assert.equal(moved.get(1), 'b');
    const stays = placeBatch([c('a', 3), c('b', 5, { capacity: 5 })], [{ deviceId: 1, previous: 'a', countedOn: 'a', moving: true }]);
    assert.equal(stays.get(1), 'a');
  });

  it("a lost collector's sessions are shared by the live ones as placing them one by one would, each device once", () => {
    const loads = [c('a', 10), c('b', 30), c('c', 20)];
    const requests = Array.from({ length: 40 }, (_, i) => ({ deviceId: 100 + (i % 30), previous: 'gone' }));
    const chosen = placeBatch(loads, requests);
    assert.equal(chosen.size, 30);
    let one = loads.map((x) => ({ ...x }));
    for (const id of new Set(requests.map((r) => r.deviceId))) {
      const to = choosePlacement(one, { previous: 'gone' });
      one = one.map((x) => (x.id === to ? { ...x, sessions: x.sessions + 1 } : x));
      assert.equal(chosen.get(id), to);
    }
    assert.deepEqual(
      one.map((x) => x.sessions),
      [30, 30, 30],
    );
  });
});

describe('rebalance planning (pure)', () => {
  it('leaves a spread within ±10 % alone', () => {
    assert.equal(planRebalance([c('a', 10), c('b', 11), c('c', 9)], 5).size, 0);
  });

  it('a collector joining a loaded pair receives its share, at most `budget` moves at a time', () => {
    let loads = [c('a', 15), c('b', 15), c('c', 0)];
    const first = planRebalance(loads, 4);
    assert.equal(
      [...first.values()].reduce((n, x) => n + x, 0),
      4,
      'the budget bounds the moves',
    );
    assert.deepEqual(
      [...first],
      [
        ['a', 2],
        ['b', 2],
      ],
      'taken round-robin from the most loaded',
    );
    let rounds = 0;
    for (let plan = first; plan.size > 0; plan = planRebalance(loads, 4)) {
      loads = applyPlan(loads, plan);
      assert.ok(++rounds < 10, 'converges');
    }
    assert.deepEqual(
      loads.map((x) => x.sessions),
      [10, 10, 10],
    );
  });

  it('moves already in flight count against the excess of their collector', () => {
    assert.deepEqual([...planRebalance([c('a', 15, { moving: 3 }), c('b', 15, { moving: 5 }), c('c', 0)], 10)], [['a', 2]]);
  });

  it('empties a draining collector onto the others, within the budget', () => {
    let loads = [c('a', 10, { draining: true }), c('b', 10), c('c', 10)];
    assert.deepEqual([...planRebalance(loads, 3)], [['a', 3]]);
    for (let plan = planRebalance(loads, 3); plan.size > 0; plan = planRebalance(loads, 3)) loads = applyPlan(loads, plan);
    assert.deepEqual(
      loads.map((x) => x.sessions),
      [0, 15, 15],
    );
  });

  it('plans nothing without budget or without an open collector', () => {
    assert.equal(planRebalance([c('a', 15), c('b', 0)], 0).size, 0);
    assert.equal(planRebalance([c('a', 15, { draining: true })], 5).size, 0);
  });
});

describe('why an attempt asks placement (ADR 260)', () => {
  it('names a refused placement made ahead before how the previous attempt ended', () => {
    const handedOver = { kind: 'result', reason: 'handover', next: true } as const;
    assert.equal(placementAskReason(handedOver, 'lost'), 'placed-ahead-lost');
    assert.equal(placementAskReason(handedOver, 'too-old'), 'placed-ahead-too-old');
  });
  it('otherwise names how the previous attempt ended', () => {
    const table: Array<[Parameters<typeof placementAskReason>[0], string]> = [
      [undefined, 'first-attempt'],
      [{ kind: 'result', reason: 'handover' }, 'handover-without-queue'],
      [{ kind: 'result', reason: 'handover', next: true }, 'ended'],
      [{ kind: 'result', reason: 'completed' }, 'ended'],
      [{ kind: 'error', type: 'TIMEOUT', lost: true }, 'collector-lost'],
      [{ kind: 'error', type: 'TIMEOUT' }, 'timeout'],
      [{ kind: 'error', type: 'TIMEOUT', timeout: 'heartbeat' }, 'heartbeat-timeout'],
      [{ kind: 'error', type: 'TIMEOUT', timeout: 'schedule-to-start' }, 'schedule-to-start-timeout'],
      [{ kind: 'error', type: 'TIMEOUT', timeout: 'start-to-close' }, 'timeout'],
      [{ kind: 'error', type: 'TIMEOUT', timeout: 'heartbeat', lost: true }, 'collector-lost'],
      [{ kind: 'error', type: 'COLLECTOR_LEAVING' }, 'collector-leaving'],
      [{ kind: 'error', type: 'UNAVAILABLE' }, 'error'],
    ];
    for (const [previous, reason] of table) assert.equal(placementAskReason(previous), reason, JSON.stringify(previous));
  });
});

describe('a placement made ahead, taken by the next attempt (ADR 200, 245)', () => {
  const T = 1_700_000_000_000;
  const ahead: PlacedAhead = { placement: { taskQueue: 'device-sessions/b/1', collectorId: 'b' }, at: T, by: 'monitor' };
  /** The answer, and whether the ADR 245 marker was asked. */
  const take = (age: number, lost: string[] = [], patched = true) => {
    let asked = false;
    const r = placedAheadFor(ahead, lost, T + age, () => ((asked = true), patched));
    return { ...r, asked };
  };

  it('is taken up to a minute old without asking the marker, so older histories replay', () => {
    assert.deepEqual(take(0), { ahead, asked: false });
    assert.deepEqual(take(PLACED_AHEAD_FRESH_MS), { ahead, asked: false });
  });

  it('between a minute and ten minutes only where the marker says so (ADR 245); later it is too old', () => {
    assert.deepEqual(take(PLACED_AHEAD_FRESH_MS + 1), { ahead, asked: true });
    assert.deepEqual(take(PLACED_AHEAD_VALID_MS), { ahead, asked: true });
    assert.deepEqual(take(5 * 60_000, [], false), { refused: 'too-old', asked: true });
    assert.deepEqual(take(PLACED_AHEAD_VALID_MS + 1), { refused: 'too-old', asked: false });
  });

  it('is refused when its queue was reported lost since, whatever its age; none made, none taken', () => {
    assert.deepEqual(take(0, ['device-sessions/a/1', 'device-sessions/b/1']), { refused: 'lost', asked: false });
    assert.deepEqual(take(0, ['device-sessions/a/1']), { ahead, asked: false });
    assert.deepEqual(
      placedAheadFor(undefined, [], T, () => true),
      {},
    );
  });
});
