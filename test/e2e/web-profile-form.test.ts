/**
 * The subscription-profile pages in Chromium (issue 21): they say what a profile is; the
 * form renders only the fields of its protocol, gNMI mode and NETCONF method, with
 * JavaScript (at once) and without (a round trip); every bad subscription line gets its
 * own error; NETCONF filters are refused when not well-formed XML or not XPath 1.0.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, type WebStack } from '../support/browser-rig';

describe('web: subscription profile form', function () {
  this.timeout(120_000);
  let stack: WebStack;
  let { tdb, web, admin, browser, page } = {} as WebStack; // filled in by before()

  before(async () => {
    stack = await startWebStack({ database: 'e2e_profile_form', adminEmail: 'profiles@example.test' });
    ({ tdb, web, admin, browser, page } = stack);
  });

  after(async () => {
    await stack?.stop();
  });

  /** Names of the form's inputs that belong to a protocol. */
  const shown = (p: Page) =>
    p.locator('form.profile-form [name^="gnmi."], form.profile-form [name^="netconf."]').evaluateAll((els) => els.map((e) => e.getAttribute('name')).sort());

  it('says what a profile is, and shows only the fields of the chosen protocol and method (JavaScript on)', async () => {
    await page.goto(`${web.url}/profiles`);
    assert.match(await page.getByTestId('profile-explained').innerText(), /^A subscription profile says what to collect from a device and how often/);
    await page.goto(`${web.url}/profiles/new`);
    assert.match(await page.getByTestId('profile-explained').innerText(), /subscription profile/);
    // Once hydrated, the no-JavaScript buttons go: the selects switch the fields by themselves.
    await page.getByTestId('show-fields').first().waitFor({ state: 'detached' });
    assert.deepEqual(await shown(page), ['gnmi.encoding', 'gnmi.mode', 'gnmi.origin', 'gnmi.prefix', 'gnmi.subscriptions', 'gnmi.updatesOnly']);
    await page.locator('[name="gnmi.mode"]').selectOption('poll');
    assert.ok((await shown(page)).includes('gnmi.pollInterval'));
    await page.locator('[name=protocol]').selectOption('netconf');
    assert.deepEqual(await shown(page), ['netconf.filter', 'netconf.filterType', 'netconf.method', 'netconf.period', 'netconf.select']);
    await page.locator('[name="netconf.method"]').selectOption('yang-push-on-change');
    assert.deepEqual(await shown(page), ['netconf.dampening', 'netconf.filter', 'netconf.filterType', 'netconf.method', 'netconf.select']);
    await page.locator('[name="netconf.method"]').selectOption('notifications');
    assert.deepEqual(await shown(page), ['netconf.filter', 'netconf.filterType', 'netconf.method', 'netconf.select', 'netconf.stream']);
  });

  it('every bad subscription line has its own error; a bad subtree filter and a bad XPath are refused with field errors', async () => {
    await page.goto(`${web.url}/profiles/new`);
    await page.getByTestId('show-fields').first().waitFor({ state: 'detached' });
    await page.locator('[name=name]').fill('lines');
    await page.locator('[name="gnmi.subscriptions"]').fill('/ok sample 1s\nno-slash\n/b fast\n/d warp');
    await page.getByRole('button', { name: 'Create profile' }).click();
    const items = page.getByTestId('error-gnmi.subscriptions').locator('li');
    await items.first().waitFor();
    assert.deepEqual((await items.allInnerTexts()).map((t) => t.replace(/:.*/, '')), ['Line 2', 'Line 3', 'Line 4']);

    await page.locator('[name=protocol]').selectOption('netconf');
    await page.locator('[name="netconf.filter"]').fill('<interfaces><interface>');
    await page.getByRole('button', { name: 'Create profile' }).click();
    await page.waitForFunction(() => /not well-formed XML/.test(document.querySelector('[data-testid="error-netconf.filter"]')?.textContent ?? ''));
    await page.locator('[name="netconf.filterType"]').selectOption('xpath');
    await page.locator('[name="netconf.filter"]').fill("/interfaces/interface[name='eth0'");
    await page.getByRole('button', { name: 'Create profile' }).click();
    await page.waitForFunction(() => /^Not an XPath 1.0 expression: expected '\]'/.test(document.querySelector('[data-testid="error-netconf.filter"]')?.textContent ?? ''));
    await page.locator('[name="netconf.filter"]').fill("/interfaces/interface[name='eth0']");
    await Promise.all([page.waitForURL(/\/profiles\/\d+$/), page.getByRole('button', { name: 'Create profile' }).click()]);
    const row = await tdb.db('subscription_profiles').where({ name: 'lines' }).first();
    assert.equal(row.protocol, 'netconf');
    assert.equal(row.spec.filterType, 'xpath');
  });

  it('without JavaScript, a round trip shows the fields of the chosen protocol and method', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
    try {
      const p = await ctx.newPage();
      await p.goto(`${web.url}/login`);
      await p.getByLabel('Email').fill(admin.email);
      await p.getByLabel('Password').fill(admin.password);
      await Promise.all([p.waitForURL((u) => !u.pathname.startsWith('/login')), p.getByRole('button', { name: 'Sign in' }).click()]);
      await p.goto(`${web.url}/profiles/new`);
      await p.locator('[name=name]').fill('nojs-profile');
      await p.locator('[name=protocol]').selectOption('netconf');
      await Promise.all([p.waitForLoadState('load'), p.getByTestId('show-fields').first().click()]);
      await p.locator('[name="netconf.method"]').waitFor();
      assert.deepEqual(await shown(p), ['netconf.filter', 'netconf.filterType', 'netconf.method', 'netconf.period', 'netconf.select']);
      await p.locator('[name="netconf.method"]').selectOption('notifications');
      await Promise.all([p.waitForLoadState('load'), p.getByTestId('show-fields').first().click()]);
      await p.locator('[name="netconf.stream"]').waitFor();
      assert.deepEqual(await shown(p), ['netconf.filter', 'netconf.filterType', 'netconf.method', 'netconf.select', 'netconf.stream']);
      assert.equal(await p.locator('[name=name]').inputValue(), 'nojs-profile');
      assert.equal(await tdb.db('subscription_profiles').where({ name: 'nojs-profile' }).first(), undefined, 'nothing saved');
    } finally {
      await ctx.close();
    }
  });
});
