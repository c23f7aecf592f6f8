/**
 * Alerting against the simulator's fault injection (issue 18), over the real processes (control
 * and collector workers, web app, Chromium) with a real webhook receiver on loopback that checks
 * the HMAC signature and deduplicates on Idempotency-Key:
 *  - interface down: a threshold rule on the rate of Ethernet1's in-octets per device (< 1 B/s:
 *    a link that is down stops counting) fires when the simulator takes the link down and
 *    resolves when it comes back up;
 *  - device unreachable: an absence rule fires when the simulator answers every RPC UNAVAILABLE
 *    (the session backs off, nothing is stored) and resolves when the device answers again;
 * each transition reaches the receiver once after deduplication, signed; the Alerts page lists
 * the firing instance and the delivered history; the device page's traffic chart marks where
 * the alert fired and resolved (the markers' rules in the drawn SVG, their tooltips named).
 * (Bad credentials: test/e2e/web-alerts.test.ts.)
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { AlertRuleDefinition } from '../../core/alert-rules';
import { ALERT_HEAD_MARK, ALERT_RULE_MARK } from '../../web/app/lib/chart-spec';
import { createAlertRule, createContactPoint, recentAlertTransitions } from '../../storage/alerts';
import { addWidget, createDashboard } from '../../storage/dashboards';
import { parseKeyring } from '../../storage/secrets';
import { alertRuleStatus, startAlertRule, stopAlertRule } from '../../temporal/alert-client';
import { startDeviceSession } from '../../temporal/fleet-client';
import { until } from '../../testkit/until';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { TEST_SECRETS_KEY } from '../support/system';
import { startWebhookReceiver } from '../support/webhook-receiver';
import { gnmiFaults, registerSimDevice, sampleCount, waitForState } from './session-support';
import { spreadAlertRuleIds } from '../support/db';

const SECRET = 'e2e-alert-faults-secret';
const LINK = 'Ethernet1';

describe('e2e: alerts fire and resolve on simulator faults (interface down, device unreachable)', function () {
  this.timeout(600_000);
  let stack: WebStack;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let linkRule: AlertRuleDefinition;
  let silentRule: AlertRuleDefinition;
  const devices: Array<{ id: number; name: string }> = [];

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_alerts_faults',
      adminEmail: 'alert-faults@example.test',
      fleet: { gnmiCount: 2, netconfCount: 0, interfaces: 2, namePrefix: 'alfx' },
      workers: { clearRunning: 'the alerts-faults suite numbers its devices from 1' },
    });
    page = stack.page;
    receiver = await startWebhookReceiver(SECRET);
    const { tdb, client, fleet } = stack;
    await spreadAlertRuleIds(tdb.db);
    for (const sim of fleet.members) {
      // No random flap of the watched link during the test: only the fault takes it down.
      gnmiFaults(sim).interfaceDown(LINK, false);
      const device = await registerSimDevice(tdb.db, sim);
      devices.push({ id: device.id, name: device.name });
      await startDeviceSession(client, device);
    }
    for (const d of devices) await waitForState(client, d.id, 'streaming', 120_000);
    for (const d of devices) await until(`${d.name} to store samples`, async () => (await sampleCount(tdb.db, d.id)) > 20, 120_000, 250);

    const contactPointId = (await createContactPoint(tdb.db, parseKeyring(TEST_SECRETS_KEY), { name: 'on-call', url: receiver.url, secret: SECRET })).id;
    linkRule = await createAlertRule(tdb.db, {
      name: 'link down',
      spec: { kind: 'threshold', path: `/interfaces/interface[name=${LINK}]/state/counters/in-octets`, rate: true, agg: 'max', groupBy: 'device', op: '<', threshold: 1, windowMs: 15_000 },
      severity: 'critical',
      intervalMs: 1000,
      labels: { team: 'net' },
      contactPointId,
    });
    // 20 s of silence: far beyond any ingest lag of a loaded machine (samples every 250 ms), so only the fault fires it.
    silentRule = await createAlertRule(tdb.db, {
      name: 'device silent',
      spec: { kind: 'absence', path: '/interfaces/interface[name=*]/state/counters/in-octets', silentMs: 20_000 },
      severity: 'warning',
      intervalMs: 1000,
      contactPointId,
    });
    for (const rule of [linkRule, silentRule]) await startAlertRule(client, rule);
    // Both rules evaluate the healthy fleet a few times, without error, before any fault: nothing pending or firing.
    for (const rule of [linkRule, silentRule]) {
      await until(`rule ${rule.name} to evaluate three times`, async () => ((await alertRuleStatus(client, rule.id))?.evaluations ?? 0) >= 3, 120_000, 500);
      const s = (await alertRuleStatus(client, rule.id))!;
      assert.equal(s.lastError, undefined, `${rule.name}: ${s.lastError}`);
      assert.deepEqual(s.instances, [], `${rule.name}: nothing pending or firing while the fleet is healthy`);
    }
  });

  after(async () => {
    for (const rule of [linkRule, silentRule]) if (rule && stack?.client) await stopAlertRule(stack.client, rule.id, 'test over').catch(() => undefined);
    await receiver?.close();
    await stack?.stop();
  });

  /** Statuses (firing/resolved) the receiver kept for a rule after deduplication, and for which instance. */
  const delivered = (rule: AlertRuleDefinition) => [...receiver.deduplicated(rule.id).values()].map((a) => `${a.body.status} ${a.body.instance}`);

  /** Reload the Alerts page until `testId` is on it. */
  async function alertsPageShows(testId: string): Promise<void> {
    await until(
      `the Alerts page to show ${testId}`,
      async () => {
        await page.goto(`${stack.web.url}/alerts`);
        return (await page.getByTestId(testId).count()) > 0;
      },
      90_000,
      1000,
    );
  }

  /** The alert markers drawn on a device page's traffic chart: each rule's colour and accessible text. */
  async function chartMarkers(deviceId: number, atLeast: number): Promise<Array<{ stroke: string | null; label: string | null }>> {
    const rules = page.locator(`[data-testid=live-chart] svg g.${ALERT_RULE_MARK}_marks > *`);
    await until(
      `${atLeast} alert marker(s) on the device page's chart`,
      async () => {
        await page.goto(`${stack.web.url}/devices/${deviceId}`);
        await page.locator('[data-testid=live-chart] svg').waitFor({ timeout: 30_000 });
        return (await rules.count()) >= atLeast;
      },
      90_000,
      1000,
    );
    assert.equal(await page.locator(`[data-testid=live-chart] svg g.${ALERT_HEAD_MARK}_marks > *`).count(), await rules.count(), 'a head on every rule');
    return rules.evaluateAll((els) => els.map((e) => ({ stroke: e.getAttribute('stroke'), label: e.getAttribute('aria-label') })));
  }

  it('a link taken down fires the threshold rule; back up, it resolves; each transition delivered once, shown on the Alerts page and marked on the chart', async () => {
    const [down] = devices;
    const faults = gnmiFaults(stack.fleet.members[0]);
    faults.interfaceDown(LINK, true);
    await until('the firing notification', async () => delivered(linkRule).length >= 1, 120_000, 250);
    assert.deepEqual(delivered(linkRule), [`firing ${down.name}`], 'only the device whose link went down fires');
    const row = `alert-${linkRule.id}-${down.name}`;
    await alertsPageShows(row);
    assert.equal(await page.getByTestId('alerts-firing').getByTestId(row).getAttribute('data-state'), 'firing');
    const fired = await chartMarkers(down.id, 1);
    assert.equal(fired[0].stroke, '#c62828', 'a firing is marked red');
    assert.match(fired[0].label ?? '', /link down/);
    assert.match(fired[0].label ?? '', /firing/);

    faults.interfaceDown(LINK, false);
    await until('the resolved notification', async () => delivered(linkRule).length >= 2, 120_000, 250);
    const both = await chartMarkers(down.id, 2);
    assert.deepEqual(both.map((m) => m.stroke), ['#c62828', '#2e7d32'], 'fired (red), then resolved (green)');
    assert.match(both[1].label ?? '', /resolved/);
    await alertsPageShows(`history-${linkRule.id}-${down.name}-resolved`);
    assert.match(await page.getByTestId(`history-${linkRule.id}-${down.name}-firing`).innerText(), /delivered /);
    assert.match(await page.getByTestId(`history-${linkRule.id}-${down.name}-resolved`).innerText(), /delivered /);

    // A dashboard: the chart of this device's link carries both markers, the other device's chart none.
    const db = stack.tdb.db;
    const admin = await db('users').where({ email: stack.admin.email }).first('id');
    const dashboardId = await createDashboard(db, { name: 'links', timeRange: '15m', live: true }, admin.id);
    const widget = (deviceId: number, title: string) =>
      addWidget(db, dashboardId, { title, deviceId, path: `/interfaces/interface[name=${LINK}]/state/counters/in-octets`, aggregate: 'none', groupBy: 'series', rate: true, chart: 'line', unit: 'bits/s', width: 6 });
    const marked = await widget(down.id, 'link of the first switch');
    const calm = await widget(devices[1].id, 'link of the second switch');
    await page.goto(`${stack.web.url}/dashboards/${dashboardId}`);
    for (const id of [marked, calm]) await page.locator(`[data-testid=widget-chart-${id}] svg`).waitFor({ timeout: 60_000 });
    const dashboardMarks = (id: number) => page.locator(`[data-testid=widget-chart-${id}] svg g.${ALERT_RULE_MARK}_marks > *`);
    await until('both markers on the dashboard chart', async () => (await dashboardMarks(marked).count()) === 2, 30_000, 250);
    assert.equal(await dashboardMarks(calm).count(), 0, "the other device's chart has no marker");
    assert.deepEqual([await page.getByTestId(`widget-chart-${marked}`).getAttribute('data-alert-markers'), await page.getByTestId(`widget-chart-${calm}`).getAttribute('data-alert-markers')], ['2', '0'], "the loader's markers per chart");
  });

  it('a device that becomes unreachable fires the absence rule; reachable again, it resolves; each transition delivered once', async () => {
    const gone = devices[1];
    const faults = gnmiFaults(stack.fleet.members[1]);
    faults.unreachable(true);
    await waitForState(stack.client, gone.id, 'backoff', 120_000);
    await until('the firing notification', async () => delivered(silentRule).length >= 1, 120_000, 250);
    assert.deepEqual(delivered(silentRule), [`firing ${gone.name}`], 'only the unreachable device fires');
    const row = `alert-${silentRule.id}-${gone.name}`;
    await alertsPageShows(row);
    assert.equal(await page.getByTestId('alerts-firing').getByTestId(row).getAttribute('data-state'), 'firing');

    faults.unreachable(false);
    await waitForState(stack.client, gone.id, 'streaming', 120_000);
    await until('the resolved notification', async () => delivered(silentRule).length >= 2, 120_000, 250);
    const marks = await chartMarkers(gone.id, 2);
    assert.deepEqual(marks.map((m) => m.stroke), ['#c62828', '#2e7d32']);
    assert.match(marks[0].label ?? '', /device silent/);
  });

  it('after both faults: each rule has exactly its firing and resolution, once each after deduplication, signed', async () => {
    const [down, gone] = devices;
    assert.deepEqual(delivered(linkRule), [`firing ${down.name}`, `resolved ${down.name}`]);
    assert.deepEqual(delivered(silentRule), [`firing ${gone.name}`, `resolved ${gone.name}`]);
    for (const rule of [linkRule, silentRule]) {
      for (const a of receiver.deduplicated(rule.id).values()) {
        assert.ok(a.signatureOk, `${a.key}: HMAC-SHA256 signature verifies`);
        assert.equal(a.body.idempotencyKey, a.key);
      }
      const recorded = await recentAlertTransitions(stack.tdb.db, 10, rule.id);
      assert.deepEqual(recorded.map((t) => t.transition).sort(), ['firing', 'resolved'], `${rule.name}: two transitions recorded`);
    }
    assert.equal(receiver.deduplicated(linkRule.id).get([...receiver.deduplicated(linkRule.id).keys()][0])!.body.labels.team, 'net');
  });
});
