/**
 * State timeline and table as widget chart kinds, and server-printed times in the page's
 * zone (issue 21, ADR 125), in Chromium: the widget editor offers both kinds and its
 * preview says the dashboard draws them; a state-timeline widget on a numeric 0/1 leaf draws
 * bands of its changes (no table); a table widget lists each series' last value (rate) with
 * its time and age, the silent series greyed "as of"; a table on text leaves lists current
 * states only. With the tz cookie set to Asia/Kolkata the table, the device page and the
 * bulk-action record print times in that zone, naming it.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { formatTime } from '../../web/app/lib/time-format';
import { OPTIONAL_DAY } from '../support/time-text';

const UP = '/system/state/fan-ok';
const OCTETS = (i: string) => `/interfaces/interface[name=${i}]/state/counters/in-octets`;
const OPER = (i: string) => `/interfaces/interface[name=${i}]/state/oper-status`;
/** Text as a regular expression matching itself. */
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('web: state-timeline and table widgets, times in the page zone', function () {
  this.timeout(180_000);
  let stack: WebStack;
  let tdb: WebStack['tdb'];
  let web: WebStack['web'];
  let page: Page;
  let admin: WebStack['admin'];
  let deviceId: number;
  let dashboardId: number;
  /** When the fresh series' newest point was written. */
  let freshAt: number;
  /** When the silent series' newest point was written. */
  let silentAt: number;

  before(async () => {
    stack = await startWebStack({ database: 'e2e_widget_kinds', adminEmail: 'kinds@example.test' });
    ({ tdb, web, page, admin } = stack);
    [{ id: deviceId }] = await tdb.db('devices').insert({ name: 'kinds-switch', protocol: 'gnmi', host: '127.0.0.1', port: 9, enabled: false }).returning('id');
    const series = async (path: string, kind: 'number' | 'text') => Number((await tdb.db('series').insert({ device_id: deviceId, path, kind }).returning('id'))[0].id);
    const now = Date.now();
    const at = (msAgo: number) => new Date(now - msAgo);
    // A 0/1 leaf: 1 until 8 min ago, 0 until 4 min ago, 1 since.
    const up = await series(UP, 'number');
    await tdb.db('samples').insert([
      { series_id: up, time: at(12 * 60_000), value: 1 },
      { series_id: up, time: at(10 * 60_000), value: 1 },
      { series_id: up, time: at(8 * 60_000), value: 0 },
      { series_id: up, time: at(6 * 60_000), value: 0 },
      { series_id: up, time: at(4 * 60_000), value: 1 },
      { series_id: up, time: at(2 * 60_000), value: 1 },
    ]);
    // Ethernet1 counts 1000 bytes/s, sampled every 5 min up to 1 s ago (so it stays current for 15 min
    // however slowly this machine runs the test); Ethernet2 (every 10 s) went silent 10 min ago.
    const e1 = await series(OCTETS('Ethernet1'), 'number');
    const e2 = await series(OCTETS('Ethernet2'), 'number');
    freshAt = now - 1000;
    silentAt = now - 10 * 60_000;
    await tdb.db('samples').insert([
      { series_id: e1, time: new Date(freshAt - 300_000), value: 5_000_000 },
      { series_id: e1, time: new Date(freshAt), value: 5_300_000 },
      { series_id: e2, time: new Date(silentAt - 10_000), value: 1_000 },
      { series_id: e2, time: new Date(silentAt), value: 2_000 },
    ]);
    const o1 = await series(OPER('Ethernet1'), 'text');
    await tdb.db('states').insert([{ series_id: o1, time: at(3 * 60_000), value: 'UP' }]);
    [{ id: dashboardId }] = await tdb.db('dashboards').insert({ name: 'Kinds', time_range: '15m', live: false }).returning('id');
  });

  after(async () => stack?.stop());

  /** Add a widget through the editor; returns its id. */
  async function addWidget(title: string, path: string, chart: string, opts: { rate?: boolean; unit?: string } = {}): Promise<number> {
    await page.goto(`${web.url}/dashboards/${dashboardId}/widgets/new`);
    await page.locator('[name=title]').fill(title);
    await page.locator('[name=deviceId]').selectOption(String(deviceId));
    await page.locator('[name=path]').fill(path);
    const rate = page.locator('[name=rate]');
    if (opts.rate) await rate.check();
    else await rate.uncheck();
    if (opts.unit !== undefined) await page.locator('[name=unit]').selectOption(opts.unit);
    await page.locator('[name=chart]').selectOption(chart);
    // The preview says that the dashboard draws this kind (no Vega chart in the editor).
    await page.getByTestId('widget-preview-server').waitFor({ timeout: 20_000 });
    await Promise.all([page.waitForURL(`${web.url}/dashboards/${dashboardId}`), page.getByRole('button', { name: 'Add widget' }).click()]);
    const row = await tdb.db('widgets').where({ dashboard_id: dashboardId, title }).first('id', 'chart');
    assert.equal(row.chart, chart);
    return Number(row.id);
  }

  it('the editor offers both kinds', async () => {
    await page.goto(`${web.url}/dashboards/${dashboardId}/widgets/new`);
    const options = await page.locator('[name=chart] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.ok(options.includes('state-timeline') && options.includes('table'), options.join(', '));
  });

  it('a state timeline of a 0/1 leaf: bands of its changes, no table', async () => {
    const id = await addWidget('Fan', UP, 'state-timeline');
    const panel = page.getByTestId(`widget-states-${id}`);
    // The panel draws once its data arrived (after the page itself, on a loaded machine).
    await panel.locator('svg rect').first().waitFor({ timeout: 30_000 });
    const bands = await panel.locator('svg rect').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-value')));
    assert.deepEqual(bands, ['1', '0', '1']);
    assert.equal(await page.getByTestId(`widget-states-${id}-table`).count(), 0, 'the timeline kind draws no table');
  });

  it('a table of last values: rate with time and age; the silent series greyed "as of"', async () => {
    const id = await addWidget('Inbound now', '/interfaces/interface[name=*]/state/counters/in-octets', 'table', { rate: true, unit: 'bits/s' });
    const table = page.getByTestId(`widget-table-${id}`);
    const fresh = table.locator('tr[data-series=Ethernet1]');
    const silent = table.locator('tr[data-series=Ethernet2]');
    assert.equal(await fresh.getAttribute('data-stale'), 'no');
    // (5,300,000 − 5,000,000) bytes over 300 s × 8 = 8 kbit/s.
    assert.match(await fresh.innerText(), new RegExp(`8\\.00 kbit/s\\s+${formatTime(freshAt, 'UTC', Date.now(), { seconds: true })}`));
    assert.equal(await silent.getAttribute('data-stale'), 'yes');
    assert.match(await silent.innerText(), new RegExp(`as of ${formatTime(silentAt, 'UTC', Date.now(), { seconds: true })} \\(\\d+ min ago\\)\\s*stale`));
  });

  it('a table on text leaves lists current states only', async () => {
    const id = await addWidget('Oper now', '/interfaces/interface[name=*]/state/oper-status', 'table');
    assert.equal(await page.getByTestId(`widget-states-${id}-timeline`).count(), 0);
    assert.match(await page.getByTestId(`widget-states-${id}-table`).locator('tr[data-series=Ethernet1]').innerText(), /UP\s+\d\d:\d\d:\d\d UTC \(\d+ min ago\)/);
  });

  it('with the zone set to Asia/Kolkata, the table, the device page and the bulk-action record print times there, naming it', async () => {
    const context = page.context();
    await context.addCookies([{ name: 'tz', value: encodeURIComponent('Asia/Kolkata'), url: web.url }]);
    try {
      await page.goto(`${web.url}/dashboards/${dashboardId}`);
      const row = page.locator('[data-testid^=widget-table-] tr[data-series=Ethernet2]');
      assert.match(await row.innerText(), new RegExp(`as of ${literal(formatTime(silentAt, 'Asia/Kolkata', Date.now(), { seconds: true }))}`));
      assert.match(await row.innerText(), /GMT\+5:30/);

      await page.goto(`${web.url}/devices/${deviceId}`);
      const last = await page.getByTestId('last-point').innerText();
      assert.match(last, new RegExp(`^${OPTIONAL_DAY}\\d\\d:\\d\\d GMT\\+5:30 \\(\\d+ (s|min) ago\\)`), last);
      const asOf = await page.locator('[data-testid=interfaces] tr[data-stale=yes] .as-of').first().innerText();
      assert.match(asOf, new RegExp(`as of ${OPTIONAL_DAY}\\d\\d:\\d\\d GMT\\+5:30`), asOf);

      // The record of bulk actions.
      const started = new Date(Date.UTC(2026, 10, 28, 6, 40, 9));
      await tdb.db('bulk_actions').insert({ started_at: started, finished_at: started, user_email: admin.email, action: 'pause', selection: 'ids', device_count: 1, done: 1 });
      await page.goto(`${web.url}/devices/bulk`);
      assert.match(await page.getByTestId('bulk-history').innerText(), /2026-11-28 12:10:09 GMT\+5:30/, 'started 06:40:09 UTC, printed in Kolkata time');
    } finally {
      await context.clearCookies({ name: 'tz' });
    }
  });
});
