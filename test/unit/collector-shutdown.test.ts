/**
 * The collector's shutdown budget: what the Temporal worker waits for on SIGTERM (the leaving overlap, the
 * sessions' end, the hand-over results' placement wait) fits inside its force time for every bound, so a short
 * bound shortens make before break instead of failing the worker with an expired grace period.
 */
import assert from 'node:assert/strict';
import { shutdownBudget, type ShutdownSettings } from '../../workers/collector-shutdown';

const defaults: ShutdownSettings = {
  COLLECTOR_SHUTDOWN_FORCE_MS: 10_000,
  COLLECTOR_HANDOVER_OVERLAP_MS: 4000,
  COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS: 4000,
  COLLECTOR_WARM_ADOPT_MS: 30_000,
};

describe('collector shutdown budget', () => {
  it('keeps the defaults as they are: 4 s of overlap and placement wait inside a worker force time of 8 s', () => {
    const b = shutdownBudget(defaults);
    assert.deepEqual(
      { ...b, heldBelow: b.heldBelow.length },
      { workerForceMs: 8000, workerGraceMs: 4500, leavingOverlapMs: 4000, overlapMs: 4000, handoverWaitMs: 4000, batcherCloseMs: 7000, heldBelow: 0 },
    );
  });

  it('ends the worker grace at least 0.5 s before its force time, and the placement wait 1 s before it, for every bound', () => {
    for (let bound = 1000; bound <= 120_000; bound += 250) {
      const b = shutdownBudget({ ...defaults, COLLECTOR_SHUTDOWN_FORCE_MS: bound, COLLECTOR_HANDOVER_OVERLAP_MS: 60_000, COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS: 60_000 });
      assert.ok(b.workerGraceMs + 500 <= b.workerForceMs, `bound ${bound}: grace ${b.workerGraceMs} ms ends 0.5 s before force ${b.workerForceMs} ms`);
      assert.ok(b.handoverWaitMs + 1000 <= b.workerForceMs, `bound ${bound}: placement wait ${b.handoverWaitMs} ms ends 1 s before force ${b.workerForceMs} ms`);
      assert.ok(b.leavingOverlapMs <= bound / 2 && b.overlapMs <= bound / 2, `bound ${bound}: overlaps within half the bound`);
      assert.ok(b.workerForceMs < bound || bound <= 1000, `bound ${bound}: the worker gives up before the process is forced out`);
    }
  });

  it('under a 3 s bound ends the streams at once on SIGTERM and says which settings it held', () => {
    const b = shutdownBudget({ ...defaults, COLLECTOR_SHUTDOWN_FORCE_MS: 3000 });
    assert.equal(b.workerForceMs, 1000);
    assert.equal(b.leavingOverlapMs, 0);
    assert.equal(b.handoverWaitMs, 0);
    assert.equal(b.workerGraceMs, 500);
    // Drains and rebalancing moves wait for no shutdown: their overlap stays within half the bound.
    assert.equal(b.overlapMs, 1500);
    assert.deepEqual(
      b.heldBelow.map((h) => `${h.setting} ${h.value}→${h.heldTo} ${h.when}`),
      ['COLLECTOR_HANDOVER_OVERLAP_MS 4000→0 on SIGTERM', 'COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS 4000→0 for every hand-over'],
    );
  });

  it('under a 5 s bound shortens the overlap to 2 s, where half the bound (2.5 s) would outlast the worker grace', () => {
    const b = shutdownBudget({ ...defaults, COLLECTOR_SHUTDOWN_FORCE_MS: 5000 });
    assert.equal(b.workerForceMs, 3000);
    assert.equal(b.leavingOverlapMs, 2000);
    assert.equal(b.workerGraceMs, 2500);
    assert.equal(b.overlapMs, 2500);
  });

  it('has no overlap without warm adoption, and says nothing held', () => {
    const b = shutdownBudget({ ...defaults, COLLECTOR_WARM_ADOPT_MS: 0, COLLECTOR_SHUTDOWN_FORCE_MS: 4000 });
    assert.equal(b.leavingOverlapMs, 0);
    assert.equal(b.overlapMs, 0);
    assert.deepEqual(
      b.heldBelow.map((h) => h.setting),
      ['COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS'],
    );
  });
});
