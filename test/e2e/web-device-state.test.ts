/**
 * The device page tells the truth now, in Chromium: values a device stopped sending an
 * hour ago are greyed and say when they were true (never a green "up" with old rates),
 * the outage is an open gap on the page and its charts, and the page turns current by
 * itself when points arrive again. Delete and Disable take a confirmation step naming
 * what happens, with JavaScript on and off; Pause and Disable are explained where the
 * buttons are; pages carry an icon (no /favicon.ico 404), error pages a title, charts
 * an accessible name. Data are written straight into the database (no workers).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { addWidget } from '../../storage/dashboards';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { artifactsDir } from '../support/env';
import { signInPage } from '../../testkit/web-auth';
import { OPTIONAL_DAY } from '../support/time-text';

const IFACES = ['Ethernet1', 'Ethernet2'];
const counter = (name: string, leaf: string) => `/interfaces/interface[name=${name}]/state/counters/${leaf}`;
const operStatus = (name: string) => `/interfaces/interface[name=${name}]/state/oper-status`;
const STEP_MS = 10_000;

describe('web: device page state is true now', function () {
  this.timeout(120_000);
  let stack: WebStack;
  let { tdb, web, admin, browser, page } = {} as WebStack; // filled in by before()
  const ids = new Map<string, number>();
  const newest = new Map<number, { t: number; v: number }>();

  const shot = (p: Page, name: string) => p.screenshot({ path: path.join(artifactsDir(), `web-${name}.png`), fullPage: true });

  async function makeDevice(name: string): Promise<number> {
    const [{ id }] = await tdb.db('devices').insert({ name, protocol: 'gnmi', host: '127.0.0.1', port: 9, enabled: true }).returning('id');
    return Number(id);
  }

  /** Counters every 10 s over [from, to] and oper-status UP at `from`, as a streaming device would have sent them. */
  async function writeInterfaces(deviceId: number, from: number, to: number): Promise<void> {
    for (const name of IFACES) {
      for (const leaf of ['in-octets', 'out-octets']) {
        const key = `${deviceId}|${counter(name, leaf)}`;
        if (!ids.has(key)) {
          const [{ id }] = await tdb.db('series').insert({ device_id: deviceId, path: counter(name, leaf), kind: 'number' }).returning('id');
          ids.set(key, Number(id));
        }
        const id = ids.get(key)!;
        const rows = [];
        let last = newest.get(id) ?? { t: from - STEP_MS, v: 0 };
        for (let t = from; t <= to; t += STEP_MS) {
          last = { t, v: last.v + 125_000 * ((t - last.t) / 1000) }; // 1 Mbit/s
          rows.push({ series_id: id, time: new Date(t), value: last.v });
        }
        newest.set(id, last);
        await tdb.db('samples').insert(rows);
      }
      const key = `${deviceId}|${operStatus(name)}`;
      if (!ids.has(key)) {
        const [{ id }] = await tdb.db('series').insert({ device_id: deviceId, path: operStatus(name), kind: 'text' }).returning('id');
        ids.set(key, Number(id));
      }
      await tdb.db('states').insert({ series_id: ids.get(key)!, time: new Date(from), value: 'UP' });
    }
  }

  before(async () => {
    stack = await startWebStack({ database: 'e2e_device_state', adminEmail: 'state-admin@example.test' });
    ({ tdb, web, admin, browser, page } = stack);
  });

  after(async () => {
    await stack?.stop();
  });

  it('a device silent for an hour: interfaces greyed "as of", never a current "up"; an open gap on the page and its charts; current again when points return', async () => {
    const deviceId = await makeDevice('silent-switch');
    const stoppedAt = Date.now() - 3_600_000;
    await writeInterfaces(deviceId, stoppedAt - 10 * 60_000, stoppedAt);
    const hhmm = OPTIONAL_DAY + new Date(stoppedAt).toISOString().slice(11, 16);
    await page.goto(`${web.url}/devices/${deviceId}`);

    const rows = page.getByTestId('interfaces').locator('tbody tr');
    assert.equal(await rows.count(), 2);
    for (const row of await rows.all()) {
      assert.equal(await row.getAttribute('data-stale'), 'yes', 'an hour-old row is stale');
      assert.match(await row.innerText(), new RegExp(`UP\\s+as of ${hhmm} UTC`), 'it says when it was true');
    }
    assert.equal(await page.locator('[data-testid=interfaces] .state-oper-up').count(), 0, 'no green "up" for an interface last heard of an hour ago');
    assert.equal(await page.locator('[data-testid=interfaces] tr.stale td').first().evaluate((td) => getComputedStyle(td).color), 'rgb(138, 145, 156)', 'greyed');
    assert.match(await page.getByTestId('last-point').innerText(), new RegExp(`${hhmm} UTC \\(1 h ago\\)\\s*stale`));
    assert.match(await page.getByTestId('outage').innerText(), new RegExp(`^No data since ${hhmm} UTC — `));

    // The traffic chart draws the outage as an open gap up to now, labelled, and has an accessible name.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=live-chart] svg text')].some((t) => (t.textContent ?? '').startsWith('No data since')), null, { timeout: 20_000 });
    const band = await page.locator('[data-testid=live-chart] svg g.mark-rect path').count();
    assert.ok(band >= 1, 'the gap band is drawn');
    assert.equal(await page.locator('[data-testid=live-chart] svg').getAttribute('aria-label'), 'Inbound traffic in bits/s: 2 series');
    assert.match(await page.getByTestId('live-chart-status').innerText(), /^(Live|Connecting|History)/, 'status in words, not "live · N points"');
    await shot(page, 'device-stale');

    // Points flow again: the page turns current by itself (its poll), without a reload.
    const now = Date.now();
    await writeInterfaces(deviceId, now - 20_000, now);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=interfaces] tr[data-stale=no] .state-oper-up').length === 2, null, { timeout: 20_000 });
    assert.equal(await page.getByTestId('outage').count(), 0, 'the outage line is gone');
    assert.match(await page.getByTestId('interfaces').locator('tbody tr').first().innerText(), /1\.00 Mbit\/s/, 'current rates');
    assert.doesNotMatch(await page.getByTestId('last-point').innerText(), /stale/);
  });

  it('Delete and Disable ask first, naming what happens — with JavaScript off too; Pause and Disable are explained', async () => {
    const deviceId = await makeDevice('confirm-switch');
    const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const p = await noJs.newPage();
    await signInPage(p, web.url, admin);
    await p.goto(`${web.url}/devices/${deviceId}`);
    assert.match(await p.getByTestId('pause-disable-help').innerText(), /Pause: stop collecting for now.*Disable: take the device out of collection/);

    await p.getByTestId('action-delete').click();
    await p.waitForURL(/confirm=delete/);
    assert.match(await p.getByTestId('confirm-delete-panel').innerText(), /Delete confirm-switch\? .*all of its collected data .*cannot be undone/);
    await p.getByTestId('confirm-cancel').click();
    await p.waitForURL((u) => !u.search.includes('confirm'));
    assert.equal(await p.getByTestId('confirm-delete-panel').count(), 0);
    assert.ok(await tdb.db('devices').where({ id: deviceId }).first(), 'cancel keeps the device');

    await p.getByTestId('action-disable').click();
    assert.match(await p.getByTestId('confirm-disable-panel').innerText(), /Disable confirm-switch\? .*history is kept/i);
    await p.getByTestId('confirm-disable').click();
    await p.waitForURL((u) => !u.search.includes('confirm'));
    assert.equal((await tdb.db('devices').where({ id: deviceId }).first()).enabled, false, 'confirmed: disabled');
    await noJs.close();

    // A form post without the confirmation step is not acted on: it leads to the step.
    const res = await page.request.post(`${web.url}/devices/${deviceId}`, { form: { intent: 'delete' }, maxRedirects: 0, headers: { Origin: web.url } });
    assert.equal(res.status(), 302);
    assert.match(res.headers().location ?? '', /confirm=delete/);
    assert.ok(await tdb.db('devices').where({ id: deviceId }).first(), 'still there');

    // With JavaScript: the same step, then the device is gone.
    await page.goto(`${web.url}/devices/${deviceId}`);
    await page.getByTestId('action-delete').click();
    await page.getByTestId('confirm-delete').click();
    // Deleting ends the session workflow first (bounded: 15 s when Temporal is slow).
    await page.waitForURL(/\/devices$/, { timeout: 45_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}; at ${page.url()}: ${(await page.locator('.warning, [data-testid=flash]').allInnerTexts()).join(' | ')}`);
    });
    assert.equal(await tdb.db('devices').where({ id: deviceId }).first(), undefined, 'deleted after confirming');
  });

  it('removing a widget and deleting a dashboard or a widget ask first, naming what happens (JavaScript off and on)', async () => {
    const deviceId = await makeDevice('dash-switch');
    const [{ id }] = await tdb.db('dashboards').insert({ name: 'Doomed board', time_range: '1h', live: true }).returning('id');
    const dashboardId = Number(id);
    const widget = (title: string) =>
      addWidget(tdb.db, dashboardId, { title, deviceId, path: counter('*', 'in-octets'), rate: true, aggregate: 'none', groupBy: 'series', chart: 'line', unit: 'bits/s', width: 6 });
    const [w1, w2] = [await widget('Inbound A'), await widget('Inbound B')];
    const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const p = await noJs.newPage();
    await signInPage(p, web.url, admin);
    await p.goto(`${web.url}/dashboards/${dashboardId}/edit`);
    await p.getByTestId(`remove-widget-${w1}`).click();
    assert.match(await p.getByTestId('confirm-delete-widget-panel').innerText(), /Remove the widget Inbound A from Doomed board\? Only the chart goes; the data stay\./);
    await p.getByTestId('confirm-delete-widget').click();
    await p.waitForURL((u) => u.pathname.endsWith('/edit') && !u.search.includes('confirm'));
    assert.deepEqual((await tdb.db('widgets').where({ dashboard_id: dashboardId }).select('id')).map((r) => Number(r.id)), [w2]);

    await p.goto(`${web.url}/dashboards/${dashboardId}/widgets/${w2}`);
    await p.getByTestId('delete-widget').click();
    assert.match(await p.getByTestId('confirm-delete-panel').innerText(), /Delete the widget Inbound B from Doomed board\?/);
    await p.getByTestId('confirm-cancel').click();
    assert.equal(await tdb.db('widgets').where({ id: w2 }).first().then((r) => !!r), true, 'cancel keeps it');
    await noJs.close();

    // JavaScript on: the dashboard's delete names its widgets and leaves the data alone.
    await page.goto(`${web.url}/dashboards/${dashboardId}/edit`);
    await page.getByTestId('delete-dashboard').click();
    assert.match(await page.getByTestId('confirm-delete-dashboard-panel').innerText(), /Delete the dashboard Doomed board and its 1 widget\? The devices and their data are not touched\./);
    await page.getByTestId('confirm-delete-dashboard').click();
    await page.waitForURL(/\/dashboards$/);
    assert.equal(await tdb.db('dashboards').where({ id: dashboardId }).first(), undefined);
    // An unconfirmed post only leads to the step.
    const [{ id: other }] = await tdb.db('dashboards').insert({ name: 'Kept board', time_range: '1h', live: true }).returning('id');
    const res = await page.request.post(`${web.url}/dashboards/${other}/edit`, { form: { intent: 'delete-dashboard' }, maxRedirects: 0, headers: { Origin: web.url } });
    assert.equal(res.status(), 302);
    assert.match(res.headers().location ?? '', /confirm=dashboard/);
    assert.ok(await tdb.db('dashboards').where({ id: other }).first());
  });

  it('pages carry an icon (no /favicon.ico request fails) and error pages a title', async () => {
    const failed: string[] = [];
    const onResponse = (r: { status(): number; url(): string }) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`);
    page.on('response', onResponse);
    await page.goto(`${web.url}/devices`);
    await page.waitForLoadState('networkidle');
    page.off('response', onResponse);
    assert.deepEqual(failed, []);
    assert.match((await page.locator('link[rel=icon]').getAttribute('href')) ?? '', /^data:image\/svg\+xml,/);
    const res = await page.goto(`${web.url}/devices/999999`);
    assert.equal(res?.status(), 404);
    assert.equal(await page.title(), 'Not found · switch-telemetry');
  });
});
