/**
 * The devices list follows the fleet without a reload (issue 21: it "never refreshes"): a
 * device added meanwhile appears, and one deleted disappears, in the open page — the
 * document is the same (no navigation), a ticked row stays ticked.
 */
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../scripts/infra/chromium';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { chromiumPath } from '../support/env';
import { startWeb } from '../support/system';
import { createTestUser, signInPage, type TestUser } from '../../testkit/web-auth';

describe('web: the devices list updates itself', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;
  let web: Awaited<ReturnType<typeof startWeb>>;
  let browser: Browser;
  let page: Page;
  let admin: TestUser;

  before(async () => {
    tdb = await createTestDatabase('e2e_devices_live');
    web = await startWeb(tdb.url);
    admin = await createTestUser(tdb.db, 'admin', 'live-list@example.test');
    await tdb.db('devices').insert([
      { name: 'live-1', protocol: 'gnmi', host: '10.7.0.1', port: 1, enabled: false },
      { name: 'live-2', protocol: 'gnmi', host: '10.7.0.2', port: 1, enabled: false },
    ]);
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signInPage(page, web.url, admin);
  });

  after(async () => {
    await browser?.close();
    await web?.stop();
    await tdb?.drop();
  });

  const names = (p: Page) =>
    p.locator('[data-testid=device-row] td a[href^="/devices/"]').evaluateAll((as) => as.map((a) => a.textContent?.trim()).filter((t) => t?.startsWith('live-')));

  it('a device added and one deleted show in the open page without a reload', async () => {
    await page.goto(`${web.url}/devices`);
    assert.deepEqual(await names(page), ['live-1', 'live-2']);
    // A mark on the document: a reload or navigation would lose it.
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const tick = page.locator('[data-testid=device-row]', { hasText: 'live-1' }).locator('input[type=checkbox]');
    await tick.check();

    await tdb.db('devices').insert({ name: 'live-3', protocol: 'netconf', host: '10.7.0.3', port: 830, enabled: false });
    await tdb.db('devices').where({ name: 'live-2' }).delete();
    await page.waitForFunction(
      () => {
        const shown = [...document.querySelectorAll('[data-testid=device-row] td a[href^="/devices/"]')].map((a) => a.textContent?.trim());
        return shown.includes('live-3') && !shown.includes('live-2');
      },
      null,
      { timeout: 45_000 },
    );
    assert.deepEqual(await names(page), ['live-1', 'live-3']);
    assert.match(await page.getByTestId('range').innerText(), /\b2 devices\b/);
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'the same document: no reload');
    assert.equal(await tick.isChecked(), true, 'a ticked row stays ticked');
  });
});
