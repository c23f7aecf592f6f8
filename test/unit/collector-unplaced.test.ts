/**
 * Unplaced sessions (ADR 292), the bookkeeping alone: only attempts their workflow flagged unplaced are
 * remembered, while they run; at most `maxInFlight` are moving at once, each taken once; an attempt
 * that ends frees its place, and a later attempt of the same device is not forgotten by an earlier one ending.
 */
import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../core/metrics';
import { UnplacedSessions } from '../../workers/collector-unplaced';

/** An attempt that runs until `end()` is called. */
function attempt() {
  let end!: () => void;
  const done = new Promise<string>((resolve) => (end = () => resolve('ended')));
  return { done, end };
}

describe('unplaced sessions: moved onto placement a few at a time', () => {
  it('remembers only flagged attempts while they run, and takes at most maxInFlight moves at once', async () => {
    const metrics = new MetricsRegistry();
    const unplaced = new UnplacedSessions(metrics);
    const runs = new Map<number, ReturnType<typeof attempt>>();
    const results: Array<Promise<string>> = [];
    for (const id of [1, 2, 3, 4]) {
      const run = attempt();
      runs.set(id, run);
      results.push(unplaced.track({ deviceId: id, generation: 0, attempt: 1, unplaced: id !== 4 }, () => run.done));
    }
    assert.equal(unplaced.size, 3, 'the attempt not flagged is not unplaced');
    assert.match(metrics.render(), /^sessions_unplaced 3$/m);

    assert.deepEqual(
      unplaced.take(2, (id) => id !== 1),
      [2, 3],
      'those not movable are passed over',
    );
    assert.deepEqual(
      unplaced.take(2, () => true),
      [],
      'two in flight already',
    );
    assert.equal(metrics.get('session_unplaced_moves_total'), 2);

    runs.get(2)!.end();
    assert.equal(await results[1], 'ended', "the attempt's own result");
    assert.equal(unplaced.size, 2);
    assert.deepEqual(
      unplaced.take(2, () => true),
      [1],
      'a place freed; 3 is still moving',
    );
    assert.equal(metrics.get('session_unplaced_moves_total'), 3);
  });

  it('an earlier attempt of a device ending does not forget a later one', async () => {
    const unplaced = new UnplacedSessions(new MetricsRegistry());
    const first = attempt();
    const second = attempt();
    const a = unplaced.track({ deviceId: 7, generation: 0, attempt: 1, unplaced: true }, () => first.done);
    const b = unplaced.track({ deviceId: 7, generation: 0, attempt: 2, unplaced: true }, () => second.done);
    first.end();
    await a;
    assert.equal(unplaced.size, 1, 'attempt 2 still runs unplaced');
    second.end();
    await b;
    assert.equal(unplaced.size, 0);
  });
});
