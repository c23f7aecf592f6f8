/**
 * Alert state on the device page and the devices table (issue 18), in the browser over the
 * real web process: instances written through storage/alerts.ts as a rule's workflow writes
 * them show in the device page's Alerts panel (firing and pending, not resolved; none: no
 * panel), as a count badge with the worst severity in the device's row, and `alerts=firing`
 * filters the table from the filter form and the URL. A 200-row page with a badge on every
 * row stays under 200 KiB (size printed).
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { createAlertRule, recordAlertInstances } from '../../storage/alerts';
import { instanceLabels, type AlertRuleDefinition } from '../../core/alert-rules';
import type { AlertInstance } from '../../core/alert-machine';
import { formatTime } from '../../web/app/lib/time-format';
import { startWebStack, type WebStack } from '../support/browser-rig';

describe('web: alert state on the device page and devices table', function () {
  this.timeout(180_000);
  let stack: WebStack;
  let page: Page;
  const ids: Record<string, number> = {};
  const firedAt = Date.parse('2026-11-27T10:01:00Z');

  const instance = (rule: AlertRuleDefinition, device: string, state: AlertInstance['state'], value: number, own: Record<string, string> = {}): AlertInstance => ({
    key: device,
    labels: instanceLabels(rule, { device, ...own }),
    state,
    value,
    episode: firedAt - 60_000,
    pendingSince: firedAt - 60_000,
    firingSince: state === 'pending' ? undefined : firedAt,
    resolvedAt: state === 'resolved' ? firedAt + 60_000 : undefined,
  });

  before(async () => {
    stack = await startWebStack({ database: 'e2e_device_alerts', adminEmail: 'device-alerts@example.test' });
    page = stack.page;
    const rows = await stack.tdb
      .db('devices')
      .insert(['da-sw-1', 'da-sw-2', 'da-sw-3', 'da-sw-4'].map((name, i) => ({ name, protocol: 'gnmi', host: `10.9.0.${i + 1}`, port: 9, enabled: false })))
      .returning(['id', 'name']);
    for (const r of rows) ids[r.name] = r.id;
    const db = stack.tdb.db;
    const cpu = await createAlertRule(db, {
      name: 'cpu hot',
      spec: { kind: 'threshold', path: '/system/cpu/utilization', agg: 'avg', groupBy: 'device', op: '>', threshold: 90 },
      severity: 'critical',
    });
    const parked = await createAlertRule(db, { name: 'credentials refused', spec: { kind: 'session', states: ['auth-failed'] }, severity: 'warning' });
    const silent = await createAlertRule(db, { name: 'cpu silent', spec: { kind: 'absence', path: '/system/cpu/utilization', silentMs: 60_000 }, severity: 'info' });
    await recordAlertInstances(db, cpu.id, [instance(cpu, 'da-sw-1', 'firing', 97.5), instance(cpu, 'da-sw-3', 'pending', 93), instance(cpu, 'da-sw-4', 'resolved', 20)]);
    await recordAlertInstances(db, parked.id, [instance(parked, 'da-sw-1', 'firing', 600, { session_state: 'auth-failed' })]);
    await recordAlertInstances(db, silent.id, [instance(silent, 'da-sw-2', 'firing', 120)]);
  });
  after(async () => stack?.stop());

  const rowNames = () => page.locator('[data-testid=device-row] td a[href^="/devices/"]').evaluateAll((as) => as.map((a) => a.textContent?.trim()));

  it("lists the device's firing and pending instances on its page, linking to the Alerts page; no panel without any", async () => {
    const { url } = stack.web;
    await page.goto(`${url}/devices/${ids['da-sw-1']}`);
    const panel = page.getByTestId('device-alerts');
    await panel.waitFor({ timeout: 30_000 });
    const rows = await panel.getByTestId('device-alert').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())));
    const since = formatTime(firedAt, 'UTC', Date.now(), { seconds: true });
    assert.deepEqual(rows, [
      ['cpu hot', 'critical', 'firing', since, '97.5'],
      ['credentials refused', 'warning', 'firing', since, '600'],
    ]);
    assert.equal(await panel.locator('h2 a').getAttribute('href'), '/alerts');
    assert.equal(await panel.getByRole('link', { name: 'cpu hot' }).getAttribute('href'), '/alerts');

    await page.goto(`${url}/devices/${ids['da-sw-3']}`);
    const pending = await page.getByTestId('device-alert').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())));
    assert.deepEqual(pending, [['cpu hot', 'critical', 'pending', formatTime(firedAt - 60_000, 'UTC', Date.now(), { seconds: true }), '93']]);

    // Only a resolved instance: the page draws no panel.
    await page.goto(`${url}/devices/${ids['da-sw-4']}`);
    await page.getByTestId('session-state').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('device-alerts').count(), 0);
  });

  it('badges each row with its firing count and worst severity, and filters to devices with firing alerts (alerts=firing)', async () => {
    const { url } = stack.web;
    await page.goto(`${url}/devices`);
    await page.getByTestId('devices-table').waitFor({ timeout: 30_000 });
    /** The badge of a device's row: [count, class], or null without one. */
    const badge = async (name: string) => {
      const a = page.locator('[data-testid=device-row]', { has: page.getByRole('link', { name, exact: true }) }).locator('a[href="/alerts"]');
      return (await a.count()) === 0 ? null : [await a.innerText(), await a.getAttribute('class')];
    };
    assert.deepEqual(await badge('da-sw-1'), ['2', 'sev-critical']);
    assert.deepEqual(await badge('da-sw-2'), ['1', 'sev-info']);
    assert.equal(await badge('da-sw-3'), null, 'pending only: no badge');
    assert.equal(await badge('da-sw-4'), null, 'resolved only: no badge');

    await page.getByTestId('filters').locator('select[name=alerts]').selectOption('firing');
    await page.getByTestId('filters').getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/[?&]alerts=firing\b/, { timeout: 30_000 });
    await page.getByTestId('range').getByText('1–2 of 2 devices').waitFor({ timeout: 30_000 });
    assert.deepEqual(await rowNames(), ['da-sw-1', 'da-sw-2']);
    assert.equal(await page.getByTestId('strip-disabled').locator('strong').innerText(), '2', 'the health strip counts within the filter');
  });

  it('keeps a 200-row page with a badge on every row under 200 KiB', async () => {
    const db = stack.tdb.db;
    const names = Array.from({ length: 200 }, (_, i) => `da-bulk-${i + 1}`);
    await db('devices').insert(names.map((name, i) => ({ name, protocol: 'gnmi', host: `10.10.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 9, enabled: false })));
    const size = async () => Buffer.byteLength(await (await page.request.get(`${stack.web.url}/devices?size=200&q=da-bulk-`)).text());
    const without = await size();
    const rule = await createAlertRule(db, { name: 'everywhere', spec: { kind: 'absence', path: '/system/cpu/utilization', silentMs: 60_000 }, severity: 'warning' });
    await recordAlertInstances(db, rule.id, names.map((n) => instance(rule, n, 'firing', 61)));
    const withBadges = await size();
    console.log(`      /devices?size=200: ${(without / 1024).toFixed(1)} KiB without alerts, ${(withBadges / 1024).toFixed(1)} KiB with a badge on every row (${((withBadges - without) / 200).toFixed(0)} bytes a row)`);
    assert.ok(withBadges > without, 'the badges are on the page');
    assert.ok(withBadges < 200 * 1024, `a 200-row page is ${withBadges} bytes`);
  });
});
