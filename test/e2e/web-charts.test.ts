/**
 * Chart axes in Chromium: every axis label and title of every axis chart (line,
 * area, stacked area, bar) lies inside its chart, on the device page and on a
 * dashboard of wide and narrow widgets, for values from a few bit/s to over
 * 100 Gbit/s, counts in the millions and percentages — also after live points
 * make the labels longer than the ones the chart was first laid out with.
 * The data are written straight into the database (no simulator, no workers),
 * so the magnitudes are exact; live points reach the page through the ingest
 * doorbell (NOTIFY samples_ready) as the batcher rings it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { SAMPLES_CHANNEL } from '../../core/names';
import { addWidget } from '../../storage/dashboards';
import type { WidgetForm } from '../../web/app/lib/widget-form';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { artifactsDir } from '../support/env';
import { signInPage } from '../../testkit/web-auth';
import { OPTIONAL_DAY } from '../support/time-text';

const IFACES = ['Ethernet1', 'Ethernet2', 'Ethernet3', 'Ethernet4'];
const counter = (name: string, leaf: string) => `/interfaces/interface[name=${name}]/state/counters/${leaf}`;
const CPU = '/components/component[name=CPU0]/cpu/utilization/state/instant';
const MEMORY = '/system/memory/state/used';
const TEMPERATURE = '/components/component[name=Chassis]/state/temperature/instant';
const STEP_MS = 5000;
const HISTORY_MS = 10 * 60_000;

/** A label or title drawn outside the box of its chart (what the browser would clip). */
interface Escape {
  chart: string;
  text: string;
  box: { left: number; right: number; top: number; bottom: number };
  chartBox: { left: number; right: number; top: number; bottom: number };
}

/**
 * Every axis chart matching `selector`: how many axis labels it drew and which
 * axis or legend labels stick out of the chart element or of its SVG (which clips
 * its content).
 */
async function axisLabelEscapes(page: Page, selector: string): Promise<{ charts: Array<{ chart: string; labels: number; svg: number }>; escapes: Escape[] }> {
  // Vega draws in the same task as view.change().run(); two frames let the browser lay the SVG out.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  // No named helpers inside: tsx would wrap them in a __name() call the page does not have.
  return page.evaluate((sel) => {
    const charts: Array<{ chart: string; labels: number; svg: number }> = [];
    const escapes: Escape[] = [];
    for (const el of document.querySelectorAll(sel)) {
      const chart = el.getAttribute('data-testid') ?? '?';
      const svgs = el.querySelectorAll('svg');
      // Labels Vega hid to avoid overlaps (opacity 0) are not shown, so they may sit anywhere.
      const texts = [...el.querySelectorAll('svg g.role-axis-label text, svg g.role-axis-title text, svg g.role-legend-label text')].filter(
        (t) => (t.textContent ?? '') !== '' && t.getAttribute('opacity') !== '0',
      );
      charts.push({ chart, labels: el.querySelectorAll('svg g.role-axis-label text').length, svg: svgs.length });
      const outer = el.getBoundingClientRect();
      const svg = svgs[0]?.getBoundingClientRect();
      const box = svg
        ? { left: Math.max(outer.left, svg.left), right: Math.min(outer.right, svg.right), top: Math.max(outer.top, svg.top), bottom: Math.min(outer.bottom, svg.bottom) }
        : { left: outer.left, right: outer.right, top: outer.top, bottom: outer.bottom };
      for (const t of texts) {
        const r = t.getBoundingClientRect();
        // Half a pixel for sub-pixel rounding of glyph boxes.
        if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
          escapes.push({ chart, text: t.textContent ?? '', box: { left: r.left, right: r.right, top: r.top, bottom: r.bottom }, chartBox: box });
        }
      }
    }
    return { charts, escapes };
  }, selector);
}

