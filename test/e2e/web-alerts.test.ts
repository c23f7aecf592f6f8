/**
 * Alerting in the browser (issue 18) over the real processes: the admin adds a signed
 * webhook contact point and a session-state rule on the Alerts pages; the simulator then
 * rejects the device's credentials (fault injection), the session parks in auth-failed,
 * the rule's workflow (control worker) fires and the receiver on loopback gets the signed
 * notification once; the page lists it as firing, acknowledges it, silences it by label;
 * once the credentials work again the resolution shows in the history as silenced and is
 * never delivered.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { listAlertRules } from '../../storage/alerts';
import { reconfigureDevice, startDeviceSession } from '../../temporal/fleet-client';
import { until } from '../../testkit/until';
import { artifactsDir } from '../support/env';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { startWebhookReceiver } from '../support/webhook-receiver';
import { gnmiFaults, registerSimDevice, waitForState } from './session-support';

const SECRET = 'e2e-alerts-secret';

describe('web: alerts page, rule form, a session rule over simulator faults', function () {
  this.timeout(300_000);
  let stack: WebStack;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_alerts',
      adminEmail: 'alerts@example.test',
      fleet: { gnmiCount: 1, netconfCount: 0, interfaces: 2, namePrefix: 'alrt' },
      workers: {},
    });
    page = stack.page;
    receiver = await startWebhookReceiver(SECRET);
  });
  after(async () => {
    await receiver?.close();
    await stack?.stop();
  });

  /** Reload the Alerts page until `testId` is on it. */
  async function alertsPageShows(testId: string, timeoutMs = 90_000): Promise<void> {
    await until(
      `the Alerts page to show ${testId}`,
      async () => {
        await page.goto(`${stack.web.url}/alerts`);
        return (await page.getByTestId(testId).count()) > 0;
      },
      timeoutMs,
      1000,
    );
  }

  it('fires on auth-failed, is acknowledged and silenced from the page; the silenced resolution is not delivered', async () => {
    const { tdb, client, fleet } = stack;
    const sim = fleet.members[0];
    const device = await registerSimDevice(tdb.db, sim);
    await startDeviceSession(client, device);
    await waitForState(client, device.id, 'streaming', 90_000);

    await page.goto(`${stack.web.url}/alerts`);
    const cp = page.getByTestId('contact-point-form');
    await cp.locator('[name=name]').fill('on-call');
    await cp.locator('[name=url]').fill(receiver.url);
    await cp.locator('[name=secret]').fill(SECRET);
    await cp.getByRole('button', { name: 'Add contact point' }).click();
    await page.getByTestId('alerts-message').getByText('Contact point on-call added.').waitFor({ timeout: 30_000 });
    const listed = page.getByTestId('alerts-contact-points').locator('li', { hasText: 'on-call' });
    await listed.waitFor({ timeout: 30_000 });
    assert.match(await listed.innerText(), /on-call — generic webhook .* \(signed\)/);

    await page.goto(`${stack.web.url}/alerts/rules/new`);
    const form = page.getByTestId('rule-form');
    await form.locator('[name=name]').fill('bad credentials');
    await form.locator('[name=kind]').selectOption('session');
    await form.locator('[name=severity]').selectOption('critical');
    await form.locator('[name=interval]').fill('1s');
    await form.locator('[name=contactPointId]').selectOption({ label: 'on-call' });
    await Promise.all([page.waitForURL(`${stack.web.url}/alerts`), form.getByRole('button', { name: 'Save rule' }).click()]);
    const rule = (await listAlertRules(tdb.db)).find((r) => r.name === 'bad credentials')!;
    assert.deepEqual(rule.spec, { kind: 'session', states: ['auth-failed', 'config-invalid'], backoffLongerThanMs: 300_000 });
    assert.equal(rule.intervalMs, 1000);

    const faults = gnmiFaults(sim);
    faults.rejectCredentials(true);
    faults.dropStreams();
    await waitForState(client, device.id, 'auth-failed', 90_000);
    await until('the firing notification', async () => receiver.deduplicated(rule.id).size === 1, 90_000, 200);
    const [firing] = receiver.deduplicated(rule.id).values();
    assert.equal(firing.body.status, 'firing');
    assert.equal(firing.body.instance, device.name);
    assert.equal(firing.signatureOk, true, 'signed with the secret typed in the form');

    const row = `alert-${rule.id}-${device.name}`;
    await alertsPageShows(row);
    assert.equal(await page.getByTestId('alerts-firing').getByTestId(row).getAttribute('data-state'), 'firing');
    await page.getByTestId(row).getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByTestId('alerts-message').getByText(`Acknowledged ${device.name}.`).waitFor({ timeout: 30_000 });
    await page.getByTestId(row).getByText('alerts@example.test').waitFor({ timeout: 30_000 });

    const silence = page.getByTestId('silence-form');
    await silence.locator('[name=matchers]').fill('alertname=bad credentials');
    await silence.locator('[name=for]').fill('2h');
    await silence.locator('[name=comment]').fill('rotating passwords');
    await silence.getByRole('button', { name: 'Silence' }).click();
    await page.getByTestId('alerts-message').getByText(/Silence #\d+ created\./).waitFor({ timeout: 30_000 });
    const silenceItem = page.getByTestId('alerts-silences').locator('li', { hasText: 'rotating passwords' });
    await silenceItem.waitFor({ timeout: 30_000 });
    assert.match(await silenceItem.innerText(), /alertname=bad credentials until .* by alerts@example\.test — rotating passwords/);
    await page.getByTestId('alerts-silenced').getByTestId(row).waitFor({ timeout: 30_000 }); // listed as silenced

    faults.rejectCredentials(false);
    await reconfigureDevice(client, device.id, 'credentials fixed');
    await waitForState(client, device.id, 'streaming', 90_000);
    await alertsPageShows(`history-${rule.id}-${device.name}-resolved`);
    assert.match(await page.getByTestId(`history-${rule.id}-${device.name}-resolved`).innerText(), /resolved.*silenced/);
    assert.match(await page.getByTestId(`history-${rule.id}-${device.name}-firing`).innerText(), /delivered .* \(1 attempt\)/);
    await page.screenshot({ path: path.join(artifactsDir(), 'web-alerts.png'), fullPage: true });
    assert.deepEqual([...receiver.deduplicated(rule.id).values()].map((a) => a.body.status), ['firing'], 'the silenced resolution was not delivered');
  });
});
