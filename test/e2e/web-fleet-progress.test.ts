/**
 * The devices view's traffic columns and a bulk action's progress page (issue 19) in
 * Chromium, against the real web app, workers, Temporal and three streaming simulated
 * switches next to 10,000 seeded (disabled) devices: sorting by points/s and by last
 * seen (the traffic mirror, ADR 135), and a bulk action's progress while it cannot go on
 * (the control worker, which runs its workflow and the sessions', is stopped): without
 * JavaScript the page refreshes itself until every device is acknowledged; with
 * JavaScript it updates in place (ADR 136).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDeviceSession } from '../../temporal/fleet-client';
import { RECONCILE_SCHEDULE_ID, deviceSessionWorkflowId, statusQuery } from '../../core/names';
import { parseKeyring } from '../../storage/secrets';
import { seedSimulatedDevices } from '../../scripts/seed';
import type { ManagedChild } from '../../scripts/infra/proc';
import { startFleet, type Fleet } from '../../simulator/fleet';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { artifactsDir, chromiumPath } from '../support/env';
import { TEST_SECRETS_KEY, processEnv, spawnEntry, startWeb, startWorkers, testClient, type Workers } from '../support/system';
import { createTestUser, signInPage, type TestUser } from '../../testkit/web-auth';
import { endRunningWorkflows, pauseReconcileSchedule } from '../support/browser-rig';
import { until } from '../../testkit/until';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SEEDED = 10_000;
const SIMS = 3;

describe('web fleet: traffic sorts and bulk progress', function () {
  this.timeout(300_000);
  let tdb: TestDatabase;
  let fleet: Fleet;
  let workers: Workers;
  let control: ManagedChild | undefined;
  let web: Awaited<ReturnType<typeof startWeb>>;
  let client: Client;
  let browser: Browser;
  let admin: TestUser;
  let page: Page;
  let noJs: BrowserContext;
  let nojsPage: Page;
  let simIds: number[] = [];

  const names = (p: Page) => p.locator('[data-testid=device-row] td:nth-child(2)').allInnerTexts();
  const rates = async (p: Page) => (await p.locator('[data-testid=device-row] td:nth-child(7)').allInnerTexts()).map(Number);
  const simNames = () => fleet.members.map((m) => m.name).sort();
  const paused = async (id: number) => (await client.workflow.getHandle(deviceSessionWorkflowId(id)).query(statusQuery)).paused;
  /** Stop the control worker: signals are accepted by Temporal but no workflow runs them until it is back. */
  const stopControl = async () => {
    await (control ?? workers.control).stop();
    control = undefined;
  };
  const startControl = () => {
    control = spawnEntry('control', 'workers/control.ts', processEnv(tdb.url));
  };

  /** Review and confirm a bulk action on the rows ticked (or the filter), landing on its progress page. */
  async function confirmBulk(p: Page, op: string, scope: 'ids' | 'filter', expect: RegExp): Promise<string> {
    const form = p.getByTestId('bulk-form');
    await form.locator(`input[name=scope][value=${scope}]`).check();
    await form.locator('select[name=op]').selectOption(op);
    await form.getByRole('button', { name: 'Review…' }).click();
    // Generous bounds: on a loaded 2-core machine a round trip through Chromium and the web app can take long.
    await p.getByTestId('bulk-confirm-text').waitFor({ timeout: 90_000 });
    assert.match(await p.getByTestId('bulk-confirm-text').innerText(), expect);
    await p.getByTestId('bulk-confirm').getByRole('button').click();
    await p.waitForURL(/\/devices\/bulk\/\d+$/, { timeout: 90_000 });
    return new URL(p.url()).pathname;
  }

  before(async () => {
    tdb = await createTestDatabase('e2e_fleet_progress');
    fleet = await startFleet({ gnmiCount: SIMS, interfaces: 2, namePrefix: 'fleetprog' });
    client = await testClient();
    // Workflow ids are per device id, and every suite's database numbers devices from 1: clear other suites' sessions.
    await endRunningWorkflows(client, 'cleared by the fleet progress e2e suite');
    [workers, web] = await Promise.all([startWorkers(tdb.url), startWeb(tdb.url, { WEB_FLEET_STATE_SYNC_MS: '1000' })]);
    await pauseReconcileSchedule(client, 'fleet progress e2e suite');
    admin = await createTestUser(tdb.db, 'admin', 'fleet-progress@example.test');
    const sims = await seedSimulatedDevices(
      tdb.db,
      parseKeyring(TEST_SECRETS_KEY),
      fleet.members.map((m) => ({ name: m.name, protocol: 'gnmi' as const, host: m.host, port: m.port, username: 'admin', password: 'admin' })),
    );
    simIds = sims.map((s) => s.id);
    await tdb.db.raw(
      `INSERT INTO devices (name, protocol, host, port, site, enabled)
       SELECT 'lab-sw-' || i, 'gnmi', '10.9.' || (i / 256) % 256 || '.' || i % 256, 57400, 'site-' || (i % 20 + 1), false FROM generate_series(1, ?) AS i`,
      [SEEDED],
    );
    for (const s of sims) await startDeviceSession(client, s);
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await signInPage(page, web.url, admin);
    noJs = await browser.newContext({ viewport: { width: 1400, height: 1000 }, javaScriptEnabled: false });
    nojsPage = await noJs.newPage();
    await signInPage(nojsPage, web.url, admin);
  });

  after(async () => {
    for (const id of simIds) await client?.workflow.getHandle(deviceSessionWorkflowId(id)).terminate('test over').catch(() => undefined);
    await client?.schedule.getHandle(RECONCILE_SCHEDULE_ID).unpause('fleet progress e2e suite over').catch(() => undefined);
    await noJs?.close();
    await browser?.close();
    await Promise.allSettled([workers?.stop(), control?.stop(), web?.stop(), fleet?.close()]);
    await client?.connection.close();
    await tdb?.drop();
  });

  it('sorts by points/s and by last seen from the traffic mirror, in the URL, ties in natural name order across pages', async () => {
    // The three switches stream; the mirror (every second here) counts their points.
    await until(
      'the streaming switches to lead the points/s sort with points counted',
      async () => {
        await page.goto(`${web.url}/devices?sort=points&dir=desc&size=25`);
        const [n, r] = [await names(page), await rates(page)];
        return JSON.stringify(n.slice(0, SIMS).sort()) === JSON.stringify(simNames()) && r.slice(0, SIMS).every((x) => x > 0);
      },
      90_000,
      1000,
    );
    // The header link sorts busiest first on the first click, and says so in the URL.
    await page.goto(`${web.url}/devices?size=25`);
    await page.getByTestId('sort-points').click();
    await page.waitForURL(/sort=points&dir=desc/, { timeout: 90_000 });
    await page.waitForFunction(() => document.querySelector('th[aria-sort=descending] [data-testid=sort-points]') !== null, null, { timeout: 90_000 });
    const busiest = await names(page);
    assert.deepEqual(busiest.slice(0, SIMS).sort(), simNames());
    // Devices without traffic follow in natural name order (lab-sw-2 before lab-sw-10), and page 2 carries on.
    assert.deepEqual(busiest.slice(SIMS), Array.from({ length: 25 - SIMS }, (_, i) => `lab-sw-${i + 1}`));
    await page.getByTestId('next-page').click();
    await page.waitForURL(/page=2/, { timeout: 90_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid=range]')?.textContent?.startsWith('26–50'), null, { timeout: 90_000 });
    assert.deepEqual((await names(page)).slice(0, 3), ['lab-sw-23', 'lab-sw-24', 'lab-sw-25']);

    // Last seen: newest first puts the switches first and never-seen devices after them; oldest first the reverse.
    await page.goto(`${web.url}/devices?sort=seen&dir=desc&size=25`);
    const newest = await names(page);
    assert.deepEqual(newest.slice(0, SIMS).sort(), simNames());
    assert.equal(newest[SIMS], 'lab-sw-1');
    const seenCells = await page.locator('[data-testid=device-row] td:nth-child(8)').allInnerTexts();
    assert.ok(seenCells.slice(0, SIMS).every((t) => t !== '—'), `last seen of the switches: ${seenCells.slice(0, SIMS)}`);
    await nojsPage.goto(`${web.url}/devices?sort=seen&size=25`);
    assert.deepEqual((await names(nojsPage)).slice(0, 2), ['lab-sw-1', 'lab-sw-2']);
    await nojsPage.goto(`${web.url}/devices?sort=seen&size=25&page=${Math.ceil((SEEDED + SIMS) / 25)}`);
    assert.deepEqual((await names(nojsPage)).slice(-SIMS).sort(), simNames());
    await page.goto(`${web.url}/devices?sort=points&dir=desc&size=25`);
    await page.screenshot({ path: path.join(artifactsDir(), 'fleet-sort-points.png') });
  });

  it('without JavaScript: a bulk pause shows its progress page, which refreshes itself until every device acknowledged', async () => {
    await until('the mirror to show the three sessions streaming', async () => {
      await nojsPage.goto(`${web.url}/devices?site=simulated&state=streaming`);
      return (await names(nojsPage)).length === SIMS;
    }, 30_000, 500);
    await stopControl();
    const loads: number[] = [];
    nojsPage.on('response', (r) => {
      if (r.request().resourceType() === 'document' && /\/devices\/bulk\/\d+$/.test(r.url())) loads.push(Date.now());
    });
    const progressPath = await confirmBulk(nojsPage, 'pause', 'filter', /Pause on 3 devices/);
    // No workflow can run the signals yet: the page says 0 of 3 and loads itself again, and again.
    assert.match(await nojsPage.getByTestId('bulk-progress-text').innerText(), /Working: 0 of 3 devices done, 0 failed/);
    await until('the progress page to have refreshed itself twice', () => loads.length >= 3, 30_000, 100);
    assert.match(await nojsPage.getByTestId('bulk-progress-text').innerText(), /0 of 3 devices done/);
    assert.ok(nojsPage.url().endsWith(progressPath));
    // docs/web.md's picture of a running bulk action: refreshed with UPDATE_SCREENSHOTS=1 (or when missing).
    const docsShot = path.join(ROOT, 'docs', 'screenshots', 'fleet-bulk-progress.png');
    if (process.env.UPDATE_SCREENSHOTS === '1' || !fs.existsSync(docsShot)) await nojsPage.screenshot({ path: docsShot });
    startControl();
    // Once the workflows ran the pause, the next refresh shows the result per device.
    await nojsPage.getByTestId('bulk-summary').waitFor({ timeout: 90_000 });
    assert.match(await nojsPage.getByTestId('bulk-summary').innerText(), /^Pause: 3 of 3 acknowledged, 0 failed, in \d+\.\d s/);
    assert.deepEqual((await nojsPage.getByTestId('result-ok').allInnerTexts()).map((t) => t.split('\t')[2]), ['paused', 'paused', 'paused']);
    for (const id of simIds) assert.equal(await paused(id), true);
    // Done: the page no longer asks to be refreshed.
    assert.doesNotMatch(await nojsPage.content(), /http-equiv="refresh"/);
  });

  it('with JavaScript: a bulk resume updates its progress in place, failures listed first with why', async () => {
    // The three paused switches (last seen, so first) and lab-sw-1, which has no session.
    await page.goto(`${web.url}/devices?sort=seen&dir=desc&size=25`);
    const rows = page.locator('[data-testid=device-row]');
    for (let i = 0; i < SIMS + 1; i++) await rows.nth(i).locator('input[type=checkbox]').check();
    assert.equal(await rows.nth(SIMS).locator('td:nth-child(2)').innerText(), 'lab-sw-1');
    await stopControl();
    await confirmBulk(page, 'resume', 'ids', /Resume on 4 devices.*rows selected/s);
    await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
    // The action's workflow waits for the control worker (ADR 170): the page says so and keeps re-reading in place.
    await page.waitForFunction(() => /0 of 4 devices done, 0 failed/.test(document.querySelector('[data-testid=bulk-progress-text]')?.textContent ?? ''), null, { timeout: 90_000 });
    startControl();
    await page.getByTestId('bulk-summary').waitFor({ timeout: 90_000 });
    assert.match(await page.getByTestId('bulk-summary').innerText(), /^Resume: 3 of 4 acknowledged, 1 failed/);
    assert.equal(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere), true, 'updated in place, never reloaded');
    const first = await page.getByTestId('bulk-results').locator('tbody tr').first().innerText();
    assert.match(first, /^lab-sw-1\tfailed\tno session running$/);
    for (const id of simIds) assert.equal(await paused(id), false);
    await page.screenshot({ path: path.join(artifactsDir(), 'fleet-bulk-progress-done.png') });
  });
});
