/** Vega-Lite spec builders and the widget data pipeline (history + live rows, gaps, aggregation, windows). */
import assert from 'node:assert/strict';
import { compile } from 'vega-lite';
import * as vega from 'vega';
import { AUTOSIZE, LEGEND_PARAM, OUTAGE_DATASET, POINTS_DATASET, X_FROM, X_TO, crosshairStepMs, formatExpr, legendLayout, singleStatSpec, timeSeriesSpec, timeTickCount, unitSuffix } from '../../web/app/lib/chart-spec';
import { seriesStats } from '../../web/app/lib/series-stats';
import { currentState, stateBands, stateColour } from '../../web/app/lib/state-bands';
import { fromInputValue, toInputValue, tzCookie, zoneFromCookie, zoneOffsetMs } from '../../web/app/lib/timezone';
import { WidgetRows, mergeChanges, bucketMs, capSeries, gapThreshold, resolveWindow, unitScale, withGapBreaks, type WidgetSeries } from '../../web/app/lib/widget-data';
import { generalise, isCounterPath, seriesLabel } from '../../web/app/lib/path-pattern';

/** Evaluate a label expression with Vega's own expression language and format(). */
function evalExpr(expr: string, value: number): string {
  const view = new vega.View(
    vega.parse({ signals: [{ name: 'v', value }, { name: 'out', update: expr.replaceAll('datum.value', 'v').replaceAll('datum.total', 'v') }] }),
    { renderer: 'none' },
  );
  view.run();
  const out = view.signal('out') as string;
  view.finalize();
  return out;
}

