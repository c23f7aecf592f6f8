/**
 * The seeded Fleet overview computed on the server (issue 17), in Chromium: over three
 * switches at two sites with twelve interfaces each (constant, different inbound rates,
 * written to the database 10 s apart), the page shows the fleet total, the inbound traffic
 * per site with each site's exact sum in the legend, and a table of the ten busiest
 * interfaces in order with their rates — every figure from POST /api/query or the loader's
 * fleet query: the browser never asks for the raw series (/api/series) nor streams them.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { ensureFleetOverview, listWidgets } from '../../storage/dashboards';
import { formatValue } from '../../web/app/lib/format';
import { SAMPLES_CHANNEL } from '../../core/names';

const OCTETS = (i: number) => `/interfaces/interface[name=Ethernet${i}]/state/counters/in-octets`;
const DEVICES = [
  { name: 'fq-sw1', site: 'ams' },
  { name: 'fq-sw2', site: 'ams' },
  { name: 'fq-sw3', site: 'fra' },
];
const IFACES = 12;
/** Inbound bytes per second of interface i (1-based) of device d (0-based): all different. */
const rateOf = (d: number, i: number) => (d * IFACES + i) * 1000;

describe('web: Fleet overview computed on the server (fleet queries)', function () {
  this.timeout(180_000);
  let stack: WebStack;
  let page: Page;
  const requested: string[] = [];
  /** Write every interface's counter at these times and ring the ingest doorbell. */
  let writeTicks: (at: number[]) => Promise<void>;

  before(async () => {
    stack = await startWebStack({ database: 'e2e_fleet_query', adminEmail: 'fleet-query@example.test' });
    page = stack.page;
    const { tdb } = stack;
    const seriesIds: Array<{ id: number; rate: number }> = [];
    // Counters every 10 s for the last 14 minutes, the newest 20 s ago (complete: the charts leave out the last 15 s).
    const newest = Math.floor((Date.now() - 20_000) / 10_000) * 10_000;
    const times = Array.from({ length: 84 }, (_, k) => newest - (83 - k) * 10_000);
    for (const [d, dev] of DEVICES.entries()) {
      const [{ id: deviceId }] = await tdb.db('devices').insert({ name: dev.name, site: dev.site, protocol: 'gnmi', host: '127.0.0.1', port: 9, enabled: false }).returning('id');
      for (let i = 1; i <= IFACES; i++) {
        const [{ id }] = await tdb.db('series').insert({ device_id: deviceId, path: OCTETS(i), kind: 'number' }).returning('id');
        seriesIds.push({ id: Number(id), rate: rateOf(d, i) });
      }
    }
    // Counter value at time t: its rate times the seconds since an hour before the first sample.
    const origin = times[0] - 3_600_000;
    writeTicks = async (at: number[]) => {
      for (const s of seriesIds) {
        await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000.0), $1, (t - $3::float8) / 1000 * $4 FROM unnest($2::float8[]) AS u(t)`, [s.id, at, origin, s.rate]);
      }
      await tdb.pool.query(`SELECT pg_notify($1, $2)`, [SAMPLES_CHANNEL, seriesIds.map((s) => s.id).join(',')]);
    };
    await writeTicks(times);
    page.on('request', (r) => requested.push(new URL(r.url()).pathname + new URL(r.url()).search));
  });
  after(async () => stack?.stop());

  it('the widget editor: a list key of the collected paths as the grouping, top 3, drawn as a table computed on the server', async () => {
    const dashboardId = await ensureFleetOverview(stack.tdb.db);
    await page.goto(`${stack.web.url}/dashboards/${dashboardId}/widgets/new`);
    const keys = await page.locator('#group-key-suggestions option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.ok(keys.includes('interface[name]'), `suggested keys: ${keys.join(', ')}`);
    await page.locator('input[name=title]').fill('Busiest interface names');
    await page.locator('input[name=path]').fill('interfaces: in-octets');
    await page.locator('input[name=rate]').check();
    await page.locator('select[name=aggregate]').selectOption('sum');
    await page.locator('select[name=groupBy]').selectOption('key');
    await page.locator('input[name=groupKey]').fill('interface[name]');
    await page.locator('input[name=topN]').fill('3');
    await page.locator('select[name=chart]').selectOption('table');
    await page.locator('select[name=unit]').selectOption('bits/s');
    await page.getByRole('button', { name: 'Add widget' }).click();
    await page.waitForURL(new RegExp(`/dashboards/${dashboardId}$`));
    const widget = (await listWidgets(stack.tdb.db, dashboardId)).find((w) => w.title === 'Busiest interface names')!;
    assert.deepEqual([widget.aggregate, widget.group_by, widget.top_n, widget.top_order, widget.rate], ['sum', 'interface[name]', 3, 'top', true]);
    // Each interface name summed across the three switches; the three busiest names, busiest first.
    const byName = (i: number) => DEVICES.reduce((sum, _, d) => sum + rateOf(d, i) * 8, 0);
    const rows = page.getByTestId(`widget-table-${widget.id}`).locator('tbody tr');
    await rows.nth(2).waitFor({ timeout: 30_000 });
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-series'))), ['Ethernet12', 'Ethernet11', 'Ethernet10']);
    assert.deepEqual(await rows.locator('td.num').allTextContents(), [12, 11, 10].map((i) => formatValue(byName(i), 'bits/s')));
    await stack.tdb.db('widgets').where({ id: widget.id }).delete();
  });

  it('shows the fleet total, the per-site breakdown and the top 10 interfaces, none of it from raw series in the browser', async () => {
    const dashboardId = await ensureFleetOverview(stack.tdb.db);
    const widgets = await listWidgets(stack.tdb.db, dashboardId);
    const idOf = (title: string) => widgets.find((w) => w.title === title)!.id;
    requested.length = 0; // this page's requests only
    await page.goto(`${stack.web.url}/dashboards/${dashboardId}`);

    // The top-10 table (server-rendered): the ten busiest interfaces, busiest first, each with its rate in bits/s.
    const table = page.getByTestId(`widget-table-${idOf('Busiest interfaces (inbound, top 10)')}`);
    const ranked = DEVICES.flatMap((dev, d) => Array.from({ length: IFACES }, (_, k) => ({ label: `${dev.name} Ethernet${k + 1}`, bits: rateOf(d, k + 1) * 8 })))
      .sort((a, b) => b.bits - a.bits)
      .slice(0, 10);
    const rows = table.locator('tbody tr');
    assert.equal(await rows.count(), 10);
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-series'))), ranked.map((r) => r.label));
    assert.deepEqual(await rows.locator('td.num').allTextContents(), ranked.map((r) => formatValue(r.bits, 'bits/s')));
    await page.getByText('Top 10 by mean over the range, sum of 36 series by series, computed on the server.').waitFor();

    // The per-site line chart: one line per site; its legend's last value is the site's exact sum.
    const bySite = `widget-chart-${idOf('Inbound traffic by site')}`;
    await page.locator(`[data-testid="${bySite}"][data-point-count]:not([data-point-count="0"])`).waitFor({ timeout: 60_000 });
    const legend = page.getByTestId(`${bySite}-legend`);
    await legend.locator('tr[data-series="fra"]').waitFor({ timeout: 30_000 });
    for (const site of ['ams', 'fra']) {
      const bits = DEVICES.flatMap((dev, d) => (dev.site === site ? Array.from({ length: IFACES }, (_, k) => rateOf(d, k + 1) * 8) : [])).reduce((a, b) => a + b, 0);
      assert.equal(await legend.locator(`tr[data-series="${site}"] td`).first().textContent(), formatValue(bits, 'bits/s'), `site ${site}`);
    }
    assert.deepEqual(await legend.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-series'))), ['ams', 'fra']);

    // The fleet total (single stat) is drawn from its own fleet query.
    const total = page.getByTestId(`widget-chart-${idOf('Inbound traffic, whole fleet')}`);
    await page.locator(`[data-testid="widget-chart-${idOf('Inbound traffic, whole fleet')}"][data-point-count]:not([data-point-count="0"])`).waitFor({ timeout: 60_000 });
    assert.match((await total.getAttribute('data-status')) ?? '', /^live$/);

    // Every chart asked the server for its aggregates; no raw series were fetched or streamed: the one
    // live stream carries the dashboard's aggregates, computed in the web process.
    assert.ok(requested.filter((p) => p.startsWith('/api/query')).length >= 3, `requests: ${[...new Set(requested)].join(', ')}`);
    assert.deepEqual(requested.filter((p) => p.startsWith('/api/series')), []);
    const streams = requested.filter((p) => p.startsWith('/api/live'));
    assert.equal(streams.length, 1, streams.join(' '));
    assert.match(streams[0], new RegExp(`[?&]dashboard=${dashboardId}&`));
    assert.doesNotMatch(streams[0], /series=/);

    // New counters of every interface, now: the per-site chart continues with the live aggregates, each step the exact sum.
    const before = Number(await page.getByTestId(bySite).getAttribute('data-point-count'));
    await writeTicks(Array.from({ length: 6 }, (_, k) => Math.floor(Date.now() / 1000) * 1000 - 5000 + k * 1000));
    await page.waitForFunction(([id, n]) => Number(document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-point-count')) > n, [bySite, before] as const, { timeout: 60_000 });
    for (const site of ['ams', 'fra']) {
      const bits = DEVICES.flatMap((dev, d) => (dev.site === site ? Array.from({ length: IFACES }, (_, k) => rateOf(d, k + 1) * 8) : [])).reduce((a, b) => a + b, 0);
      await page.waitForFunction(([sel, text]) => document.querySelector(sel)?.textContent === text, [`[data-testid="${bySite}-legend"] tr[data-series="${site}"] td`, formatValue(bits, 'bits/s')] as const, { timeout: 30_000 });
    }
  });
});
