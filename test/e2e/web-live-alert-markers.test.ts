/**
 * Live alert markers (issue 18, ADR 226), over the real processes (control and collector
 * workers, web app, Chromium): a device page and a live dashboard are open on one device's
 * traffic; a threshold rule on that device starts and fires, then is edited so that it
 * resolves — and both pages draw the firing (red) and then the resolution (green) on their
 * charts without being reloaded: the markers come over the pages' live streams. The pages'
 * own data requests (revalidation) are held for the whole test, and a flag set in each page
 * before the alert shows that neither page was loaded again.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { AlertRuleDefinition } from '../../core/alert-rules';
import { ALERT_RULE_MARK } from '../../web/app/lib/chart-spec';
import { createAlertRule, updateAlertRule } from '../../storage/alerts';
import { addWidget, createDashboard } from '../../storage/dashboards';
import { alertRuleStatus, editAlertRule, startAlertRule, stopAlertRule } from '../../temporal/alert-client';
import { startDeviceSession } from '../../temporal/fleet-client';
import { until } from '../../testkit/until';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { registerSimDevice, sampleCount, waitForState } from './session-support';
import { spreadAlertRuleIds } from '../support/db';

const PATH = '/interfaces/interface[name=*]/state/counters/in-octets';

describe('e2e: live alert markers on the device page and a dashboard', function () {
  this.timeout(600_000);
  let stack: WebStack;
  let devicePage: Page;
  let dashboardPage: Page;
  let rule: AlertRuleDefinition | undefined;
  let device: { id: number; name: string };
  let widgetId: number;

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_live_alert_markers',
      adminEmail: 'live-markers@example.test',
      fleet: { gnmiCount: 1, netconfCount: 0, interfaces: 2, namePrefix: 'lmk' },
      workers: { clearRunning: 'the live-alert-markers suite numbers its devices from 1' },
    });
    const { tdb, client, fleet } = stack;
    await spreadAlertRuleIds(tdb.db);
    const d = await registerSimDevice(tdb.db, fleet.members[0]);
    device = { id: d.id, name: d.name };
    await startDeviceSession(client, d);
    await waitForState(client, device.id, 'streaming', 120_000);
    await until(`${device.name} to store samples`, async () => (await sampleCount(tdb.db, device.id)) > 20, 120_000, 250);
    const admin = await tdb.db('users').where({ email: stack.admin.email }).first('id');
    const dashboardId = await createDashboard(tdb.db, { name: 'traffic', timeRange: '15m', live: true }, admin.id);
    widgetId = await addWidget(tdb.db, dashboardId, { title: 'in-octets', deviceId: device.id, path: PATH, aggregate: 'none', groupBy: 'series', rate: true, chart: 'line', unit: 'bits/s', width: 6 });

    devicePage = stack.page;
    // A second browser page, signed in with the first one's session cookie.
    dashboardPage = await stack.browser.newPage({ viewport: { width: 1280, height: 900 } });
    await dashboardPage.context().addCookies(await stack.page.context().cookies());
    // Hold every data request of a client-side revalidation: the markers can then only come over the live stream.
    for (const page of [devicePage, dashboardPage]) await page.route(/\.data(\?|$)/, () => undefined);
    await devicePage.goto(`${stack.web.url}/devices/${device.id}`);
    await dashboardPage.goto(`${stack.web.url}/dashboards/${dashboardId}`);
    for (const [page, chart] of [[devicePage, 'live-chart'], [dashboardPage, `widget-chart-${widgetId}`]] as const) {
      await page.locator(`[data-testid=${chart}] svg`).waitFor({ timeout: 60_000 });
      await until(`${chart} to be live`, async () => (await page.getByTestId(chart).getAttribute('data-status')) === 'live', 60_000, 250);
      assert.equal(await page.getByTestId(chart).getAttribute('data-alert-markers'), '0', `${chart}: no marker before the rule`);
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    }
  });

  after(async () => {
    if (rule && stack?.client) await stopAlertRule(stack.client, rule.id, 'test over').catch(() => undefined);
    await stack?.stop();
  });

  /** The strokes of the markers' rules drawn on a chart, once there are `count` of them (no reload). */
  async function strokesOnceDrawn(page: Page, chart: string, count: number): Promise<Array<string | null>> {
    const marks = page.locator(`[data-testid=${chart}] svg g.${ALERT_RULE_MARK}_marks > *`);
    await until(`${count} marker(s) on ${chart}`, async () => (await marks.count()) >= count, 120_000, 250);
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, `${chart}: the page was not loaded again`);
    return marks.evaluateAll((els) => els.map((e) => e.getAttribute('stroke')));
  }

  it('a firing and then its resolution appear on both pages without a reload', async () => {
    const { tdb, client } = stack;
    // Any traffic at all fires it (for 0); the edit below makes it impossible, which resolves it.
    rule = await createAlertRule(tdb.db, {
      name: 'live marker',
      spec: { kind: 'threshold', path: PATH, rate: true, agg: 'max', groupBy: 'device', op: '>=', threshold: 0, windowMs: 15_000 },
      severity: 'critical',
      intervalMs: 1000,
    });
    await startAlertRule(client, rule);
    await until('the rule to fire', async () => ((await alertRuleStatus(client, rule!.id))?.counts.firing ?? 0) === 1, 120_000, 250);
    assert.deepEqual(await strokesOnceDrawn(devicePage, 'live-chart', 1), ['#c62828'], 'device page: the firing, red');
    assert.deepEqual(await strokesOnceDrawn(dashboardPage, `widget-chart-${widgetId}`, 1), ['#c62828'], 'dashboard: the firing, red');

    const { id, version: _version, ...input } = rule;
    const edited = (await updateAlertRule(tdb.db, id, { ...input, spec: { ...rule.spec, threshold: 1e18 } as AlertRuleDefinition['spec'] }))!;
    await editAlertRule(client, edited);
    await until('the rule to resolve', async () => ((await alertRuleStatus(client, rule!.id))?.counts.firing ?? 1) === 0, 120_000, 250);
    assert.deepEqual(await strokesOnceDrawn(devicePage, 'live-chart', 2), ['#c62828', '#2e7d32'], 'device page: fired (red), then resolved (green)');
    assert.deepEqual(await strokesOnceDrawn(dashboardPage, `widget-chart-${widgetId}`, 2), ['#c62828', '#2e7d32'], 'dashboard: fired, then resolved');
    assert.equal(await devicePage.getByTestId('live-chart').getAttribute('data-alert-markers'), '2');
  });
});