describe('web: Vega-Lite spec builders', () => {
  it('every chart type compiles to a Vega spec reading the named live dataset', () => {
    for (const kind of ['line', 'area', 'stacked-area', 'bar', 'stat'] as const) {
      const spec = timeSeriesSpec({ kind, unit: 'bits/s', title: kind });
      const vega = compile(spec).spec;
      assert.ok(vega.data?.some((d) => d.name === POINTS_DATASET), `${kind}: dataset ${POINTS_DATASET}`);
    }
  });

  it('line, area and stacked area break on null values instead of bridging gaps', () => {
    for (const kind of ['line', 'area', 'stacked-area'] as const) {
      const spec = timeSeriesSpec({ kind }) as { config: { mark: { invalid: string } } };
      assert.equal(spec.config.mark.invalid, 'break-paths-show-domains');
    }
  });

  it('stacks only the stacked area', () => {
    const y = (kind: 'area' | 'stacked-area' | 'line') => (timeSeriesSpec({ kind }) as { encoding: { y: { stack: unknown } } }).encoding.y.stack;
    assert.equal(y('stacked-area'), 'zero');
    assert.equal(y('area'), null);
    assert.equal(y('line'), null);
  });

  it('marks: line for line, area for the areas, bar for bar', () => {
    const mark = (kind: 'line' | 'area' | 'stacked-area' | 'bar') => (timeSeriesSpec({ kind }) as { mark: { type: string } }).mark.type;
    assert.deepEqual(['line', 'area', 'stacked-area', 'bar'].map((k) => mark(k as 'line')), ['line', 'area', 'area', 'bar']);
  });

  it('axis labels carry readable units: SI prefixes for bits/s, one decimal for % and °C', () => {
    assert.equal(evalExpr(formatExpr('datum.value', 'bits/s'), 1_234_567), '1.23 Mbit/s', 'a space between the value and its unit');
    assert.equal(evalExpr(formatExpr('datum.value', 'bits/s'), 202e9), '202 Gbit/s');
    assert.equal(evalExpr(formatExpr('datum.value', 'bits/s'), 512), '512 bit/s');
    assert.equal(evalExpr(formatExpr('datum.value', 'bits/s'), 0.5), '0.5 bit/s');
    assert.equal(evalExpr(formatExpr('datum.value', 'bytes'), 2.5e9), '2.5 GB');
    assert.equal(evalExpr(formatExpr('datum.value', '%'), 42.345), '42.3 %');
    assert.equal(evalExpr(formatExpr('datum.value', '°C'), 38), '38.0 °C');
    assert.equal(evalExpr(formatExpr('datum.value', ''), 0.5), '0.5');
    assert.equal(unitSuffix('bits/s'), 'bit/s');
    const spec = timeSeriesSpec({ unit: '%' }) as { encoding: { y: { title: string; axis: { labelExpr: string } } } };
    assert.equal(spec.encoding.y.title, '%');
    assert.match(spec.encoding.y.axis.labelExpr, /" %"/);
  });

  it('charts lay out again on every update: axis labels that grow after the first draw stay inside the chart', async () => {
    // Live charts are embedded empty and filled by view.change: the labels the first layout
    // made room for are not the ones drawn later ("0bit/s" → "120Gbit/s", "0.0 %" → "100.0 %").
    const cases = [
      { unit: 'bits/s', top: 123e9 },
      { unit: '', top: 1.5e6 },
      { unit: '%', top: 100 },
      { unit: 'pkts/s', top: 4.5e6 },
    ];
    for (const kind of ['line', 'area', 'stacked-area', 'bar'] as const) {
      for (const { unit, top } of cases) {
        const view = new vega.View(vega.parse(compile(timeSeriesSpec({ kind, unit, height: 140 })).spec), { renderer: 'none' });
        await view.runAsync();
        const rows = ['Ethernet1', 'Ethernet2'].flatMap((series, i) => [0, 1000, 2000].map((t) => ({ t, v: (top / (i + 1)) * (t / 2000), series })));
        view.change(POINTS_DATASET, vega.changeset().insert(rows));
        await view.runAsync();
        // Where the content starts on the canvas: padding + layout origin + the content's own bounds.
        const bounds = (view.scenegraph() as unknown as { root: { items: Array<{ bounds: { x1: number; y1: number } }> } }).root.items[0].bounds;
        const [ox, oy] = view.origin();
        const pad = view.padding() as { left: number; top: number }; // Vega stores padding as an object
        assert.ok(pad.left + ox + bounds.x1 >= 0, `${kind} ${unit || 'count'}: content starts at x ${pad.left + ox + bounds.x1}`);
        assert.ok(pad.top + oy + bounds.y1 >= 0, `${kind} ${unit || 'count'}: content starts at y ${pad.top + oy + bounds.y1}`);
        view.finalize();
      }
    }
    assert.deepEqual((timeSeriesSpec({}) as { autosize: unknown }).autosize, AUTOSIZE);
    assert.equal(AUTOSIZE.resize, true);
  });

  it('time labels suit the window: seconds within an hour, minutes within a day, dates beyond', () => {
    const fmt = (windowMs: number) => (timeSeriesSpec({ windowMs }) as { encoding: { x: { axis: { format: string } } } }).encoding.x.axis.format;
    assert.deepEqual([fmt(900_000), fmt(6 * 3_600_000), fmt(7 * 86_400_000)], ['%H:%M:%S', '%H:%M', '%b %d %H:%M']);
  });

  it('legends sit below the chart with room for long labels', () => {
    const spec = timeSeriesSpec({}) as { config: { legend: { orient: string; labelLimit: number } } };
    assert.equal(spec.config.legend.orient, 'bottom');
    assert.ok(spec.config.legend.labelLimit >= 200);
  });

  it('narrow charts get fewer legend columns, each wide enough for its label', () => {
    const cases: Array<[number | undefined, number]> = [[undefined, 4], [1200, 4], [800, 4], [600, 3], [420, 2], [300, 1], [150, 1]];
    for (const [width, columns] of cases) {
      const l = legendLayout(width);
      assert.equal(l.columns, columns, `columns at ${width} px`);
      if (width) assert.ok(l.columns * (l.labelLimit + 40) <= Math.max(width, 200), `${l.columns} × ${l.labelLimit} px labels fit ${width} px`);
    }
    const spec = timeSeriesSpec({ widthPx: 420 }) as { config: { legend: { columns: number } } };
    assert.equal(spec.config.legend.columns, 2);
  });

  it('the time axis is the page\'s window (signals a live chart slides), not the data received; without a window it follows the data', async () => {
    const fixed = timeSeriesSpec({ domain: [1000, 2000] }) as { encoding: { x: { scale?: { domain: unknown; type: string } } }; params: Array<{ name: string; value?: number }> };
    assert.deepEqual(fixed.encoding.x.scale, { type: 'utc', domain: [{ expr: X_FROM }, { expr: X_TO }] });
    assert.deepEqual(fixed.params.slice(0, 2), [{ name: X_FROM, value: 1000 }, { name: X_TO, value: 2000 }]);
    const free = timeSeriesSpec({}) as { encoding: { x: { scale?: { domain?: unknown; type: string } } } };
    assert.deepEqual(free.encoding.x.scale, { type: 'utc' }, 'times in UTC, domain from the data');
    // Drawn: data covering only the last minute of an hour's window still get the whole hour; sliding moves it.
    const hour = 3_600_000;
    for (const opts of [{}, { seriesNames: ['a'] }, { seriesNames: ['a'], outageBand: true }]) {
      const view = new vega.View(vega.parse(compile(timeSeriesSpec({ kind: 'line', domain: [0, hour], windowMs: hour, ...opts })).spec), { renderer: 'none' });
      view.change(POINTS_DATASET, vega.changeset().insert([{ t: hour - 60_000, v: 1, series: 'a' }, { t: hour - 30_000, v: 2, series: 'a' }]));
      await view.runAsync();
      const domain = () => (view.scale('x') as unknown as { domain(): Date[] }).domain().map(Number);
      assert.deepEqual(domain(), [0, hour], `the selected hour, not the minute of data (${JSON.stringify(opts)})`);
      view.signal(X_FROM, 60_000).signal(X_TO, hour + 60_000);
      await view.runAsync();
      assert.deepEqual(domain(), [60_000, hour + 60_000], 'the live window slides');
      view.finalize();
    }
  });

  it('bars: stacked explicitly (side by side they hid each other) with filled legend swatches; lines keep stroke swatches', () => {
    const bar = timeSeriesSpec({ kind: 'bar' }) as { encoding: { y: { stack: unknown } }; config: { legend: { symbolType: string } } };
    assert.equal(bar.encoding.y.stack, 'zero');
    assert.equal(bar.config.legend.symbolType, 'square');
    assert.equal((timeSeriesSpec({ kind: 'line' }) as { config: { legend: { symbolType: string } } }).config.legend.symbolType, 'stroke');
  });

  it('time labels: about one per 110 px of width, dropped greedily where they would overlap', () => {
    assert.equal(timeTickCount(undefined), undefined);
    assert.equal(timeTickCount(1200), 10);
    assert.equal(timeTickCount(150), 2);
    const x = (timeSeriesSpec({ widthPx: 1200, windowMs: 3_600_000 }) as { encoding: { x: { axis: { tickCount: number; labelOverlap: string; format: string } } } }).encoding.x.axis;
    assert.equal(x.tickCount, 10);
    assert.equal(x.labelOverlap, 'greedy');
    assert.equal(x.format, '%H:%M:%S');
  });

  it('isolated points: a value with no valid neighbour (between gaps, as on 7 d ranges) is drawn as a dot; points on a line are not', async () => {
    const spec = timeSeriesSpec({ kind: 'line', seriesNames: ['a', 'b'], domain: [0, 10_000] });
    const layers = (spec as { layer: Array<{ mark: { type: string } }> }).layer;
    assert.deepEqual(layers.map((l) => l.mark.type), ['line', 'rule', 'point']);
    const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
    const rows = [
      { t: 1000, v: 5, series: 'a' }, // alone at the start
      { t: 2000, v: null, series: 'a' },
      { t: 3000, v: 7, series: 'a' }, // alone between gaps
      { t: 4000, v: null, series: 'a' },
      { t: 5000, v: 1, series: 'a' }, // on a line
      { t: 6000, v: 2, series: 'a' },
      { t: 1000, v: 3, series: 'b' }, // the only point of b
    ];
    view.change(POINTS_DATASET, vega.changeset().insert(rows));
    await view.runAsync();
    const dots: Array<{ datum: { t: number; series: string } }> = [];
    const walk = (node: { marktype?: string; items?: unknown[] }) => {
      for (const item of (node.items ?? []) as Array<{ marktype?: string; items?: unknown[]; datum?: { t: number; series: string } }>) {
        // Legend swatches are symbols too; the chart's dots carry a row.
        if (node.marktype === 'symbol' && item.datum?.t !== undefined) dots.push(item as { datum: { t: number; series: string } });
        walk(item);
      }
    };
    walk((view.scenegraph() as unknown as { root: never }).root);
    assert.deepEqual(dots.map((d) => `${d.datum.series}@${d.datum.t}`).sort(), ['a@1000', 'a@3000', 'b@1000']);
    view.finalize();
  });

  it('single-stat sparkline: a time where no series has a value is a gap, as in the line charts (no slope across an outage)', async () => {
    const view = new vega.View(vega.parse(compile(singleStatSpec({ unit: 'bits/s' })).spec), { renderer: 'none' });
    const rows = [1000, 2000, 3000, 4000].flatMap((t) => ['a', 'b'].map((series) => ({ t, v: t === 3000 ? null : t / 1000, series })));
    view.change(POINTS_DATASET, vega.changeset().insert(rows));
    await view.runAsync();
    const area: Array<{ datum: { t: number; v: number | null } }> = [];
    const walk = (node: { marktype?: string; items?: unknown[] }) => {
      for (const item of (node.items ?? []) as Array<{ marktype?: string; items?: unknown[]; datum?: { t: number; v: number | null } }>) {
        if (node.marktype === 'area' && item.datum) area.push(item as { datum: { t: number; v: number | null } });
        walk(item);
      }
    };
    walk((view.scenegraph() as unknown as { root: never }).root);
    assert.deepEqual(area.map((a) => [a.datum.t, a.datum.v]).sort((x, y) => x[0]! - y[0]!), [[1000, 2], [2000, 4], [3000, null], [4000, 8]], 'summed per time, the outage kept as null');
    view.finalize();
  });

  it('legend table figures: last, min, max and mean per series over the window shown; gaps skipped, empty series kept', () => {
    const rows = [
      { t: 1000, v: 10, series: 'b' },
      { t: 2000, v: null, series: 'b' },
      { t: 3000, v: 30, series: 'b' },
      { t: 4000, v: 20, series: 'b' },
      { t: 500, v: 999, series: 'b' }, // before the window
      { t: 2000, v: null, series: 'a' },
    ];
    assert.deepEqual(seriesStats(rows, 1000, 5000), [
      { series: 'a', last: null, lastT: null, min: null, max: null, mean: null, n: 0 },
      { series: 'b', last: 20, lastT: 4000, min: 10, max: 30, mean: 20, n: 3 },
    ]);
    assert.equal(seriesStats(rows)[1].max, 999, 'without bounds every row counts');
  });

  it('single stat: the newest value of each series, summed, formatted with its unit', () => {
    const spec = singleStatSpec({ unit: '°C' }) as unknown as { layer: Array<{ transform: Array<Record<string, unknown>>; mark: { type: string } }> };
    const text = spec.layer.find((l) => l.mark.type === 'text')!;
    assert.ok(text.transform.some((t) => 'joinaggregate' in t));
    assert.ok(text.transform.some((t) => t.filter === 'datum.t === datum.newest'));
    const calc = text.transform.find((t) => 'calculate' in t)!.calculate as string;
    assert.equal(evalExpr(calc, 51.25), '51.3 °C');
  });

  it('single stat drawn by Vega shows the sum of the newest values and follows view.change', async () => {
    const view = new vega.View(vega.parse(compile(singleStatSpec({ unit: 'bits/s' })).spec), { renderer: 'none' });
    await view.runAsync();
    const label = () => {
      const texts: string[] = [];
      const walk = (item: { marktype?: string; items?: unknown[]; text?: string }) => {
        if (typeof item.text === 'string') texts.push(item.text);
        for (const child of (item.items ?? []) as Array<typeof item>) walk(child);
      };
      walk((view.scenegraph() as unknown as { root: never }).root);
      return texts;
    };
    view.change(POINTS_DATASET, vega.changeset().insert([
      { t: 1, v: 1000, series: 'a' },
      { t: 2, v: 2000, series: 'a' },
      { t: 2, v: 500, series: 'b' },
    ]));
    await view.runAsync();
    assert.deepEqual(label(), ['2.5 kbit/s']);
    view.change(POINTS_DATASET, vega.changeset().insert([{ t: 3, v: 4000, series: 'b' }]));
    await view.runAsync();
    assert.deepEqual(label(), ['6 kbit/s']);
    view.finalize();
  });

  it('crosshair: with series names, a rule layer pivots the rows by time bucket and lists every series in its tooltip; names with dots and brackets are literal fields', () => {
    const names = ['Ethernet1', 'sw1 · et-0/0/1.0', '[a]'];
    const spec = timeSeriesSpec({ kind: 'line', unit: 'bits/s', seriesNames: names, windowMs: 900_000 }) as {
      layer: Array<{ mark: { type: string }; encoding: { tooltip?: Array<{ field: string; title: string }> }; params?: Array<{ name: string; select: { nearest?: boolean } }> }>;
    };
    assert.deepEqual(spec.layer.map((l) => l.mark.type), ['line', 'rule', 'point']);
    const tooltip = spec.layer[1].encoding.tooltip!;
    assert.deepEqual(tooltip.map((t) => t.title), ['time (UTC)', 'Ethernet1 (bit/s)', 'sw1 · et-0/0/1.0 (bit/s)', '[a] (bit/s)']);
    assert.equal(tooltip[2].field, 'sw1 · et-0/0/1\\.0');
    assert.equal(tooltip[3].field, '\\[a\\]');
    assert.equal(spec.layer[1].params?.[0].select.nearest, true);
    assert.equal(spec.layer[0].params?.[0].name, LEGEND_PARAM, 'the legend selection stays on the lines');
    assert.equal(crosshairStepMs(900_000), 2000);
    assert.equal(crosshairStepMs(60_000), 1000);
    assert.ok(compile(spec as never).spec.data?.length, 'compiles');
  });

  it('legend: a point selection bound to the legend dims the other series (click isolates, shift-click toggles)', () => {
    for (const kind of ['line', 'area', 'stacked-area', 'bar'] as const) {
      const spec = timeSeriesSpec({ kind }) as { params: Array<{ name: string; bind: string; select: { fields: string[] } }>; encoding: { opacity: { condition: { param: string }; value: number } } };
      assert.deepEqual(spec.params[0], { name: LEGEND_PARAM, select: { type: 'point', fields: ['series'] }, bind: 'legend' });
      assert.equal(spec.encoding.opacity.condition.param, LEGEND_PARAM);
      assert.ok(spec.encoding.opacity.value < 0.2);
      compile(spec as never);
    }
  });

  it('an outage band: the open gap is a shaded, labelled layer over its own dataset; the SVG gets an accessible name', () => {
    const spec = timeSeriesSpec({ kind: 'line', unit: 'bits/s', outageBand: true, description: 'Inbound traffic' }) as { layer: Array<{ data?: { name: string }; mark: { type: string } }>; description: string };
    assert.deepEqual(spec.layer.map((l) => l.mark.type), ['line', 'point', 'rect', 'text']);
    const both = timeSeriesSpec({ kind: 'line', outageBand: true, seriesNames: ['a'] }) as { layer: Array<{ mark: { type: string } }> };
    assert.deepEqual(both.layer.map((l) => l.mark.type), ['line', 'rule', 'point', 'rect', 'text']);
    assert.equal(spec.layer[2].data?.name, OUTAGE_DATASET);
    assert.equal(spec.description, 'Inbound traffic');
    const compiled = compile(spec as never).spec;
    assert.ok(compiled.data?.some((d) => d.name === OUTAGE_DATASET), 'the band reads the outage dataset');
    assert.ok(compiled.data?.some((d) => d.name === POINTS_DATASET), 'the lines still read the live dataset');
  });
});

