/**
 * The device page over real sessions (simulated gNMI targets, workers, Temporal) in
 * Chromium: a healthy device shows current values and no outage; a device whose target
 * goes away shows the open gap with its error and the next retry, updating by itself;
 * a device whose credentials are refused says it is parked and what would unpark it.
 * Screenshots of the three go to test-artifacts/ (copied into docs/screenshots/).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startDeviceSession, stopDeviceSession } from '../../temporal/fleet-client';
import type { DeviceSessionOptions } from '../../core/names';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { artifactsDir } from '../support/env';
import { gnmiFaults, registerSimDevice, waitForState } from './session-support';
import { OPTIONAL_DAY } from '../support/time-text';

/** Backoffs of a few seconds: long enough to read "retry N in S s", short enough for a test. */
const OPTIONS: DeviceSessionOptions = { heartbeatTimeoutMs: 4000, initialBackoffMs: 4000, maxBackoffMs: 8000 };

describe('web: device page over live sessions (healthy, retrying, parked)', function () {
  this.timeout(180_000);
  let stack: WebStack;
  let { tdb, fleet, workers, client, web, admin, browser, page } = {} as WebStack; // filled in by before()
  const started: number[] = [];

  /** A screenshot in test-artifacts/; docs/web.md's copy in docs/screenshots/ is refreshed with UPDATE_SCREENSHOTS=1 (or when missing). */
  async function shot(p: Page, name: string): Promise<void> {
    const file = path.join(artifactsDir(), `web-${name}.png`);
    await p.screenshot({ path: file, fullPage: true });
    const docsShot = path.join(import.meta.dirname, '..', '..', 'docs', 'screenshots', `${name}.png`);
    if (process.env.UPDATE_SCREENSHOTS === '1' || !fs.existsSync(docsShot)) fs.copyFileSync(file, docsShot);
  }

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_device_session',
      adminEmail: 'session-page@example.test',
      fleet: { gnmiCount: 2, interfaces: 2, namePrefix: 'page' },
      workers: { env: { INGEST_FLUSH_MS: '100' } },
    });
    ({ tdb, fleet, workers, client, web, admin, browser, page } = stack);
  });

  after(async () => {
    for (const id of started) await stopDeviceSession(client, id, 'test over').catch(() => undefined);
    await stack?.stop();
  });

  async function start(i: number): Promise<number> {
    const device = await registerSimDevice(tdb.db, fleet.members[i]);
    await startDeviceSession(client, { id: device.id, name: device.name, protocol: 'gnmi' }, OPTIONS);
    started.push(device.id);
    return device.id;
  }

  it('healthy, then its target goes away: the open gap with the error and the next retry, without a reload', async () => {
    const id = await start(0);
    await waitForState(client, id, 'streaming');
    await page.goto(`${web.url}/devices/${id}`);
    // Some seconds of points (250 ms apart, two interfaces), and the table's rates from the refresh.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=live-chart]')?.getAttribute('data-point-count')) > 60, null, { timeout: 30_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=interfaces] tr[data-stale=no]')].filter((r) => /bit\/s/.test(r.textContent ?? '')).length === 2, null, { timeout: 30_000 });
    assert.equal(await page.getByTestId('outage').count(), 0, 'a streaming device has no outage line');
    assert.match(await page.getByTestId('live-chart-status').innerText(), /^Live, newest point \d+ s ago$/);
    await shot(page, 'device-healthy');
    // A mark on the drawn chart: an outage beginning must add its band to this chart, not draw a new one.
    await page.evaluate(() => document.querySelector('[data-testid=live-chart] svg')?.setAttribute('data-drawn-before', 'yes'));

    const lastSeen = Date.now();
    await fleet.members[0].close();
    // The page notices by itself (poll), names when the data stopped, why, and the next retry.
    await page.waitForFunction(() => /retry \d+ in \d+ s/.test(document.querySelector('[data-testid=outage]')?.textContent ?? ''), null, { timeout: 40_000 });
    const line = await page.getByTestId('outage').innerText();
    const hhmm = new Date(lastSeen).toISOString().slice(11, 16);
    const prev = new Date(lastSeen - 60_000).toISOString().slice(11, 16);
    assert.match(line, new RegExp(`^No data since ${OPTIONAL_DAY}(${hhmm}|${prev}) UTC — .+ · retry \\d+ in \\d+ s`), line);
    assert.match(await page.getByTestId('session-state').innerText(), /backoff|connecting/);
    assert.match(await page.getByTestId('last-error-when').innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)/, 'the error says when it happened (in the page zone, named: ADR 125)');
    // Its charts draw the gap as open up to now.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=live-chart] svg text')].some((t) => (t.textContent ?? '').startsWith('No data since')), null, { timeout: 20_000 });
    assert.equal(await page.locator('[data-testid=live-chart] svg[data-drawn-before=yes]').count(), 1, 'the same chart, not drawn again when the outage began');
    assert.equal(await page.getByTestId('live-chart-legend').locator('tbody tr').count(), 2, 'its legend table stays');
    // Rows turn stale once the counters are older than three intervals (30 s floor).
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=interfaces] tr[data-stale=yes]').length === 2, null, { timeout: 10_000 });
    await shot(page, 'device-retrying');
  });

  it('parked on refused credentials: says so and what would unpark it', async () => {
    gnmiFaults(fleet.members[1]).rejectCredentials(true);
    const id = await start(1);
    await waitForState(client, id, 'auth-failed');
    await page.goto(`${web.url}/devices/${id}`);
    const advice = await page.getByTestId('parked-advice').innerText();
    assert.match(advice, /Collection is parked \(credentials refused\)\. The device refused the credentials\. Correct the username and password \(or private key\) in Edit → Credentials, then press Retry now/);
    assert.equal(await page.getByTestId('action-resume').count(), 1, 'the button the advice names is there');
    assert.equal(await page.getByTestId('device-limitation').count(), 0, 'a wrong password is not a device limitation');
    assert.match(await page.getByTestId('outage').innerText(), /^No data yet — AUTH_FAILED/);
    await shot(page, 'device-parked');
  });
});
