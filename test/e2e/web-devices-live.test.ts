/**
 * The devices list follows the fleet without a reload (issue 21: it "never refreshes"): a
 * device added meanwhile appears, and one deleted disappears, in the open page — the
 * document is the same (no navigation), a ticked row stays ticked; the health strip's counts
 * per state follow too.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, type WebStack } from '../support/browser-rig';

describe('web: the devices list updates itself', function () {
  this.timeout(120_000);
  let stack: WebStack;
  let tdb: WebStack['tdb'];
  let web: WebStack['web'];
  let page: Page;

  before(async () => {
    stack = await startWebStack({ database: 'e2e_devices_live', adminEmail: 'live-list@example.test' });
    ({ tdb, web, page } = stack);
    await tdb.db('devices').insert([
      { name: 'live-1', protocol: 'gnmi', host: '10.7.0.1', port: 1, enabled: false },
      { name: 'live-2', protocol: 'gnmi', host: '10.7.0.2', port: 1, enabled: false },
    ]);
  });

  after(async () => stack?.stop());

  /** The health strip's count of one state. */
  const stripCount = async (p: Page, state: string) => Number((await p.getByTestId(`strip-${state}`).locator('strong').innerText()).replace(/,/g, ''));

  const names = (p: Page) =>
    p.locator('[data-testid=device-row] td a[href^="/devices/"]').evaluateAll((as) => as.map((a) => a.textContent?.trim()).filter((t) => t?.startsWith('live-')));

  it('a device added and one deleted show in the open page without a reload, and the health strip counts follow', async () => {
    await page.goto(`${web.url}/devices`);
    assert.deepEqual(await names(page), ['live-1', 'live-2']);
    const [disabled, notStarted] = [await stripCount(page, 'disabled'), await stripCount(page, 'not-started')];
    // A mark on the document: a reload or navigation would lose it.
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const tick = page.locator('[data-testid=device-row]', { hasText: 'live-1' }).locator('input[type=checkbox]');
    await tick.check();

    // What the page asks its loader meanwhile (said when the rows do not follow).
    const loads: string[] = [];
    page.on('response', (res) => {
      if (res.url().includes('/devices.data')) loads.push(`${res.status()} at ${new Date().toISOString().slice(11, 19)}`);
    });
    // Enabled, with no session (no workers here): "not started" in the strip; the deleted one was "disabled".
    await tdb.db('devices').insert({ name: 'live-3', protocol: 'netconf', host: '10.7.0.3', port: 830, enabled: true });
    await tdb.db('devices').where({ name: 'live-2' }).delete();
    await page
      .waitForFunction(
        () => {
          const shown = [...document.querySelectorAll('[data-testid=device-row] td a[href^="/devices/"]')].map((a) => a.textContent?.trim());
          return shown.includes('live-3') && !shown.includes('live-2');
        },
        null,
        { timeout: 60_000 },
      )
      .catch(async (err: Error) => {
        throw new Error(`${err.message}; rows shown: ${(await names(page)).join(', ')}; loader requests: ${loads.join(', ') || 'none'}`);
      });
    assert.deepEqual(await names(page), ['live-1', 'live-3']);
    assert.match(await page.getByTestId('range').innerText(), /\b2 devices\b/);
    assert.deepEqual([await stripCount(page, 'disabled'), await stripCount(page, 'not-started')], [disabled - 1, notStarted + 1], 'the health strip follows without a reload');
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'the same document: no reload');
    assert.equal(await tick.isChecked(), true, 'a ticked row stays ticked');
  });
});
