/**
 * Make before break (ADR 236), the bookkeeping alone: a session being handed over ends here
 * when its new collector says it streams the device, or at the bound; an `up` for a device
 * not being handed over here ends nothing; `settled` resolves once none is left.
 */
import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../core/metrics';
import { HandoverWhenUp } from '../../workers/collector-handover';
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
});
