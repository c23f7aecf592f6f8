/**
 * Alert markers on charts (issue 18): the time-series spec draws the rows of the `alerts` dataset
 * as a rule and a head per transition — red where an alert fired, green where it resolved — at
 * the transition's time on the chart's own time scale, each with a tooltip naming the rule, the
 * instance, the severity, the transition and the time; without the option no such marks exist.
 */
import assert from 'node:assert/strict';
import { compile } from 'vega-lite';
import * as vega from 'vega';
import { ALERTS_DATASET, ALERT_HEAD_MARK, ALERT_RULE_MARK, POINTS_DATASET, timeSeriesSpec, type ChartAlertMarker, type TimeSeriesOptions } from '../../web/app/lib/chart-spec';

type Item = { x: number; stroke?: string; fill?: string; tooltip: Record<string, string> };

/** Draw a spec headless with points and markers; the items of every named mark. */
async function draw(opts: TimeSeriesOptions, markers: ChartAlertMarker[]): Promise<Map<string, Item[]>> {
  const view = new vega.View(vega.parse(compile(timeSeriesSpec(opts)).spec), { renderer: 'none' });
  view.change(POINTS_DATASET, vega.changeset().insert([{ t: 0, v: 1, series: 'a' }, { t: 600_000, v: 2, series: 'a' }]));
  if (opts.alertMarkers) view.change(ALERTS_DATASET, vega.changeset().insert(markers));
  await view.runAsync();
  const marks = new Map<string, Item[]>();
  const visit = (node: { marktype?: string; name?: string; items?: Array<{ items?: unknown[] } & Item> }) => {
    if (node.marktype && node.name) marks.set(node.name, (node.items ?? []) as Item[]);
    for (const item of node.items ?? []) for (const child of item.items ?? []) visit(child as never);
  };
  visit((view.scenegraph() as unknown as { root: never }).root);
  view.finalize();
  return marks;
}

describe('web: alert markers on charts', () => {
  const fired: ChartAlertMarker = { t: 150_000, transition: 'firing', rule: 'link down', instance: 'leaf-1', severity: 'critical' };
  const resolved: ChartAlertMarker = { t: 450_000, transition: 'resolved', rule: 'link down', instance: 'leaf-1', severity: 'critical', silenced: true };

  for (const kind of ['line', 'area', 'stacked-area', 'bar'] as const) {
    it(`${kind}: a rule and a head at each transition, coloured by it, with the tooltip`, async () => {
      const marks = await draw({ kind, alertMarkers: true, domain: [0, 600_000], seriesNames: ['a'] }, [fired, resolved]);
      const rules = marks.get(`${ALERT_RULE_MARK}_marks`)!;
      const heads = marks.get(`${ALERT_HEAD_MARK}_marks`)!;
      assert.equal(rules.length, 2);
      assert.equal(heads.length, 2);
      // On the chart's time scale: a quarter and three quarters of the way from its start to its end.
      const ends = (await draw({ kind, alertMarkers: true, domain: [0, 600_000], seriesNames: ['a'] }, [{ ...fired, t: 0 }, { ...fired, t: 600_000 }])).get(`${ALERT_RULE_MARK}_marks`)!.map((r) => r.x);
      const at = (f: number) => ends[0] + f * (ends[1] - ends[0]);
      assert.ok(ends[1] - ends[0] > 100, `the domain spans the plot (${ends})`);
      assert.ok(Math.abs(rules[0].x - at(0.25)) < 1 && Math.abs(rules[1].x - at(0.75)) < 1, `rules at ${rules.map((r) => r.x)} between ${ends}`);
      assert.deepEqual(rules.map((r) => r.stroke), ['#c62828', '#2e7d32']);
      assert.deepEqual(heads[0].tooltip, { 'alert rule': 'link down', instance: 'leaf-1', severity: 'critical', transition: 'firing', 'time (UTC)': '1970-01-01 00:02:30' });
      assert.equal(rules[1].tooltip.transition, 'resolved (silenced)');
    });
  }

  it('also on a chart without the crosshair or a fixed window, and none without the option', async () => {
    const plain = await draw({ kind: 'line', alertMarkers: true }, [fired]);
    assert.equal(plain.get(`${ALERT_RULE_MARK}_marks`)?.length, 1);
    const without = await draw({ kind: 'line', domain: [0, 600_000], seriesNames: ['a'] }, [fired]);
    assert.equal(without.has(`${ALERT_RULE_MARK}_marks`), false);
    assert.equal(compile(timeSeriesSpec({ kind: 'line' })).spec.data?.some((d) => d.name === ALERTS_DATASET), false);
  });

  it('in the page zone: the tooltip time is local when the chart is not in UTC', async () => {
    const marks = await draw({ kind: 'line', alertMarkers: true, domain: [0, 600_000], seriesNames: ['a'], timeZone: 'Europe/Berlin' }, [fired]);
    const tip = marks.get(`${ALERT_RULE_MARK}_marks`)![0].tooltip;
    assert.ok(Object.keys(tip).includes('time (Europe/Berlin)'), JSON.stringify(tip));
  });
});
