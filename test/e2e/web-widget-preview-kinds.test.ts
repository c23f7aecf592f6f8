/**
 * The widget editor's preview of the server-drawn kinds (issue 21), in Chromium: as the
 * path, rate and chart type change, the preview draws the same state timeline and table of
 * last values the dashboard draws (GET /api/widget-panel, web/app/lib/widget-panels.server.ts)
 * — an oper-status text leaf as a timeline and as a table of current states, an in-octets
 * counter as a table of rates, as a timeline of its changes, and as a top-1 table computed
 * by the fleet query.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, type WebStack } from '../support/browser-rig';

const OCTETS = (i: string) => `/interfaces/interface[name=${i}]/state/counters/in-octets`;
const OPER = (i: string) => `/interfaces/interface[name=${i}]/state/oper-status`;
/** Generous: the first request compiles routes on a loaded machine. */
const SEEN = { timeout: 30_000 };

describe('web: widget editor preview of state-timeline and table', function () {
  this.timeout(180_000);
  let stack: WebStack;
  let web: WebStack['web'];
  let page: Page;
  let deviceId: number;
  let dashboardId: number;

  before(async () => {
    stack = await startWebStack({ database: 'e2e_widget_preview_kinds', adminEmail: 'preview-kinds@example.test' });
    const { tdb } = stack;
    ({ web, page } = stack);
    [{ id: deviceId }] = await tdb.db('devices').insert({ name: 'preview-switch', protocol: 'gnmi', host: '127.0.0.1', port: 9, enabled: false }).returning('id');
    const series = async (path: string, kind: 'number' | 'text') => Number((await tdb.db('series').insert({ device_id: deviceId, path, kind }).returning('id'))[0].id);
    const now = Date.now();
    // Oper-status: DOWN from 10 min ago, UP since 3 min ago.
    const oper = await series(OPER('Ethernet1'), 'text');
    await tdb.db('states').insert([
      { series_id: oper, time: new Date(now - 10 * 60_000), value: 'DOWN' },
      { series_id: oper, time: new Date(now - 3 * 60_000), value: 'UP' },
    ]);
    // Ethernet1 counts 1000 bytes/s (two points 5 min apart, the newest 1 s ago); Ethernet2 100 bytes/s, 6 min ago.
    const e1 = await series(OCTETS('Ethernet1'), 'number');
    const e2 = await series(OCTETS('Ethernet2'), 'number');
    await tdb.db('samples').insert([
      { series_id: e1, time: new Date(now - 301_000), value: 5_000_000 },
      { series_id: e1, time: new Date(now - 1000), value: 5_300_000 },
      { series_id: e2, time: new Date(now - 370_000), value: 1_000 },
      { series_id: e2, time: new Date(now - 360_000), value: 2_000 },
    ]);
    [{ id: dashboardId }] = await tdb.db('dashboards').insert({ name: 'Preview kinds', time_range: '15m', live: false }).returning('id');
  });

  after(async () => stack?.stop());

  async function openEditor(path: string) {
    await page.goto(`${web.url}/dashboards/${dashboardId}/widgets/new`);
    await page.locator('[name=deviceId]').selectOption(String(deviceId));
    await page.locator('[name=path]').fill(path);
  }

  it('an oper-status leaf: a state timeline of its states, then a table of the current state when the kind changes', async () => {
    await openEditor(OPER('Ethernet1'));
    await page.locator('[name=chart]').selectOption('state-timeline');
    const timeline = page.getByTestId('widget-preview-states-timeline');
    await timeline.waitFor(SEEN);
    assert.deepEqual(await timeline.locator('rect').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-value'))), ['DOWN', 'UP']);
    assert.equal(await page.getByTestId('widget-preview-states-table').count(), 0, 'the timeline kind draws no table');

    await page.locator('[name=chart]').selectOption('table');
    const table = page.getByTestId('widget-preview-states-table');
    await table.waitFor(SEEN);
    assert.match(await table.locator('tr[data-series=Ethernet1]').innerText(), /UP\s+\d\d:\d\d:\d\d UTC \(\d+ min ago\)/);
    assert.equal(await timeline.count(), 0, 'the table kind draws no timeline');
  });

  it('a counter: a table of last rates, follows the rate box, and a timeline when the kind changes', async () => {
    await openEditor('/interfaces/interface[name=*]/state/counters/in-octets');
    await page.locator('[name=rate]').check();
    await page.locator('[name=unit]').selectOption('bits/s');
    await page.locator('[name=chart]').selectOption('table');
    const table = page.getByTestId('widget-preview-table');
    await table.locator('th', { hasText: 'Rate (last interval)' }).waitFor(SEEN);
    // (5,300,000 − 5,000,000) bytes over 300 s × 8 = 8 kbit/s; Ethernet2 silent for 6 min, greyed.
    assert.match(await table.locator('tr[data-series=Ethernet1]').innerText(), /8\.00 kbit\/s/);
    assert.equal(await table.locator('tr[data-series=Ethernet1]').getAttribute('data-stale'), 'no');
    assert.equal(await table.locator('tr[data-series=Ethernet2]').getAttribute('data-stale'), 'yes');

    // Without the rate: the counter's last value.
    await page.locator('[name=rate]').uncheck();
    await table.locator('th', { hasText: 'Last value' }).waitFor(SEEN);

    // A state timeline of its changes: two series, each with bands.
    await page.locator('[name=chart]').selectOption('state-timeline');
    const timeline = page.getByTestId('widget-preview-states-timeline');
    await timeline.waitFor(SEEN);
    assert.equal(await timeline.locator('g').count(), 2);
    assert.ok((await timeline.locator('rect').count()) >= 2);
    assert.equal(await table.count(), 0, 'the table is gone');
  });

  it('a top-1 table is computed by the fleet query, as on the dashboard', async () => {
    await openEditor('/interfaces/interface[name=*]/state/counters/in-octets');
    // Raw counter values, so the ranking is plain: Ethernet1 (5,300,000) over Ethernet2 (2,000).
    await page.locator('[name=rate]').uncheck();
    await page.locator('[name=groupBy]').selectOption('key');
    await page.locator('[name=groupKey]').fill('interface[name]');
    await page.locator('[name=topN]').fill('1');
    await page.locator('[name=chart]').selectOption('table');
    const rows = page.getByTestId('widget-preview-table').locator('tbody tr');
    await rows.first().waitFor(SEEN);
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute('data-series'), 'Ethernet1', 'the larger counter');
  });

  it('/api/widget-panel: 401 without a session, 400 naming a bad path', async () => {
    const ask = `/api/widget-panel?deviceId=${deviceId}&path=${encodeURIComponent('/interfaces/interface[name=')}&chart=table&aggregate=none&groupBy=series&unit=&width=6`;
    assert.equal((await fetch(`${web.url}${ask}`)).status, 401);
    const res = await page.request.get(`${web.url}${ask}`);
    assert.equal(res.status(), 400);
    assert.match(((await res.json()) as { error: string }).error, /^path: /);
  });
});
