/**
 * The web app in headless Chromium against real workers, Temporal and the
 * simulator: sign in; add a simulated device through the form and watch its
 * session become streaming; build a dashboard and watch its live chart draw;
 * a viewer sees no edit controls and is refused when posting anyway; and the
 * forms work with JavaScript turned off.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { parseKeyring } from '../../storage/secrets';
import { waitFor } from '../../scripts/infra/proc';
import { startDeviceSession } from '../../temporal/fleet-client';
import { deviceSessionWorkflowId, statusQuery } from '../../core/names';
import { seedSimulatedDevices } from '../../scripts/seed';
import type { Fleet } from '../../simulator/fleet';
import { artifactsDir } from '../support/env';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { TEST_SECRETS_KEY } from '../support/system';
import { createTestUser, signInPage } from '../../testkit/web-auth';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('web app in Chromium', function () {
  this.timeout(120_000);
  let stack: WebStack;
  let { tdb, fleet, workers, client, web, admin, browser, page } = {} as WebStack; // filled in by before()
  const deviceIds: number[] = [];

  const shot = (p: Page, name: string) => p.screenshot({ path: path.join(artifactsDir(), `web-${name}.png`), fullPage: true });

  before(async () => {
    // Session workflows left running by earlier suites on the shared Temporal server would keep
    // this suite's collector busy with devices it cannot find: the stack ends them first.
    // The page is not signed in: the first test signs in through the form.
    stack = await startWebStack({
      database: 'e2e_web',
      adminEmail: 'admin@example.test',
      fleet: { gnmiCount: 2, interfaces: 4, namePrefix: 'webe2e' },
      workers: { clearRunning: 'cleared by the web e2e suite' },
      signIn: false,
    });
    ({ tdb, fleet, workers, client, web, admin, browser, page } = stack);
    // The first simulated switch is registered the way `npm start` does (with the fleet overview dashboard);
    // the second is added through the form by the test.
    const sim = fleet.members[0];
    const [seeded] = await seedSimulatedDevices(tdb.db, parseKeyring(TEST_SECRETS_KEY), [
      { name: sim.name, protocol: 'gnmi', host: sim.host, port: sim.port, username: 'admin', password: 'admin' },
    ]);
    deviceIds.push(seeded.id);
    await startDeviceSession(client, seeded);
  });

  after(async () => {
    for (const id of deviceIds) await client?.workflow.getHandle(deviceSessionWorkflowId(id)).terminate('test over').catch(() => undefined);
    await stack?.stop();
  });

  it('signs in through the form; pages need a session', async () => {
    await page.goto(`${web.url}/devices`);
    assert.match(new URL(page.url()).pathname, /^\/login$/);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong email or password.').waitFor();
    await page.getByLabel('Password').fill(admin.password);
    await Promise.all([page.waitForURL(/\/devices$/), page.getByRole('button', { name: 'Sign in' }).click()]);
    assert.match(await page.getByTestId('whoami').innerText(), /admin@example\.test · admin/);
  });

  it('adds a simulated device through the form and sees its session become streaming', async () => {
    const sim = fleet.members[1];
    await page.goto(`${web.url}/devices/new`);
    await page.locator('[name=name]').fill(sim.name);
    await page.locator('[name=host]').fill(sim.host);
    await page.locator('[name=port]').fill('not-a-port');
    await page.getByRole('button', { name: 'Add device' }).click();
    await page.getByTestId('error-port').waitFor();
    await page.locator('[name=port]').fill(String(sim.port));
    await page.locator('[name=username]').fill('admin');
    await page.locator('[name="secrets.password"]').fill('admin');
    await page.locator('[name="gnmi.tls"]').selectOption('insecure');
    await page.getByLabel('Send credentials over plaintext (lab only)').check();
    await shot(page, 'device-form');
    await Promise.all([page.waitForURL(/\/devices\/\d+$/), page.getByRole('button', { name: 'Add device' }).click()]);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    deviceIds.push(id);
    // The URL changes before the device page has rendered: wait for it, then check the password is not echoed.
    await page.getByTestId('session-state').waitFor();
    assert.equal(await page.locator('[name="secrets.password"]').count(), 0);
    await page.waitForFunction(() => document.querySelector('[data-testid=session-state]')?.textContent === 'streaming', null, { timeout: 45_000 });
    // The interfaces table and the traffic chart fill in from the same device.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=live-chart]')?.getAttribute('data-point-count')) > 2, null, { timeout: 30_000 });
    await page.getByTestId('interfaces').waitFor();
    // Last point is the newest stored point while streaming (the workflow's own moves only when an attempt ends).
    // Shown as "07:44 UTC (3 s ago)" (a date first on another day), and not marked stale.
    await page.waitForFunction(() => /^(\w{3} \d+ )?\d\d:\d\d UTC \(\d+ s ago\)$/.test(document.querySelector('[data-testid=last-point]')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.equal(await page.getByTestId('last-error').innerText(), 'none');
    await shot(page, 'device');
    await page.goto(`${web.url}/devices`);
    assert.equal(await page.getByTestId(`state-${sim.name}`).innerText(), 'streaming');

    // The device's stream breaks and the session recovers: the old error is shown with its time, as an earlier connection's.
    const deviceUrl = `${web.url}/devices/${id}`;
    (sim.faults as unknown as { dropStreams(): number }).dropStreams();
    await waitFor(
      'the device page to show streaming with the error of an earlier connection',
      async () => {
        await page.goto(deviceUrl);
        return (await page.getByTestId('session-state').innerText()) === 'streaming' && (await page.getByTestId('last-error').innerText()).startsWith('earlier connection · ');
      },
      45_000,
      500,
    );
    assert.match(await page.getByTestId('last-error-when').innerText(), /^earlier connection · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\): $/);
    assert.equal(await page.getByTestId('last-error').getAttribute('class'), 'muted');
    await shot(page, 'device-recovered');
  });

  it('creates a dashboard with a live widget whose chart keeps drawing', async () => {
    await page.goto(`${web.url}/dashboards`);
    await page.locator('[name=name]').fill('E2E traffic');
    await Promise.all([page.waitForURL(/\/dashboards\/\d+\/edit$/), page.getByRole('button', { name: 'Create dashboard' }).click()]);
    await page.getByRole('link', { name: 'Add widget' }).click();
    await page.locator('[name=title]').fill('Inbound by interface');
    await page.locator('[name=deviceId]').selectOption({ label: fleet.members[1].name });
    await page.locator('[name=path]').fill('/interfaces/interface[name=*]/state/counters/in-octets');
    await page.getByLabel('Rate per second (for counters)').check();
    await page.locator('[name=chart]').selectOption('line');
    await page.locator('[name=unit]').selectOption('bits/s');
    await Promise.all([page.waitForURL(/\/dashboards\/\d+$/), page.getByRole('button', { name: 'Add widget' }).click()]);
    const chart = page.locator('[data-testid^=widget-chart-]').first();
    await chart.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid^=widget-chart-]')?.getAttribute('data-status') === 'live', null, { timeout: 20_000 });
    const initial = Number(await chart.getAttribute('data-point-count'));
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid^=widget-chart-]')?.getAttribute('data-point-count')) >= n + 4, initial, { timeout: 20_000 });
    assert.ok((await page.locator('[data-testid^=widget-chart-] svg path').count()) > 0, 'Vega drew paths');
    await shot(page, 'dashboard-new');
  });

  it('the seeded fleet overview shares one EventSource across its widgets', async () => {
    const streams: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/live')) streams.push(r.url());
    });
    await page.goto(`${web.url}/dashboards`);
    await page.getByRole('link', { name: 'Fleet overview' }).click();
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid^=widget-chart-]')].filter((e) => Number(e.getAttribute('data-point-count')) > 3).length >= 5,
      null,
      { timeout: 40_000 },
    );
    assert.equal(streams.length, 1, `one /api/live stream for the whole dashboard: ${streams.join(' ')}`);
    // Fleet widgets say which devices they cover (interface widgets by metric, so every model counts).
    const coverage = await page.locator('[data-testid^=widget-coverage-]').allInnerTexts();
    // Seven series widgets, and the server-computed per-site breakdown and top-10 table (issue 17).
    assert.equal(coverage.length, 9, coverage.join(' | '));
    assert.match(coverage[0], /^Covers 2( of \d+)? devices: 2 OpenConfig\.$/);
    await page.waitForTimeout(3000);
    await shot(page, 'dashboard');
    // The README's screenshot: refreshed on request, so test runs do not dirty the work tree.
    const readmeShot = path.join(ROOT, 'docs', 'screenshots', 'dashboard.png');
    if (process.env.UPDATE_SCREENSHOTS === '1' || !fs.existsSync(readmeShot)) {
      fs.mkdirSync(path.dirname(readmeShot), { recursive: true });
      fs.copyFileSync(path.join(artifactsDir(), 'web-dashboard.png'), readmeShot);
    }
  });

  it('works without JavaScript: sign in, a device form with a field error then saved, pause and resume, a dashboard with a widget, the range picker', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
    try {
      const p = await ctx.newPage();
      // Plain HTML form posts and server redirects from here on: no client-side router.
      await p.goto(`${web.url}/devices`);
      assert.match(new URL(p.url()).pathname, /^\/login$/);
      await p.getByLabel('Email').fill(admin.email);
      await p.getByLabel('Password').fill(admin.password);
      await Promise.all([p.waitForURL(/\/devices$/), p.getByRole('button', { name: 'Sign in' }).click()]);
      assert.match(await p.getByTestId('whoami').innerText(), /admin@example\.test/);
      // The page's own scripts did not run (React Router never hydrated): this is the HTML alone.
      assert.equal(await p.evaluate(() => typeof (window as unknown as Record<string, unknown>).__reactRouterContext), 'undefined');
      assert.equal(await page.evaluate(() => typeof (window as unknown as Record<string, unknown>).__reactRouterContext), 'object', 'the JavaScript page does hydrate');

      // A field error comes back from the server with what was typed kept.
      const sim = fleet.members[1];
      await p.goto(`${web.url}/devices/new`);
      await p.locator('[name=name]').fill('nojs-switch');
      await p.locator('[name=host]').fill(sim.host);
      await p.locator('[name=port]').fill('99999');
      await Promise.all([p.waitForLoadState('load'), p.getByRole('button', { name: 'Add device' }).click()]);
      await p.getByTestId('error-port').waitFor();
      assert.equal(await p.locator('[name=name]').inputValue(), 'nojs-switch');
      await p.locator('[name=port]').fill(String(sim.port));
      await p.locator('[name=username]').fill('admin');
      await p.locator('[name="secrets.password"]').fill('admin');
      await p.locator('[name="gnmi.tls"]').selectOption('insecure');
      await p.getByLabel('Send credentials over plaintext (lab only)').check();
      await Promise.all([p.waitForURL(/\/devices\/\d+$/), p.getByRole('button', { name: 'Add device' }).click()]);
      const id = Number(new URL(p.url()).pathname.split('/').pop());
      deviceIds.push(id);

      // Pause and resume are form posts acknowledged by the workflow, then a redirect back.
      await Promise.all([p.waitForURL(new RegExp(`/devices/${id}`)), p.getByTestId('action-pause').click()]);
      await p.getByTestId('action-resume').waitFor();
      assert.equal((await client.workflow.getHandle(deviceSessionWorkflowId(id)).query(statusQuery)).paused, true);
      await Promise.all([p.waitForURL(new RegExp(`/devices/${id}`)), p.getByTestId('action-resume').click()]);
      await p.getByTestId('action-pause').waitFor();

      // A dashboard and a widget, through the same forms.
      await p.goto(`${web.url}/dashboards`);
      await p.locator('[name=name]').fill('No-JS dashboard');
      await Promise.all([p.waitForURL(/\/dashboards\/\d+\/edit$/), p.getByRole('button', { name: 'Create dashboard' }).click()]);
      await Promise.all([p.waitForURL(/\/widgets\/new$/), p.getByRole('link', { name: 'Add widget' }).click()]);
      await p.locator('[name=title]').fill('Inbound without JS');
      await p.locator('[name=deviceId]').selectOption({ label: 'nojs-switch' });
      await p.locator('[name=path]').fill('/interfaces/interface[name=*]/state/counters/in-octets');
      await Promise.all([p.waitForURL(/\/dashboards\/\d+$/), p.getByRole('button', { name: 'Add widget' }).click()]);
      await p.getByText('Inbound without JS').waitFor();
      // The chart cannot draw; the card says why and links the data instead.
      const noscript = p.locator('[data-testid$=-noscript]').first();
      assert.match(await noscript.innerText(), /JavaScript, which is off/);
      const dataUrl = await noscript.locator('a').getAttribute('href');
      const data = await p.request.get(`${web.url}${dataUrl}`);
      assert.equal(data.status(), 200);
      assert.ok(Object.keys(((await data.json()) as { series: object }).series).length > 0, 'the linked JSON has the series');

      // The range picker is a GET form.
      await p.getByTestId('range-picker').locator('[name=range]').selectOption('6h');
      await Promise.all([p.waitForURL(/range=6h/), p.getByTestId('range-picker').getByRole('button', { name: 'Apply' }).click()]);
      assert.equal(await p.getByTestId('range-picker').locator('[name=range]').inputValue(), '6h');
      await shot(p, 'no-javascript');
    } finally {
      await ctx.close();
    }
  });

  it('a viewer sees no edit controls and is refused when posting anyway', async () => {
    const viewer = await createTestUser(tdb.db, 'viewer', 'viewer@example.test');
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const vp = await ctx.newPage();
      await signInPage(vp, web.url, viewer);
      await vp.goto(`${web.url}/devices`);
      assert.equal(await vp.getByRole('link', { name: 'Add device' }).count(), 0);
      assert.equal(await vp.getByRole('button', { name: 'Pause' }).count(), 0);
      await vp.goto(`${web.url}/devices/${deviceIds[0]}`);
      assert.equal(await vp.getByRole('link', { name: 'Edit' }).count(), 0);
      assert.equal(await vp.getByRole('link', { name: 'Users' }).count(), 0);
      await vp.goto(`${web.url}/devices/new`);
      assert.match(await vp.getByTestId('error').innerText(), /Not allowed/);
      const res = await vp.request.post(`${web.url}/devices/${deviceIds[0]}`, { form: { intent: 'pause' }, headers: { origin: web.url }, maxRedirects: 0 });
      assert.equal(res.status(), 403);
      await shot(vp, 'viewer');
    } finally {
      await ctx.close();
    }
  });
});
