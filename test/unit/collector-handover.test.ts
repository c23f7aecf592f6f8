/**
 * Make before break (ADR 236), the bookkeeping alone: a session being handed over ends here
 * when its new collector says it streams the device, or at the bound; an `up` for a device
 * not being handed over here ends nothing; `settled` resolves once none is left. Leaving
 * (ADR 295): a stream is kept only for a collector its placement told to take it.
 */
import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../core/metrics';
import { HandoverWhenUp, nowhereToGo } from '../../workers/collector-handover';
import { HandoverPlacements } from '../../workers/collector-handover-placements';
import { until } from '../../testkit/until';

describe('make before break: sessions end here when their new collector streams them', () => {
  it('ends each session on its up, the rest at the bound, and settles then', async () => {
    const ended: number[] = [];
    const metrics = new MetricsRegistry();
    const whenUp = new HandoverWhenUp((id) => ended.push(id), metrics);
    let settled = false;
    whenUp.expect([1, 2, 3], 200);
    void whenUp.settled().then(() => (settled = true));
    whenUp.up([2, 9]);
    assert.deepEqual(ended, [2], 'only the device being handed over, at once');
    assert.ok(whenUp.has(1) && !whenUp.has(2));
    whenUp.expect([1], 10);
    await until('the bound to end the others', () => ended.length === 3, 5_000, 5);
    assert.deepEqual(ended.sort(), [1, 2, 3]);
    await until('settled', () => settled, 5_000, 5);
    assert.equal(metrics.get('session_handovers_total', { ended: 'up' }), 1);
    assert.equal(metrics.get('session_handovers_total', { ended: 'bound' }), 2);
    whenUp.up([1]);
    assert.equal(ended.length, 3, 'an up after the end does nothing');
  });

  it('settles at once when nothing waits', async () => {
    const whenUp = new HandoverWhenUp(() => assert.fail('nothing to end'), new MetricsRegistry());
    await whenUp.settled();
    whenUp.expect([], 10);
    await whenUp.settled();
  });

  describe('leaving: streams with nowhere to go end at once (ADR 295)', () => {
    const other = { collectorId: 'b', taskQueue: 'device-sessions/b/1' };

    it('keeps only the sessions placed on another collector; none placed (a lone collector) or no placement known: all end', () => {
      assert.deepEqual(
        nowhereToGo(
          [1, 2, 3],
          new Map([
            [1, other],
            [2, undefined],
          ]),
        ),
        [2, 3],
        'placed nowhere, or missing from the placement',
      );
      assert.deepEqual(
        nowhereToGo(
          [1, 2],
          new Map([
            [1, undefined],
            [2, undefined],
          ]),
        ),
        [1, 2],
        'no live, non-draining collector with room',
      );
      assert.deepEqual(nowhereToGo([1, 2], undefined), [1, 2], 'the placement failed or passed its bound: no collector was told');
      assert.deepEqual(
        nowhereToGo(
          [1, 2],
          new Map([
            [1, other],
            [2, other],
          ]),
        ),
        [],
      );
    });

    it("the leaving placement's outcome: the map once placed, nothing when it failed or passed its bound", async () => {
      const placed = new Map([[1, other]]);
      assert.equal(await new HandoverPlacements().start(async () => placed, 60_000), placed);
      assert.equal(await new HandoverPlacements().start(() => Promise.reject(new Error('database away')), 60_000), undefined);
      assert.equal(await new HandoverPlacements().start(() => new Promise(() => undefined), 10), undefined);
    });

    it('ends the sessions with nowhere to go at once and settles without waiting for the bound; the others still wait for their up', async () => {
      const ended: number[] = [];
      const metrics = new MetricsRegistry();
      const whenUp = new HandoverWhenUp((id) => ended.push(id), metrics);
      whenUp.expect([1, 2, 3], 60_000);
      let settled = false;
      void whenUp.settled().then(() => (settled = true));
      whenUp.nowhere(nowhereToGo([1, 2, 3], new Map([[1, other]])));
      assert.deepEqual(ended.sort(), [2, 3]);
      assert.ok(whenUp.has(1), 'the session placed elsewhere keeps its stream');
      whenUp.nowhere([2, 7]);
      assert.equal(ended.length, 2, 'a session already ended, or never handed over, is not ended again');
      whenUp.up([1]);
      await until('settled', () => settled, 5_000, 5);
      assert.equal(metrics.get('session_handovers_total', { ended: 'nowhere' }), 2);
      assert.equal(metrics.get('session_handovers_total', { ended: 'up' }), 1);
    });

    it('a lone collector settles as soon as its placement is known, however long the overlap', async () => {
      const whenUp = new HandoverWhenUp(() => undefined, new MetricsRegistry());
      const running = [1, 2, 3];
      whenUp.expect(running, 60_000);
      const placed = new HandoverPlacements().start(async () => new Map(running.map((id) => [id, undefined])), 4_000);
      void placed.then((p) => whenUp.nowhere(nowhereToGo(running, p)));
      const started = Date.now();
      await whenUp.settled();
      assert.ok(Date.now() - started < 1_000, `settled after ${Date.now() - started} ms, not the 60 s bound`);
    });
  });
});