describe('web charts: axis labels stay inside the chart', function () {
  this.timeout(120_000);
  let stack: WebStack;
  let { tdb, web, admin, browser, page } = {} as WebStack; // filled in by before()
  let deviceId: number;
  let dashboardId: number;
  /** Series id by path, and the newest raw sample written for it. */
  const ids = new Map<string, number>();
  const newest = new Map<number, { t: number; v: number }>();

  const shot = (p: Page, name: string) => p.screenshot({ path: path.join(artifactsDir(), `web-${name}.png`), fullPage: true });

  /** Write samples (and remember each series' newest one). */
  async function writeSamples(rows: Array<{ id: number; t: number; v: number }>): Promise<void> {
    for (let i = 0; i < rows.length; i += 1000) {
      await tdb.db('samples').insert(rows.slice(i, i + 1000).map((r) => ({ series_id: r.id, time: new Date(r.t), value: r.v })));
    }
    for (const r of rows) if ((newest.get(r.id)?.t ?? -Infinity) < r.t) newest.set(r.id, { t: r.t, v: r.v });
  }

  /**
   * Counters of every interface advance at new rates for the last seconds up to now,
   * then the doorbell rings, as the ingest batcher does: `bps` bits and `pkts` packets
   * per second, times the interface number (1–4).
   */
  async function pushLive(bps: number, pkts: number): Promise<void> {
    const now = Date.now();
    const rows: Array<{ id: number; t: number; v: number }> = [];
    IFACES.forEach((name, i) => {
      for (const [leaf, perSecond] of [
        ['in-octets', (bps / 8) * (i + 1)],
        ['out-octets', (bps / 8) * (i + 1)],
        ['in-unicast-pkts', pkts * (i + 1)],
      ] as const) {
        const id = ids.get(counter(name, leaf))!;
        let last = newest.get(id)!;
        for (const t of [now - 2000, now - 1000, now]) {
          last = { t, v: last.v + (perSecond * (t - last.t)) / 1000 };
          rows.push({ id, ...last });
        }
      }
    });
    await writeSamples(rows);
    await tdb.db.raw('SELECT pg_notify(?, ?)', [SAMPLES_CHANNEL, [...new Set(rows.map((r) => r.id))].join(',')]);
  }

  /** Wait until every chart matching `selector` has points and follows the stream. */
  async function chartsDrawn(p: Page, selector: string, count: number): Promise<void> {
    await p.waitForFunction(
      ({ sel, n }) => {
        const charts = [...document.querySelectorAll(sel)];
        return charts.length === n && charts.every((c) => Number(c.getAttribute('data-point-count')) > 0 && c.getAttribute('data-status') === 'live');
      },
      { sel: selector, n: count },
      { timeout: 30_000 },
    ).catch(async (err: Error) => {
      const states = await p.evaluate((sel) => [...document.querySelectorAll(sel)].map((c) => `${c.getAttribute('data-testid')}: ${c.getAttribute('data-status')}, ${c.getAttribute('data-point-count')} points`), selector);
      throw new Error(`${err.message}; charts: ${states.join('; ') || 'none'}`);
    });
  }

  /** The plot area of a chart in viewport pixels: the union of the crosshair's voronoi cells, which cover it. */
  const plotBox = (p: Page, testId: string) =>
    p.evaluate((id) => {
      const cells = [...document.querySelectorAll(`[data-testid=${id}] svg g.mark-path.role-mark path`)].map((c) => c.getBoundingClientRect());
      const x = Math.min(...cells.map((r) => r.left));
      const y = Math.min(...cells.map((r) => r.top));
      return { x, y, width: Math.max(...cells.map((r) => r.right)) - x, height: Math.max(...cells.map((r) => r.bottom)) - y };
    }, testId);

  /** Sum of the point counts of the charts matching `selector`. */
  const pointCount = (p: Page, selector: string) =>
    p.evaluate((sel) => [...document.querySelectorAll(sel)].reduce((n, c) => n + Number(c.getAttribute('data-point-count')), 0), selector);

  function assertInside(result: Awaited<ReturnType<typeof axisLabelEscapes>>, expectCharts: number): void {
    assert.equal(result.charts.length, expectCharts, `charts found: ${JSON.stringify(result.charts)}`);
    for (const c of result.charts) {
      assert.equal(c.svg, 1, `${c.chart} renders as SVG`);
      assert.ok(c.labels >= 4, `${c.chart} drew its axis labels (${c.labels})`);
    }
    const px = (b: Escape['box']) => `x ${b.left.toFixed(1)}…${b.right.toFixed(1)}, y ${b.top.toFixed(1)}…${b.bottom.toFixed(1)}`;
    const lines = result.escapes.map((e) => `${e.chart} "${e.text}" at ${px(e.box)}, chart ${px(e.chartBox)}`);
    assert.equal(lines.length, 0, `axis labels outside their chart:\n${lines.join('\n')}`);
  }

  before(async () => {
    stack = await startWebStack({ database: 'e2e_charts', adminEmail: 'charts-admin@example.test' });
    ({ tdb, web, admin, browser, page } = stack);
    // A device without a session: its history is written below, its live points by pushLive.
    [{ id: deviceId }] = await tdb.db('devices').insert({ name: 'charts-switch', protocol: 'gnmi', host: '127.0.0.1', port: 9, enabled: false }).returning('id');
    const paths = [...IFACES.flatMap((n) => ['in-octets', 'out-octets', 'in-unicast-pkts'].map((leaf) => counter(n, leaf))), CPU, MEMORY, TEMPERATURE];
    for (const p of paths) {
      const [{ id }] = await tdb.db('series').insert({ device_id: deviceId, path: p, kind: 'number' }).returning('id');
      ids.set(p, Number(id));
    }
    // Text leaves: a widget on them says so instead of "no series match yet".
    const operIds: number[] = [];
    for (const name of IFACES) {
      const [{ id }] = await tdb.db('series').insert({ device_id: deviceId, path: `/interfaces/interface[name=${name}]/state/oper-status`, kind: 'text' }).returning('id');
      operIds.push(Number(id));
    }
    // Their states: Ethernet1 up all along (repeated), Ethernet2 up then down 3 min ago, Ethernet3 down then up, Ethernet4 never reported.
    const at = (minAgo: number) => new Date(Date.now() - minAgo * 60_000);
    await tdb.db('states').insert([
      { series_id: operIds[0], time: at(20), value: 'UP' },
      { series_id: operIds[0], time: at(5), value: 'UP' },
      { series_id: operIds[1], time: at(12), value: 'UP' },
      { series_id: operIds[1], time: at(3), value: 'DOWN' },
      { series_id: operIds[2], time: at(9), value: 'DOWN' },
      { series_id: operIds[2], time: at(6), value: 'UP' },
    ]);
    // Ten minutes of history: inbound a few hundred bit/s (short labels, until pushLive),
    // outbound around a gigabit (labels like "1.2Gbit/s"), packet counters in the millions,
    // CPU up to 100 %, memory in gigabytes, temperature in tens of degrees.
    const end = Date.now() - 1000;
    const rows: Array<{ id: number; t: number; v: number }> = [];
    for (let t = end - HISTORY_MS, k = 0; t <= end; t += STEP_MS, k++) {
      const secs = (k * STEP_MS) / 1000;
      const wave = Math.sin(k / 6);
      IFACES.forEach((name, i) => {
        rows.push({ id: ids.get(counter(name, 'in-octets'))!, t, v: (secs * 100 * (i + 1)) / 8 });
        rows.push({ id: ids.get(counter(name, 'out-octets'))!, t, v: (secs * 0.31e9 * (i + 1)) / 8 + (k % 2) * 1e6 });
        rows.push({ id: ids.get(counter(name, 'in-unicast-pkts'))!, t, v: secs * 500 * (i + 1) });
      });
      rows.push({ id: ids.get(CPU)!, t, v: 50 + 50 * wave });
      rows.push({ id: ids.get(MEMORY)!, t, v: 15.5e9 + 0.4e9 * wave });
      rows.push({ id: ids.get(TEMPERATURE)!, t, v: 48 + 9 * wave });
    }
    await writeSamples(rows);
    // A dashboard of every axis chart kind, narrow (width 4) and wide, across units.
    [{ id: dashboardId }] = await tdb.db('dashboards').insert({ name: 'Chart axes', time_range: '15m', live: true }).returning('id');
    const widget = (w: Partial<WidgetForm> & Pick<WidgetForm, 'title' | 'path' | 'chart' | 'unit' | 'width'>): WidgetForm => ({
      deviceId,
      aggregate: 'none',
      groupBy: 'series',
      rate: false,
      ...w,
    });
    const octets = (leaf: string) => counter('*', leaf);
    for (const w of [
      widget({ title: 'Inbound, line', path: octets('in-octets'), rate: true, chart: 'line', unit: 'bits/s', width: 4 }),
      widget({ title: 'Outbound, stacked', path: octets('out-octets'), rate: true, chart: 'stacked-area', unit: 'bits/s', width: 4 }),
      widget({ title: 'Packets, area', path: octets('in-unicast-pkts'), chart: 'area', unit: '', width: 4 }),
      widget({ title: 'CPU, bar', path: CPU, chart: 'bar', unit: '%', width: 4 }),
      widget({ title: 'Packet rate, line', path: octets('in-unicast-pkts'), rate: true, chart: 'line', unit: 'pkts/s', width: 4 }),
      widget({ title: 'Memory, area', path: MEMORY, chart: 'area', unit: 'bytes', width: 4 }),
      widget({ title: 'Outbound, bar', path: octets('out-octets'), rate: true, aggregate: 'sum', groupBy: 'all', chart: 'bar', unit: 'bits/s', width: 6 }),
      widget({ title: 'Temperature, line', path: TEMPERATURE, chart: 'line', unit: '°C', width: 6 }),
      widget({ title: 'Inbound, wide', path: octets('in-octets'), rate: true, chart: 'area', unit: 'bits/s', width: 12 }),
      widget({ title: 'Oper-status', path: '/interfaces/interface[name=*]/state/oper-status', chart: 'line', unit: '', width: 6 }),
    ]) {
      await addWidget(tdb.db, dashboardId, w);
    }
  });

  after(async () => {
    await stack?.stop();
  });

  it('device page: traffic and health charts keep their labels inside, also after live values grow to over 100 Gbit/s', async () => {
    const charts = '.chart[data-testid]';
    await page.goto(`${web.url}/devices/${deviceId}`);
    await chartsDrawn(page, charts, 5);
    assertInside(await axisLabelEscapes(page, charts), 5);
    // Inbound goes from hundreds of bit/s to tens of Gbit/s after the chart was laid out.
    const before = await pointCount(page, charts);
    await pushLive(30e9, 1.5e6);
    await page.waitForFunction(({ sel, n }) => [...document.querySelectorAll(sel)].reduce((m, c) => m + Number(c.getAttribute('data-point-count')), 0) >= n + 8, { sel: charts, n: before }, { timeout: 20_000 });
    const grown = await page.getByTestId('live-chart').locator('svg g.role-axis-label text').allTextContents();
    assert.ok(grown.some((t) => /Gbit\/s$/.test(t)), `inbound labels in Gbit/s after the live points: ${grown.join(', ')}`);
    assertInside(await axisLabelEscapes(page, charts), 5);
    await shot(page, 'charts-device');
  });

  it('live window: a live chart spans the selected 15 min though its history covers 10, and slides with the clock; the legend table gives last, min, max and mean', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${web.url}/devices/${deviceId}`);
    await chartsDrawn(page, '.chart[data-testid]', 5);
    await page.getByTestId('live-chart').scrollIntoViewIfNeeded();
    const plot = await plotBox(page, 'live-chart');
    const lineLeft = () => page.evaluate(() => Math.min(...[...document.querySelectorAll('[data-testid=live-chart] svg g.mark-line.role-mark path')].map((p) => p.getBoundingClientRect().left)));
    // History began ten minutes (plus the time the tests took) ago: about a third into a 15 min axis, not at its left edge.
    const left = await lineLeft();
    const share = (left - plot.x) / plot.width;
    assert.ok(share > 0.1 && share < 0.36, `the lines start ${(share * 100).toFixed(1)} % into the plot`);
    // The window slides: the same points move left as time passes, with no new data.
    await page.waitForFunction((x0) => Math.min(...[...document.querySelectorAll('[data-testid=live-chart] svg g.mark-line.role-mark path')].map((p) => p.getBoundingClientRect().left)) < x0 - 2, left, { timeout: 15_000 });
    // The legend table: one row per series with its figures in the chart's unit.
    const legend = page.getByTestId('live-chart-legend');
    assert.deepEqual(await legend.locator('thead th').allTextContents(), ['Series', 'Last', 'Min', 'Max', 'Mean']);
    assert.deepEqual(await legend.locator('tbody th').allTextContents(), IFACES);
    for (const name of IFACES) {
      const cells = await legend.locator(`tr[data-series=${name}] td`).allTextContents();
      assert.equal(cells.length, 4);
      for (const c of cells) assert.match(c, /^[0-9.]+ [kMGT]?bit\/s$/, `${name}: ${cells.join(' | ')}`);
    }
  });

  it('explore: the crosshair tooltip lists every series at the pointer; a legend click isolates a series, shift-click adds one', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${web.url}/devices/${deviceId}`);
    await chartsDrawn(page, '.chart[data-testid]', 5);
    const chart = page.getByTestId('live-chart');
    await chart.scrollIntoViewIfNeeded();
    // The plot area: the crosshair's pointer surface (Vega-Lite's voronoi over the whole plot).
    const plot = await plotBox(page, 'live-chart');
    await page.mouse.move(plot.x + plot.width * 0.5, plot.y + plot.height * 0.5);
    await page.mouse.move(plot.x + plot.width * 0.55, plot.y + plot.height * 0.4);
    const tooltip = page.locator('#vg-tooltip-element.visible');
    await tooltip.waitFor({ timeout: 10_000 });
    const text = await tooltip.innerText();
    for (const name of IFACES) assert.match(text, new RegExp(`${name} \\(bit/s\\)\\s+[0-9.]+[kMGT]?`), `tooltip lists ${name}: ${text}`);
    assert.match(text, /time \(UTC\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    await shot(page, 'charts-crosshair');

    /** Opacity of each line of the inbound chart, by the order the legend lists them. */
    const opacities = () => chart.locator('svg g.mark-line.role-mark path').evaluateAll((ps) => ps.map((p) => Number(p.getAttribute('opacity') ?? p.getAttribute('stroke-opacity') ?? 1)));
    const legend = chart.locator('svg g.role-legend-label text');
    await page.mouse.move(0, 0);
    await legend.filter({ hasText: 'Ethernet2' }).click();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=live-chart] svg g.mark-line.role-mark path')].filter((p) => Number(p.getAttribute('opacity') ?? 1) < 0.5).length === 3, null, { timeout: 5000 });
    assert.deepEqual((await opacities()).map((o) => o > 0.5), [false, true, false, false], 'only Ethernet2 stands out');
    await legend.filter({ hasText: 'Ethernet4' }).click({ modifiers: ['Shift'] });
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=live-chart] svg g.mark-line.role-mark path')].filter((p) => Number(p.getAttribute('opacity') ?? 1) < 0.5).length === 2, null, { timeout: 5000 });
    assert.deepEqual((await opacities()).map((o) => o > 0.5), [false, true, false, true], 'shift-click adds Ethernet4');
  });

  it('explore: dragging across a chart zooms the device page to that range; zoom out and shift follow from it', async () => {
    await page.goto(`${web.url}/devices/${deviceId}`);
    await chartsDrawn(page, '.chart[data-testid]', 5);
    assert.equal(await page.locator('[data-testid=range-picker] select[name=range]').inputValue(), '15m', 'the device page has a range picker, 15 min live by default');
    await page.getByTestId('live-chart').scrollIntoViewIfNeeded();
    const plot = await plotBox(page, 'live-chart');
    const y = plot.y + plot.height / 2;
    const before = Date.now();
    await page.mouse.move(plot.x + plot.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(plot.x + plot.width * 0.45, y, { steps: 5 });
    await page.mouse.move(plot.x + plot.width * 0.6, y, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL(/range=custom/, { timeout: 10_000 });
    const url = new URL(page.url());
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    assert.equal(url.searchParams.get('live'), '0');
    // The live chart spans the page's 15 min window up to now: 30 %…60 % of it is 4.5 min
    // long and ended 6 min ago.
    assert.ok(to - from > 220_000 && to - from < 320_000, `zoomed to ${(to - from) / 1000} s`);
    assert.ok(before - to > 5 * 60_000 && before - to < 7.5 * 60_000, `ending ${(before - to) / 1000} s ago`);
    // The charts redraw for that range, from history (not live).
    await page.waitForFunction(() => document.querySelector('[data-testid=live-chart]')?.getAttribute('data-status') === 'history' && Number(document.querySelector('[data-testid=live-chart]')?.getAttribute('data-point-count')) > 0, null, { timeout: 20_000 });
    assert.equal(await page.locator('[data-testid=range-picker] select[name=range]').inputValue(), 'custom');
    await shot(page, 'charts-zoomed');

    await page.getByTestId('range-zoom-out').click();
    await page.waitForURL((u) => Number(u.searchParams.get('to')) - Number(u.searchParams.get('from')) > (to - from) * 1.5);
    const out = new URL(page.url());
    const mid = (Number(out.searchParams.get('from')) + Number(out.searchParams.get('to'))) / 2;
    assert.ok(Math.abs(mid - (from + to) / 2) < 1000, 'zoom out keeps the middle');
    await page.getByTestId('range-earlier').click();
    await page.waitForURL((u) => Number(u.searchParams.get('to')) < Number(out.searchParams.get('to')));
  });

  it('dashboard: line, area, stacked area and bar widgets, wide and narrow, keep their labels inside', async () => {
    const charts = '.chart[data-testid^=widget-chart-]';
    for (const width of [1280, 960]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${web.url}/dashboards/${dashboardId}`);
      await chartsDrawn(page, charts, 9);
      assertInside(await axisLabelEscapes(page, charts), 9);
      await shot(page, `charts-dashboard-${width}`);
    }
    // A raw counter widget says it is one; rate widgets do not; a text leaf is named as such.
    const rawNotes = await page.locator('[data-testid^=widget-raw-counter-]').allInnerTexts();
    assert.equal(rawNotes.length, 1, 'only "Packets, area" charts a counter raw');
    assert.match(rawNotes[0], /^Raw counter: the running total since the device last reset it, not a rate\./);
    assert.match(await page.locator('[data-testid^=widget-text-]').innerText(), /matches 4 text leaves \(states such as oper-status\), not numbers: shown as a state timeline and table/);
    // The state panel: bands per series coloured by value, and the current state with since when.
    const states = page.locator('[data-testid^=widget-states-]').first();
    const bands = (name: string) => states.locator('svg g', { has: page.locator(`text:text-is("${name}")`) }).locator('rect').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-value')));
    assert.deepEqual(await bands('Ethernet1'), ['UP'], 'a repeated state is one band');
    assert.deepEqual(await bands('Ethernet2'), ['UP', 'DOWN']);
    assert.deepEqual(await bands('Ethernet3'), ['DOWN', 'UP']);
    assert.deepEqual(await bands('Ethernet4'), []);
    const current = async (name: string) => states.locator(`tr[data-series=${name}] td`).allInnerTexts();
    assert.equal((await current('Ethernet2'))[0], 'DOWN');
    assert.match((await current('Ethernet2'))[1], new RegExp(`^${OPTIONAL_DAY}\\d\\d:\\d\\d:\\d\\d UTC \\(3 min ago\\)$`));
    assert.match((await current('Ethernet1'))[1], /\(20 min ago\)$/, 'since the first of the repeated UPs');
    assert.deepEqual(await current('Ethernet4'), ['—', '—']);
    assert.equal(await page.getByText('No series match').count(), 0);
    // Live growth on a drawn dashboard: rates a hundred times higher again (over a terabit stacked).
    const before = await pointCount(page, charts);
    await pushLive(100e9, 150e6);
    await page.waitForFunction(({ sel, n }) => [...document.querySelectorAll(sel)].reduce((m, c) => m + Number(c.getAttribute('data-point-count')), 0) >= n + 8, { sel: charts, n: before }, { timeout: 20_000 });
    assertInside(await axisLabelEscapes(page, charts), 9);
  });

  it('widget editor: typing a counter path ticks "Rate per second"; a gauge path unticks it; once set by hand it stays', async () => {
    await page.goto(`${web.url}/dashboards/${dashboardId}/widgets/new`);
    const path = page.getByLabel('Path');
    const rate = page.getByLabel('Rate per second (for counters)');
    // Typed after hydration: the box follows the path.
    await page.waitForFunction(() => document.querySelector('input[name=path]') !== null);
    await path.fill(counter('*', 'in-octets'));
    await page.waitForFunction(() => (document.querySelector('input[name=rate]') as HTMLInputElement).checked, null, { timeout: 5000 });
    await path.fill(CPU);
    await page.waitForFunction(() => !(document.querySelector('input[name=rate]') as HTMLInputElement).checked, null, { timeout: 5000 });
    await rate.check();
    await path.fill(MEMORY);
    assert.equal(await rate.isChecked(), true, 'a choice made by hand is kept');
  });

  it('widget editor: a live preview — the match count and a chart follow the path, rate and chart type as they change', async () => {
    await page.goto(`${web.url}/dashboards/${dashboardId}/widgets/new`);
    const count = page.getByTestId('widget-match-count');
    await count.waitFor({ timeout: 10_000 });
    assert.equal(await count.innerText(), 'Type a path to see what it matches.');
    await page.getByLabel('Path').fill(counter('*', 'in-octets'));
    await page.waitForFunction(() => document.querySelector('[data-testid=widget-match-count]')?.textContent === 'Matches 4 series.', null, { timeout: 10_000 });
    const chart = '[data-testid=widget-preview-chart]';
    await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-point-count')) > 0 && document.querySelector(sel)?.getAttribute('data-status') === 'history', chart, { timeout: 20_000 });
    assert.ok(await page.locator(`${chart}.chart-line`).count(), 'a line chart by default');
    await page.locator('select[name=chart]').selectOption('bar');
    await page.waitForSelector(`${chart}.chart-bar[data-status=history]`, { timeout: 10_000 });
    await page.locator('select[name=aggregate]').selectOption('sum');
    await page.locator('select[name=groupBy]').selectOption('all');
    await page.waitForFunction((sel) => document.querySelectorAll(`${sel} svg g.role-legend-label text`).length === 1, chart, { timeout: 10_000 });
    await page.getByLabel('Path').fill('/interfaces/interface[name=*]/state/oper-status');
    await page.waitForFunction(() => /^Matches 4 text leaves/.test(document.querySelector('[data-testid=widget-match-count]')?.textContent ?? ''), null, { timeout: 10_000 });
    assert.equal(await page.locator(chart).count(), 0, 'no chart for text leaves');
    await page.getByLabel('Path').fill('/no/such/leaf');
    await page.waitForFunction(() => document.querySelector('[data-testid=widget-match-count]')?.textContent === 'No series match /no/such/leaf yet.', null, { timeout: 10_000 });
  });

  it('devices page at 800 px: every row\'s actions are inside the window, nothing scrolls sideways', async () => {
    // Rows with long names and every column filled, as a fleet has them.
    await tdb.db('devices').insert(
      ['core-router-frankfurt-dc2-rack14-spine-01', 'access-switch-building-c-floor-3-closet-b'].map((name) => ({ name, protocol: 'gnmi', host: '192.0.2.200', port: 57400, enabled: true, site: 'frankfurt-dc2' })),
    );
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    const p = await context.newPage();
    try {
      await signInPage(p, web.url, admin);
      await p.goto(`${web.url}/devices`);
      await p.getByTestId('devices-table').waitFor();
      const layout = await p.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        width: document.documentElement.clientWidth,
        actions: [...document.querySelectorAll('[data-testid=devices-table] td.row-actions')].map((td) => Math.max(...[...td.querySelectorAll('a, button')].map((el) => el.getBoundingClientRect().right))),
      }));
      assert.ok(layout.actions.length >= 3, `rows: ${layout.actions.length}`);
      for (const right of layout.actions) assert.ok(right <= layout.width, `an action ends at ${right.toFixed(0)} px of ${layout.width}`);
      assert.ok(layout.scroll <= layout.width, `page ${layout.scroll} px wide in a ${layout.width} px window`);
      await p.screenshot({ path: path.join(artifactsDir(), 'web-devices-800.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  it('time zone: UTC by default; "show browser time" switches the range fields, axes and crosshair to the browser\'s zone, remembered across pages; a range typed in it is read in it', async () => {
    // A browser in India (+05:30 all year): its times differ from UTC in hours and minutes.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'Asia/Kolkata' });
    const p = await context.newPage();
    try {
      await signInPage(p, web.url, admin);
      await p.goto(`${web.url}/devices/${deviceId}`);
      await chartsDrawn(p, '.chart[data-testid]', 5);
      assert.equal(await p.getByTestId('tz-zone').innerText(), 'UTC');
      // The name the browser reports (Chromium may say Asia/Calcutta).
      const zone = await p.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
      const field = () => p.locator('[data-testid=range-picker] input[name=to]').inputValue();
      const utcTo = await field();
      const axisLabels = () => p.getByTestId('live-chart').locator('svg g.role-axis-label text').allTextContents();
      const utcLabels = (await axisLabels()).join(',');
      // The switch is a client-side button: the charts being live says the page is hydrated.
      await p.getByTestId('tz-switch').click();
      await p.waitForFunction((z) => document.querySelector('[data-testid=tz-zone]')?.textContent === z, zone, { timeout: 10_000 });
      // The to field (now) moved by +05:30 (a minute may have passed).
      await p.waitForFunction((u) => (document.querySelector('[data-testid=range-picker] input[name=to]') as HTMLInputElement).value !== u, utcTo, { timeout: 10_000 });
      const shift = Date.parse(`${await field()}Z`) - Date.parse(`${utcTo}Z`);
      assert.ok(shift >= 5.5 * 3_600_000 && shift <= 5.5 * 3_600_000 + 120_000, `to field shifted by ${shift / 60_000} min`);
      // Charts are drawn again in local time: the newest axis label is Kolkata's wall clock, and the crosshair names the zone.
      await p.waitForFunction(
        (before) => [...document.querySelectorAll('[data-testid=live-chart] svg g.role-axis-label text')].map((t) => t.textContent).join(',') !== before,
        utcLabels,
        { timeout: 20_000 },
      );
      await chartsDrawn(p, '.chart[data-testid]', 5);
      const labels = await axisLabels();
      const clock = (zone: string) => new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date());
      const hhmm = labels.filter((l) => /^\d\d:\d\d:\d\d$/.test(l)).map((l) => l.slice(0, 5));
      const kolkata = clock('Asia/Kolkata');
      assert.ok(hhmm.some((l) => Math.abs(Number(l.slice(0, 2)) * 60 + Number(l.slice(3)) - (Number(kolkata.slice(0, 2)) * 60 + Number(kolkata.slice(3)))) <= 16), `axis labels ${hhmm.join(', ')} near Kolkata's ${kolkata}`);
      await p.getByTestId('live-chart').scrollIntoViewIfNeeded();
      const plot = await plotBox(p, 'live-chart');
      await p.mouse.move(plot.x + plot.width * 0.6, plot.y + plot.height * 0.5);
      await p.mouse.move(plot.x + plot.width * 0.65, plot.y + plot.height * 0.4);
      await p.locator('#vg-tooltip-element.visible').waitFor({ timeout: 10_000 });
      assert.match(await p.locator('#vg-tooltip-element.visible').innerText(), new RegExp(`time \\(${zone}\\)`));
      // Remembered: another page load starts in the browser's zone.
      await p.goto(`${web.url}/dashboards/${dashboardId}`);
      assert.equal(await p.getByTestId('tz-zone').innerText(), zone);
      // A custom range typed in Kolkata time is read in Kolkata time: 10:00 there is 04:30 UTC.
      // The day before Kolkata's today, so the range is in the past at any hour (today's 10:00 is
      // still ahead while Kolkata's clock is before 10:00, i.e. from 18:30 to 04:30 UTC).
      const today = (await p.locator('[data-testid=range-picker] input[name=to]').inputValue()).slice(0, 10);
      const day = new Date(Date.parse(`${today}T00:00Z`) - 86_400_000).toISOString().slice(0, 10);
      await p.goto(`${web.url}/dashboards/${dashboardId}?range=custom&from=${day}T10:00&to=${day}T10:30&tz=${encodeURIComponent(zone)}`);
      assert.equal(await p.locator('[data-testid=range-picker] input[name=from]').inputValue(), `${day}T10:00`);
      // And back to UTC (after hydration: the charts have loaded their history).
      await p.waitForFunction(() => document.querySelectorAll('.chart[data-status=history]').length > 0, null, { timeout: 20_000 });
      await p.getByTestId('tz-switch').click();
      await p.waitForFunction(() => document.querySelector('[data-testid=tz-zone]')?.textContent === 'UTC', null, { timeout: 10_000 });
      assert.equal(await p.locator('[data-testid=range-picker] input[name=from]').inputValue(), `${day}T04:30`);
    } finally {
      await context.close();
    }
  });
});
