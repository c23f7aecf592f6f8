/**
 * The devices view at fleet scale (issue 19) in Chromium: 10,000 devices seeded in
 * one INSERT (disabled, 20 sites) plus three streaming simulated switches. Search,
 * filters, natural sort, pagination, the health strip, row actions by state, the
 * sites view, CSV export, and every bulk action — with JavaScript on, and off where
 * the action is a form — against the real web app, workers, Temporal and simulator.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { startDeviceSession } from '../../temporal/fleet-client';
import { RECONCILE_SCHEDULE_ID, deviceSessionWorkflowId, statusQuery } from '../../core/names';
import { waitFor } from '../../scripts/infra/proc';
import { candidatesFromCsv } from '../../web/app/lib/device-import';
import { artifactsDir } from '../support/env';
import { pauseReconcileSchedule, seedFleetMembers, startWebStack, type WebStack } from '../support/browser-rig';
import { processEnv } from '../support/system';
import { signInPage } from '../../testkit/web-auth';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SEEDED = 10_000;
const SIMS = 3;

describe('web fleet view with 10,000 devices', function () {
  this.timeout(120_000);
  let stack: WebStack;
  let { tdb, fleet, workers, client, web, admin, browser, page } = {} as WebStack; // filled in by before()
  let noJs: BrowserContext;
  let nojsPage: Page;
  let simIds: number[] = [];
  let profileId: number;
  const started: number[] = [];

  const shot = (p: Page, name: string, file?: string) =>
    p.screenshot({ path: file ?? path.join(artifactsDir(), `fleet-${name}.png`), fullPage: !file });
  const range = (p: Page) => p.getByTestId('range').innerText();
  /** After a client-side navigation (the URL changes before the new page renders): wait for the range line. */
  const rangeBecomes = (p: Page, text: string) => p.waitForFunction((t) => document.querySelector('[data-testid=range]')?.textContent === t, text);
  const names = (p: Page) => p.locator('[data-testid=device-row] td:nth-child(2)').allInnerTexts();
  const count = async (p: Page, state: string) => Number((await p.getByTestId(`strip-${state}`).locator('strong').innerText()).replace(/,/g, ''));

  /** Submit the bulk form (rows ticked, or every device of the filter), confirm, and return the summary line. */
  async function bulk(p: Page, op: string, opts: { scope: 'ids' | 'filter'; profile?: string; expect: RegExp; otherProtocol?: RegExp }): Promise<string> {
    const form = p.getByTestId('bulk-form');
    await form.locator(`input[name=scope][value=${opts.scope}]`).check();
    await form.locator('select[name=op]').selectOption(op);
    if (opts.profile) await form.locator('select[name=profileId]').selectOption({ label: opts.profile });
    await form.getByRole('button', { name: 'Review…' }).click();
    const text = await p.getByTestId('bulk-confirm-text').innerText();
    assert.match(text, opts.expect);
    if (opts.otherProtocol) assert.match(await p.getByTestId('bulk-other-protocol').innerText(), opts.otherProtocol);
    else assert.equal(await p.getByTestId('bulk-other-protocol').count(), 0);
    await p.getByTestId('bulk-confirm').getByRole('button').click();
    return p.getByTestId('bulk-summary').innerText();
  }

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_fleet',
      adminEmail: 'fleet-admin@example.test',
      fleet: { gnmiCount: SIMS, interfaces: 2, namePrefix: 'fleete2e' },
      workers: { clearRunning: 'cleared by the fleet e2e suite' },
      webEnv: { WEB_FLEET_STATE_SYNC_MS: '1000' },
      viewport: { width: 1400, height: 1000 },
    });
    ({ tdb, fleet, workers, client, web, admin, browser, page } = stack);
    // The reconcile schedule would start a (disabled) workflow for each of the 10,000 devices within a minute:
    // a fact of production, but here it would only load the test machine. Paused for this suite.
    await pauseReconcileSchedule(client, 'fleet e2e suite');
    const sims = await seedFleetMembers(tdb.db, fleet);
    simIds = sims.map((s) => s.id);
    profileId = (await tdb.db('subscription_profiles').where({ protocol: 'gnmi' }).first('id')).id;
    // 10,000 devices in one statement: names lab-sw-1 … lab-sw-10000, 20 sites, every fifth NETCONF, all disabled.
    await tdb.db.raw(
      `INSERT INTO devices (name, protocol, host, port, site, enabled)
       SELECT 'lab-sw-' || i, CASE WHEN i % 5 = 0 THEN 'netconf' ELSE 'gnmi' END,
              '10.' || (i / 65536) % 256 || '.' || (i / 256) % 256 || '.' || i % 256, CASE WHEN i % 5 = 0 THEN 830 ELSE 57400 END,
              'site-' || (i % 20 + 1), false
         FROM generate_series(1, ?) AS i`,
      [SEEDED],
    );
    for (const s of sims) {
      await startDeviceSession(client, s);
      started.push(s.id);
    }
    noJs = await browser.newContext({ viewport: { width: 1400, height: 1000 }, javaScriptEnabled: false });
    nojsPage = await noJs.newPage();
    await signInPage(nojsPage, web.url, admin);
  });

  after(async () => {
    const ids = [...started, ...((await tdb?.db('devices').where('name', 'like', 'lab-sw-%').where({ enabled: true }).pluck('id').catch(() => [])) ?? [])];
    for (const id of ids) await client?.workflow.getHandle(deviceSessionWorkflowId(id)).terminate('test over').catch(() => undefined);
    await client?.schedule.getHandle(RECONCILE_SCHEDULE_ID).unpause('fleet e2e suite over').catch(() => undefined);
    await noJs?.close();
    await stack?.stop();
  });

  it('shows one page of 10,000 devices in natural name order, with total, range and pages; HTML under 200 KiB', async () => {
    const res = await page.request.get(`${web.url}/devices`);
    const html = await res.text();
    assert.equal(res.status(), 200);
    assert.ok(Buffer.byteLength(html) < 200 * 1024, `one page of HTML is ${Buffer.byteLength(html)} bytes`);
    const big = await (await page.request.get(`${web.url}/devices?size=200`)).text();
    console.log(`      /devices HTML: ${(Buffer.byteLength(html) / 1024).toFixed(1)} KiB with 50 rows, ${(Buffer.byteLength(big) / 1024).toFixed(1)} KiB with 200`);
    await page.goto(`${web.url}/devices`);
    assert.equal(await range(page), `1–50 of ${(SEEDED + SIMS).toLocaleString('en')} devices`);
    assert.deepEqual((await names(page)).slice(0, 12), [...fleet.members.map((m) => m.name), ...Array.from({ length: 9 }, (_, i) => `lab-sw-${i + 1}`)]);
    // Sorting by name descending: lab-sw-10000 first (text order would put lab-sw-9999 first).
    await page.getByTestId('sort-name').click();
    await page.waitForURL(/dir=desc/);
    await page.waitForFunction(() => document.querySelector('[data-testid=device-row] td:nth-child(2)')?.textContent === 'lab-sw-10000');
    assert.deepEqual((await names(page)).slice(0, 3), ['lab-sw-10000', 'lab-sw-9999', 'lab-sw-9998']);
    // Pagination keeps the sort; the range follows.
    await page.getByTestId('next-page').click();
    await page.waitForURL(/page=2/);
    await rangeBecomes(page, `51–100 of ${(SEEDED + SIMS).toLocaleString('en')} devices`);
    assert.equal((await names(page))[0], 'lab-sw-9950');
    // Sort by site: natural order of site names (site-20 last, not site-9).
    await page.goto(`${web.url}/devices?sort=site&size=25`);
    assert.equal(await page.locator('[data-testid=device-row]').count(), 25);
    assert.equal(await page.locator('[data-testid=device-row] td:nth-child(5)').first().innerText(), 'simulated');
    await page.goto(`${web.url}/devices?sort=site&dir=desc`);
    assert.equal(await page.locator('[data-testid=device-row] td:nth-child(5)').first().innerText(), 'site-20');
  });

  it('searches by name or address prefix and filters by site, protocol and enabled, in the URL (without JavaScript too)', async () => {
    // Without JavaScript: the filter form is a GET form.
    await nojsPage.goto(`${web.url}/devices`);
    const filters = nojsPage.getByTestId('filters');
    await filters.locator('[name=q]').fill('lab-sw-12');
    await Promise.all([nojsPage.waitForURL(/q=lab-sw-12/), filters.getByRole('button', { name: 'Apply' }).click()]);
    // lab-sw-12, lab-sw-120…129, lab-sw-1200…1299.
    assert.equal(await range(nojsPage), '1–50 of 111 devices');
    assert.deepEqual((await names(nojsPage)).slice(0, 3), ['lab-sw-12', 'lab-sw-120', 'lab-sw-121']);
    await nojsPage.goto(`${web.url}/devices?q=10.0.1.`);
    assert.match(await range(nojsPage), /of 256 devices/); // i = 256…511 by address prefix
    // With JavaScript: site and protocol together, bookmarkable.
    await page.goto(`${web.url}/devices`);
    await page.getByTestId('filters').locator('[name=site]').selectOption('site-7');
    await page.getByTestId('filters').locator('[name=protocol]').selectOption('netconf');
    await page.getByTestId('filters').getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/site=site-7.*protocol=netconf|protocol=netconf.*site=site-7/);
    // i % 20 = 6 and i % 5 = 0 never meet: no NETCONF device at site-7; gNMI devices there: 500.
    await rangeBecomes(page, 'No device matches.');
    await page.goto(`${web.url}/devices?site=site-7&protocol=gnmi`);
    assert.match(await range(page), /of 500 devices/);
    await page.goto(`${web.url}/devices?enabled=yes`);
    assert.match(await range(page), new RegExp(`of ${SIMS} devices`));
    await page.goto(`${web.url}/devices?profile=${profileId}`);
    assert.match(await range(page), new RegExp(`of ${SIMS} devices`));
  });

  it('the health strip counts devices per state, filters by them, and row actions fit the state', async () => {
    await waitFor(
      'the three simulated switches streaming in the health strip',
      async () => {
        await page.goto(`${web.url}/devices`);
        return (await count(page, 'streaming')) === SIMS;
      },
      30_000,
    );
    assert.equal(await count(page, 'disabled'), SEEDED);
    await waitFor(
      'the fleet points/s in the health strip',
      async () => {
        await page.reload();
        return Number(await page.getByTestId('fleet-rate').locator('strong').innerText()) > 0;
      },
      15_000,
    );
    await page.getByTestId('strip-streaming').click();
    await page.waitForURL(/state=streaming/);
    await rangeBecomes(page, `1–${SIMS} of ${SIMS} devices`);
    assert.deepEqual(await names(page), fleet.members.map((m) => m.name));
    // A streaming row: workflow link and Pause; a disabled row without a workflow: neither, only Enable.
    const simRow = page.locator('[data-testid=device-row]', { hasText: fleet.members[0].name });
    assert.equal(await simRow.getByRole('link', { name: 'workflow' }).count(), 1);
    assert.equal(await simRow.getByRole('button', { name: 'Pause' }).count(), 1);
    // Disable leads to the device page's confirmation step.
    assert.equal(await simRow.getByRole('link', { name: 'Disable' }).getAttribute('href'), `/devices/${simIds[0]}?confirm=disable`);
    await page.goto(`${web.url}/devices?q=lab-sw-1&size=25`);
    const labRow = page.locator('[data-testid=device-row]').first();
    assert.equal(await labRow.getByRole('link', { name: 'workflow' }).count(), 0);
    assert.equal(await labRow.getByRole('button', { name: 'Pause' }).count(), 0);
    assert.equal(await labRow.getByRole('button', { name: 'Enable' }).count(), 1);
    await page.goto(`${web.url}/devices?size=25`);
    await shot(page, 'devices');
    // docs/web.md's picture of the fleet view: refreshed with UPDATE_SCREENSHOTS=1 (or when missing).
    const docsShot = path.join(ROOT, 'docs', 'screenshots', 'fleet-devices.png');
    if (process.env.UPDATE_SCREENSHOTS === '1' || !fs.existsSync(docsShot)) await shot(page, 'devices', docsShot);
  });

  it('bulk pause of all matching (JavaScript) and resume of ticked rows (no JavaScript), acknowledged per device', async () => {
    await page.goto(`${web.url}/devices?state=streaming`);
    const summary = await bulk(page, 'pause', { scope: 'filter', expect: /Pause on 3 devices.*all matching state=streaming/s });
    assert.match(summary, /Pause: 3 of 3 acknowledged, 0 failed/);
    assert.equal(await page.getByTestId('result-ok').count(), SIMS);
    for (const id of simIds) assert.equal((await client.workflow.getHandle(deviceSessionWorkflowId(id)).query(statusQuery)).paused, true);
    await page.goto(`${web.url}/devices`);
    assert.equal(await count(page, 'paused'), SIMS);

    await nojsPage.goto(`${web.url}/devices?state=paused`);
    for (const n of [fleet.members[0].name, fleet.members[1].name]) await nojsPage.getByLabel(`Select ${n}`).check();
    const resumed = await bulk(nojsPage, 'resume', { scope: 'ids', expect: /Resume on 2 devices.*rows selected/s });
    assert.match(resumed, /Resume: 2 of 2 acknowledged/);
    assert.equal((await client.workflow.getHandle(deviceSessionWorkflowId(simIds[0])).query(statusQuery)).paused, false);
    assert.equal((await client.workflow.getHandle(deviceSessionWorkflowId(simIds[2])).query(statusQuery)).paused, true);
    // Resume the third from the list's own row action, and reconfigure all three in one bulk action.
    await page.goto(`${web.url}/devices?state=paused`);
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes(`/devices/${simIds[2]}`)),
      page.locator('[data-testid=device-row]', { hasText: fleet.members[2].name }).getByRole('button', { name: 'Resume' }).click(),
    ]);
    assert.equal((await client.workflow.getHandle(deviceSessionWorkflowId(simIds[2])).query(statusQuery)).paused, false);
    await page.goto(`${web.url}/devices?site=simulated`);
    const reconf = await bulk(page, 'reconfigure', { scope: 'filter', expect: /Reconfigure on 3 devices/ });
    assert.match(reconf, /Reconfigure: 3 of 3 acknowledged/);
    await shot(page, 'bulk-result');
  });

  it('bulk enable and disable, attach and detach a profile (no JavaScript), delete with the count confirmed', async () => {
    // Enable one device: its session starts (at an unreachable address it backs off); disable it again.
    await page.goto(`${web.url}/devices?q=lab-sw-10000`);
    assert.match(await bulk(page, 'enable', { scope: 'filter', expect: /Enable on 1 device\b/ }), /Enable: 1 of 1 acknowledged/);
    const [id] = await tdb.db('devices').where({ name: 'lab-sw-10000' }).pluck('id');
    assert.equal((await tdb.db('devices').where({ id }).first('enabled')).enabled, true);
    await waitFor('the enabled device to have a session', async () => Boolean(await client.workflow.getHandle(deviceSessionWorkflowId(id)).query(statusQuery).catch(() => undefined)), 20_000);
    await page.goto(`${web.url}/devices?q=lab-sw-10000`);
    assert.match(await bulk(page, 'disable', { scope: 'filter', expect: /Disable on 1 device\b/ }), /Disable: 1 of 1 acknowledged/);
    await waitFor('the session to park as disabled', async () => (await client.workflow.getHandle(deviceSessionWorkflowId(id)).query(statusQuery)).state === 'disabled', 20_000);

    // Attach a gNMI profile to the 111 devices of a search (22 of them NETCONF: refused, said before and after, never
    // dropped silently — issue 21), then filter by it, then detach.
    const profileName = (await tdb.db('subscription_profiles').where({ id: profileId }).first('name')).name as string;
    await nojsPage.goto(`${web.url}/devices?q=lab-sw-99`);
    const otherProtocol = new RegExp(`^22 of them are devices of the other protocol: “${profileName}” is a gNMI profile, so it is not attached to them`);
    assert.match(await bulk(nojsPage, 'attach-profile', { scope: 'filter', profile: profileName, expect: /Attach profile “.+” on 111 devices/, otherProtocol }), /89 of 111 acknowledged, 22 failed/);
    assert.equal(
      Number((await tdb.db('device_profiles as dp').join('devices as d', 'd.id', 'dp.device_id').where({ 'dp.profile_id': profileId, 'd.protocol': 'netconf' }).count('* as n'))[0].n),
      0,
      'no NETCONF device has the gNMI profile',
    );
    await nojsPage.goto(`${web.url}/devices?profile=${profileId}`);
    assert.match(await range(nojsPage), new RegExp(`of ${89 + SIMS} devices`));
    await nojsPage.goto(`${web.url}/devices?q=lab-sw-99&profile=${profileId}`);
    assert.match(await bulk(nojsPage, 'detach-profile', { scope: 'filter', profile: profileName, expect: /on 89 devices/ }), /89 of 89 acknowledged/);
    assert.equal(Number((await tdb.db('device_profiles').where({ profile_id: profileId }).count('* as n'))[0].n), SIMS);

    // Delete: the confirmation states the count; cancelled nothing, confirmed removes exactly them.
    await nojsPage.goto(`${web.url}/devices?q=lab-sw-99`);
    assert.match(await bulk(nojsPage, 'delete', { scope: 'filter', expect: /Delete on 111 devices/ }), /Delete: 111 of 111 acknowledged/);
    assert.equal(Number((await tdb.db('devices').where('name', 'like', 'lab-sw-99%').count('* as n'))[0].n), 0);
    await page.goto(`${web.url}/devices`);
    assert.match(await range(page), new RegExp(`of ${(SEEDED + SIMS - 111).toLocaleString('en')} devices`));

    // Every bulk action is recorded with who, what and how many.
    await page.goto(`${web.url}/devices/bulk`);
    const history = await page.getByTestId('bulk-history').innerText();
    for (const a of ['pause', 'resume', 'reconfigure', 'enable', 'disable', 'attach-profile', 'detach-profile', 'delete']) assert.match(history, new RegExp(a));
    assert.match(history, /fleet-admin@example\.test/);
    const rows = await tdb.db('bulk_actions').orderBy('id').select('action', 'selection', 'device_count', 'filter');
    assert.deepEqual(rows.at(-1), { action: 'delete', selection: 'filter', device_count: 111, filter: 'q=lab-sw-99' });
  });

  it('ctl offers the same filters and bulk actions, with --dry-run changing nothing', async () => {
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/ctl.ts'), ...args], { cwd: ROOT, env: processEnv(tdb.url) }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }),
      );
    const site3 = Number((await tdb.db('devices').where({ site: 'site-3' }).count('* as n'))[0].n);
    const listed = await run('devices', '--site', 'site-3', '--protocol', 'gnmi');
    assert.equal(listed.code, 0, listed.out);
    const gnmiAtSite3 = Number((await tdb.db('devices').where({ site: 'site-3', protocol: 'gnmi' }).count('* as n'))[0].n);
    assert.ok(gnmiAtSite3 > 0 && gnmiAtSite3 <= site3);
    assert.match(listed.out, new RegExp(`^${gnmiAtSite3} devices match site=site-3 protocol=gnmi$`, 'm'));
    const dry = await run('disable', '--site', 'simulated', '--dry-run');
    assert.equal(dry.code, 0, dry.out);
    assert.match(dry.out, /dry run: disable would apply to 3 devices matching site=simulated; nothing changed/);
    assert.equal(Number((await tdb.db('devices').where({ site: 'simulated', enabled: true }).count('* as n'))[0].n), SIMS);
    const paused = await run('pause', '--site', 'simulated');
    assert.equal(paused.code, 0, paused.out);
    assert.match(paused.out, /pause: 3 of 3 done, 0 failed/);
    for (const id of simIds) assert.equal((await client.workflow.getHandle(deviceSessionWorkflowId(id)).query(statusQuery)).paused, true);
    const resumed = await run('resume', '--site', 'simulated', '--state', 'paused');
    assert.match(resumed.out, /resume: 3 of 3 done, 0 failed/);
    for (const id of simIds) assert.equal((await client.workflow.getHandle(deviceSessionWorkflowId(id)).query(statusQuery)).paused, false);
    const usage = await run('delete');
    assert.equal(usage.code, 2, 'a delete without a filter is a usage error');
    assert.deepEqual(
      (await tdb.db('bulk_actions').where('user_email', 'like', 'ctl:%').orderBy('id').select('action', 'device_count')).map((r) => [r.action, r.device_count]),
      [
        ['pause', 3],
        ['resume', 3],
      ],
    );
  });

  it('exports the filtered list as CSV the import reads back, without secrets; the sites view links to filtered lists', async () => {
    const res = await page.request.get(`${web.url}/devices/export.csv?site=simulated`);
    assert.equal(res.status(), 200);
    const csv = await res.text();
    assert.doesNotMatch(csv.split('\r\n')[0], /password/);
    const back = candidatesFromCsv(csv);
    assert.deepEqual(
      back.map((c) => [c.name, c.form?.host, c.form?.gnmi.tls, c.profileNames.length]),
      fleet.members.map((m) => [m.name, m.host, 'insecure', 1]),
    );
    assert.ok(back.every((c) => Object.keys(c.errors).length === 0 && Object.keys(c.form?.secrets ?? {}).length === 0));

    await page.goto(`${web.url}/sites`);
    // 500 at site-7 less the five lab-sw-99… devices deleted above.
    assert.match(await page.getByTestId('site-site-7').innerText(), /^site-7\s+495\s/);
    // The sessions were just reconfigured: wait until the site shows them streaming again.
    await waitFor(
      'the simulated site streaming again',
      async () => {
        await page.goto(`${web.url}/sites`);
        return (await page.getByTestId('site-simulated-streaming').count()) === 1;
      },
      30_000,
    );
    await page.getByTestId('site-simulated-streaming').click();
    await page.waitForURL(/site=simulated.*state=streaming/);
    await shot(page, 'sites');
  });
});
