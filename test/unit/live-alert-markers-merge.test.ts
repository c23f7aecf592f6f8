/**
 * A chart's alert markers from the page's data and from the live stream as one list
 * (web/app/lib/alert-markers.ts, ADR 226): a transition that comes both ways is drawn once,
 * the stream's markers of devices the chart does not show are left out, the list is ordered
 * by time and keeps only the newest 200.
 */
import assert from 'node:assert/strict';
import type { ChartAlertMarker } from '../../web/app/lib/chart-spec';
import { MAX_CHART_MARKERS, mergeAlertMarkers } from '../../web/app/lib/alert-markers';

const marker = (t: number, instance: string, transition: 'firing' | 'resolved' = 'firing'): ChartAlertMarker => ({ t, transition, rule: 'link down', instance, severity: 'critical' });

describe('web: live alert markers merged with the page\'s', () => {
  it('draws a transition that came with the page and over the stream once, in time order', () => {
    const page = [marker(1_000, 'leaf-1')];
    const live = [marker(1_000, 'leaf-1'), marker(5_000, 'leaf-1', 'resolved')];
    assert.deepEqual(mergeAlertMarkers(page, live, ['leaf-1']), [marker(1_000, 'leaf-1'), marker(5_000, 'leaf-1', 'resolved')]);
  });

  it("leaves out the stream's markers of other devices (a dashboard's stream follows every chart's)", () => {
    const live = [marker(2_000, 'leaf-1'), marker(3_000, 'leaf-2')];
    assert.deepEqual(mergeAlertMarkers([], live, ['leaf-2']), [marker(3_000, 'leaf-2')]);
    assert.deepEqual(mergeAlertMarkers([], live, []), []);
    assert.equal(mergeAlertMarkers([], live).length, 2, 'no device list: every live marker');
  });

  it(`keeps the newest ${MAX_CHART_MARKERS}`, () => {
    const live = Array.from({ length: MAX_CHART_MARKERS + 50 }, (_, i) => marker(i * 1000, 'leaf-1'));
    const merged = mergeAlertMarkers([], live, ['leaf-1']);
    assert.equal(merged.length, MAX_CHART_MARKERS);
    assert.equal(merged[0].t, 50_000);
    assert.equal(merged.at(-1)!.t, (MAX_CHART_MARKERS + 49) * 1000);
  });
});