describe('web: widget rows', () => {
  const series: WidgetSeries[] = [
    { id: 1, label: 'Ethernet1', deviceName: 'a' },
    { id: 2, label: 'Ethernet2', deviceName: 'a' },
    { id: 3, label: 'Ethernet1', deviceName: 'b' },
  ];

  it('a gap longer than the threshold gets a null row so the line breaks', () => {
    const rows = withGapBreaks(
      [
        { t: 0, v: 1 },
        { t: 1000, v: 2 },
        { t: 60_000, v: 3 },
      ],
      's',
      5000,
      8,
    );
    assert.deepEqual(rows, [
      { t: 0, v: 8, series: 's' },
      { t: 1000, v: 16, series: 's' },
      { t: 1001, v: null, series: 's' },
      { t: 60_000, v: 24, series: 's' },
    ]);
  });

  it('ungrouped: one line per series, scaled, duplicates by time dropped, live gaps broken', () => {
    const rows = new WidgetRows(series, { aggregate: 'none', groupBy: 'series', bucketMs: 1, maxGapMs: 5000, scale: 8 });
    const first = rows.add(1, [
      { t: 1000, v: 10 },
      { t: 2000, v: 20 },
    ]);
    assert.deepEqual(first.insert, [
      { t: 1000, v: 80, series: 'Ethernet1' },
      { t: 2000, v: 160, series: 'Ethernet1' },
    ]);
    // A replay after reconnect (same times) adds nothing; a point after a long silence breaks the line.
    const again = rows.add(1, [
      { t: 2000, v: 20 },
      { t: 30_000, v: 5 },
    ]);
    assert.deepEqual(again.insert, [
      { t: 2001, v: null, series: 'Ethernet1' },
      { t: 30_000, v: 40, series: 'Ethernet1' },
    ]);
  });

  it('sum per device: buckets combine the series of one device; a bucket that gains a point is replaced', () => {
    const rows = new WidgetRows(series, { aggregate: 'sum', groupBy: 'device', bucketMs: 1000, maxGapMs: 5000, scale: 1 });
    const a1 = rows.add(1, [{ t: 1100, v: 10 }]);
    assert.deepEqual(a1, { remove: [], insert: [{ t: 1000, v: 10, series: 'a' }] });
    const a2 = rows.add(2, [{ t: 1500, v: 5 }]);
    assert.deepEqual(a2.remove, [{ series: 'a', t: 1000 }]);
    assert.deepEqual(a2.insert, [{ t: 1000, v: 15, series: 'a' }]);
    const b = rows.add(3, [{ t: 1200, v: 7 }]);
    assert.deepEqual(b.insert, [{ t: 1000, v: 7, series: 'b' }]);
  });

  it('one batch over several series inserts each bucket once, with its final value', () => {
    const rows = new WidgetRows(series, { aggregate: 'sum', groupBy: 'all', bucketMs: 1000, maxGapMs: 5000, scale: 1 });
    rows.add(1, [{ t: 0, v: 1 }]); // already drawn
    const merged = mergeChanges([rows.add(1, [{ t: 1000, v: 1 }]), rows.add(2, [{ t: 1100, v: 2 }]), rows.add(3, [{ t: 200, v: 5 }])]);
    // Bucket 1000 is partial (series 3 has not reached it yet): left out, not drawn as a dip.
    assert.deepEqual(merged.insert, [{ t: 0, v: 6, series: 'sum' }]);
    assert.deepEqual(merged.remove, [{ series: 'sum', t: 0 }], 'only the row already on the chart is removed');
    assert.deepEqual(rows.add(3, [{ t: 1300, v: 5 }]).insert, [{ t: 1000, v: 8, series: 'sum' }]);
  });

  it('partial last bucket: the fleet total is drawn only when every reporting series is in, so it never dips', () => {
    // Two gNMI series every second, one NETCONF series every 5 s; 2 s buckets; rates constant: 10 + 10 + 100.
    const rows = new WidgetRows(series, { aggregate: 'sum', groupBy: 'all', bucketMs: 2000, maxGapMs: 5000, scale: 1 });
    const drawn = new Map<number, number | null>();
    const apply = (ch: { remove: Array<{ t: number }>; insert: Array<{ t: number; v: number | null }> }) => {
      for (const r of ch.remove) drawn.delete(r.t);
      for (const r of ch.insert) drawn.set(r.t, r.v);
    };
    const tick = (t: number) => {
      apply(rows.add(1, [{ t, v: 10 }]));
      apply(rows.add(2, [{ t, v: 10 }]));
      if (t % 5000 === 0) apply(rows.add(3, [{ t, v: 100 }]));
      // Whatever is drawn after every refresh is the full total: no bucket short of the NETCONF series.
      for (const [b, v] of drawn) assert.equal(v, 120, `after ${t}: bucket ${b} = ${v}`);
    };
    for (let t = 0; t <= 30_000; t += 1000) tick(t);
    // Drawn up to the NETCONF series' newest point (30 s); the gNMI seconds past it wait for its next one.
    assert.equal(Math.max(...drawn.keys()), 30_000);
    assert.equal(drawn.size, 16);
  });

  it('partial last bucket: a series that stops holds the total back only for its silence threshold, then the total drops', () => {
    const rows = new WidgetRows(series, { aggregate: 'sum', groupBy: 'all', bucketMs: 1000, maxGapMs: 5000, scale: 1 });
    const inserted: Array<{ t: number; v: number | null }> = [];
    /** When (series 1's time) each bucket was first drawn. */
    const firstDrawn = new Map<number, number>();
    for (let t = 0; t <= 20_000; t += 1000) {
      const ch = rows.add(1, [{ t, v: 1 }]).insert;
      if (t <= 10_000) ch.push(...rows.add(2, [{ t, v: 2 }]).insert);
      for (const r of ch) if (!firstDrawn.has(r.t)) firstDrawn.set(r.t, t);
      inserted.push(...ch);
    }
    const last = new Map(inserted.map((r) => [r.t, r.v]));
    assert.equal(last.get(10_000), 3, 'both series while both report');
    assert.equal(firstDrawn.get(11_000), 16_000, 'held while series 2 may still report (silent over 5 s: its threshold)');
    assert.equal(last.get(11_000), 1, 'series 2 stopped: the total drops to what is reported');
    assert.equal(last.get(20_000), 1);
    assert.ok(![...last.values()].some((v) => v !== null && v < 1));
  });

  it('max over all: one line', () => {
    const rows = new WidgetRows(series, { aggregate: 'max', groupBy: 'all', bucketMs: 1000, maxGapMs: 5000, scale: 1 });
    rows.add(1, [{ t: 0, v: 3 }]);
    rows.add(3, [{ t: 10, v: 9 }]);
    const last = rows.add(2, [{ t: 20, v: 4 }]);
    assert.deepEqual(last.insert, [{ t: 0, v: 9, series: 'max' }]);
  });

  it('aggregated lines break across empty buckets', () => {
    const rows = new WidgetRows(series, { aggregate: 'avg', groupBy: 'all', bucketMs: 1000, maxGapMs: 5000, scale: 1 });
    rows.add(1, [{ t: 0, v: 2 }]);
    const later = rows.add(1, [{ t: 20_000, v: 4 }]);
    assert.deepEqual(later.insert, [
      { t: 1, v: null, series: 'avg' },
      { t: 20_000, v: 4, series: 'avg' },
    ]);
  });

  it('time windows: presets are live unless live=0; custom is fixed and clamped to now', () => {
    const now = 10_000_000;
    assert.deepEqual(resolveWindow(new URLSearchParams('range=15m'), '1h', now), { from: now - 900_000, to: now, live: true, key: '15m' });
    assert.equal(resolveWindow(new URLSearchParams('range=6h&live=0'), '1h', now).live, false);
    assert.equal(resolveWindow(new URLSearchParams('range=bogus'), '1h', now).key, '1h');
    const custom = resolveWindow(new URLSearchParams(`range=custom&from=${now - 5000}&to=${now + 99_999}`), '1h', now);
    assert.deepEqual(custom, { from: now - 5000, to: now, live: false, key: 'custom' });
    const backwards = resolveWindow(new URLSearchParams(`range=custom&from=${now}&to=${now - 1000}`), '1h', now);
    assert.ok(backwards.from < backwards.to);
  });

  it('time zones: the picker\'s fields are read in its tz (UTC without one); offsets, DST and the cookie', () => {
    const now = Date.UTC(2026, 10, 28, 12, 0);
    const read = (q: string) => resolveWindow(new URLSearchParams(q), '1h', now);
    assert.equal(read('range=custom&from=2026-11-28T09:30&to=2026-11-28T10:00').from, Date.UTC(2026, 10, 28, 9, 30), 'UTC by default');
    assert.equal(read('range=custom&from=2026-11-28T09:30&to=2026-11-28T10:00&tz=Asia/Kolkata').from, Date.UTC(2026, 10, 28, 4, 0), '+05:30');
    assert.equal(read('range=custom&from=2026-11-28T09:30&to=2026-11-28T10:00&tz=Not/AZone').from, Date.UTC(2026, 10, 28, 9, 30), 'an unknown zone is UTC');
    assert.equal(zoneOffsetMs('Europe/Berlin', Date.UTC(2026, 6, 1)), 2 * 3_600_000, 'summer time');
    assert.equal(zoneOffsetMs('Europe/Berlin', Date.UTC(2026, 0, 1)), 3_600_000);
    assert.equal(zoneOffsetMs('America/New_York', Date.UTC(2026, 0, 1)), -5 * 3_600_000);
    for (const zone of ['UTC', 'Asia/Kolkata', 'Europe/Berlin', 'America/New_York']) {
      for (const t of [Date.UTC(2026, 2, 29, 0, 30), Date.UTC(2026, 10, 28, 9, 31), Date.UTC(2026, 9, 25, 3, 0)]) {
        const field = toInputValue(t, zone);
        assert.match(field, /^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
        assert.equal(fromInputValue(field, zone), Math.floor(t / 60_000) * 60_000, `${zone} ${field} round trip`);
      }
    }
    assert.equal(toInputValue(Date.UTC(2026, 10, 28, 9, 31), 'Asia/Kolkata'), '2026-11-28T15:01');
    assert.ok(Number.isNaN(fromInputValue('yesterday', 'UTC')));
    assert.equal(zoneFromCookie('sid=x; tz=Asia%2FKolkata; other=1'), 'Asia/Kolkata');
    assert.equal(zoneFromCookie('tz=%3Cscript%3E'), 'UTC', 'not a zone');
    assert.equal(zoneFromCookie(null), 'UTC');
    assert.match(tzCookie('Europe/Berlin'), /^tz=Europe%2FBerlin; Path=\/; Max-Age=\d+; SameSite=Lax$/);
  });

  it('charts in the browser\'s zone: local time scales and formats, the zone named in tooltips; UTC by default', () => {
    const local = JSON.stringify(timeSeriesSpec({ seriesNames: ['a'], outageBand: true, timeZone: 'Asia/Kolkata' }));
    assert.doesNotMatch(local, /utc/i);
    assert.match(local, /"type":"time"/);
    assert.match(local, /timeFormat\(datum\.t/);
    assert.match(local, /time \(Asia\/Kolkata\)/);
    const utc = JSON.stringify(timeSeriesSpec({ seriesNames: ['a'], outageBand: true }));
    assert.doesNotMatch(utc, /"type":"time"/);
    assert.match(utc, /time \(UTC\)/);
    compile(JSON.parse(local));
  });

  it('octet counters in bits/s are multiplied by 8; nothing else is', () => {
    assert.equal(unitScale('bits/s', '/interfaces/interface[name=E1]/state/counters/in-octets'), 8);
    assert.equal(unitScale('bits/s', '/interfaces/interface[name=E1]/state/counters/in-unicast-pkts'), 1);
    assert.equal(unitScale('%', '/x/in-octets'), 1);
  });

  it('bucket widths give about 600 buckets and at least a second', () => {
    assert.equal(bucketMs(15 * 60_000), 2000);
    assert.equal(bucketMs(60_000), 1000);
    assert.equal(bucketMs(7 * 24 * 3_600_000), 1_800_000);
    assert.equal(gapThreshold([{ t: 0 }, { t: 1000 }, { t: 2000 }, { t: 3000 }]), 5000);
    assert.equal(gapThreshold([{ t: 0 }, { t: 10_000 }, { t: 20_000 }, { t: 30_000 }]), 30_000);
  });

  it('a dashboard stays within one stream: later widgets lose series past the budget', () => {
    const w = (ids: number[]) => ({ series: ids.map((id) => ({ id })), truncated: false });
    const capped = capSeries([w([1, 2, 3]), w([3, 4, 5])], 4);
    assert.deepEqual(capped.map((x) => x.series.map((s) => s.id)), [[1, 2, 3], [3, 4]]);
    assert.deepEqual(capped.map((x) => x.truncated), [false, true]);
  });

  it('path picker patterns and series labels', () => {
    assert.equal(generalise('/interfaces/interface[name=Ethernet1]/state/counters/in-octets'), '/interfaces/interface[name=*]/state/counters/in-octets');
    assert.equal(generalise('/a[name=x\\]y]/b'), '/a[name=*]/b');
    assert.equal(seriesLabel('/interfaces/interface[name=Ethernet1]/state/counters/in-octets', '/interfaces/interface[name=*]/state/counters/in-octets'), 'Ethernet1');
    assert.equal(seriesLabel('/interfaces/interface[name=Ethernet1]/state/counters/in-octets', '/interfaces/...'), 'Ethernet1 in-octets');
    // Counters (charted per second by default) against gauges and states.
    for (const p of ['/interfaces/interface[name=*]/state/counters/in-octets', '/interfaces-state/interface[name=*]/statistics/in-errors', '/interfaces/interface[name=*]/state/counters/in-unicast-pkts', '/qos/queue[name=*]/state/dropped-pkts']) assert.equal(isCounterPath(p), true, p);
    for (const p of ['/components/component[name=*]/cpu/utilization/state/instant', '/system/memory/state/used', '/interfaces/interface[name=*]/state/oper-status']) assert.equal(isCounterPath(p), false, p);
    assert.equal(seriesLabel('/system/memory/state/used'), 'used');
  });
});

describe('web: state panels of text leaves', () => {
  it('bands: a value lasts until the next different one, clipped to the window, ended by null; current state since its run began', () => {
    const rows = [
      { t: 0, v: 'UP' }, // before the window
      { t: 150, v: 'UP' },
      { t: 200, v: 'DOWN' },
      { t: 300, v: null }, // deleted
      { t: 400, v: 'UP' },
      { t: 450, v: 'UP' },
    ];
    assert.deepEqual(stateBands(rows, 100, 500), [
      { from: 100, to: 200, value: 'UP' },
      { from: 200, to: 300, value: 'DOWN' },
      { from: 400, to: 500, value: 'UP' },
    ]);
    assert.deepEqual(stateBands(rows, 100, 250), [
      { from: 100, to: 200, value: 'UP' },
      { from: 200, to: 250, value: 'DOWN' },
    ], 'rows after the end are ignored; the open band ends at the end');
    assert.deepEqual(stateBands([], 0, 100), []);
    assert.deepEqual(currentState(rows), { value: 'UP', since: 400 });
    assert.deepEqual(currentState([{ t: 5, v: 'DOWN' }]), { value: 'DOWN', since: 5 });
    assert.equal(currentState([]), undefined);
    assert.equal(stateColour('UP'), stateColour('up'));
    assert.notEqual(stateColour('UP'), stateColour('DOWN'));
    assert.equal(stateColour('LOWER_LAYER_DOWN'.toLowerCase().replaceAll('_', '-')), stateColour('DOWN'));
  });
});
