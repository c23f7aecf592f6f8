/**
 * Test connection on the device form (issue 21, ADR 091) in Chromium, over the real
 * workers and Temporal: against a simulated gNMI target it shows the Capabilities
 * answer and one sample, within seconds, and stores nothing (no device, no series, no
 * samples); the typed password never appears in clear in the probe's workflow history;
 * a saved device's blank password uses the stored one; an unreachable port gives a
 * clear error within seconds. The form renders only the chosen protocol's fields and
 * profiles, with JavaScript (switching at once) and without (a server round trip).
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { freePort, waitFor } from '../../scripts/infra/proc';
import { WORKFLOW_TYPES } from '../../core/names';
import { DEFAULT_NETCONF_PROFILE } from '../../core/default-profiles';
import { createDevice } from '../../storage/devices';
import { ensureProfile } from '../../storage/profiles';
import { parseKeyring } from '../../storage/secrets';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { TEST_SECRETS_KEY } from '../support/system';
import { FAST_PROFILE, sampleCount } from './session-support';

/** The simulated target accepts only this password: a probe that works has used it. */
const PASSWORD = 'probe-Secret-7351';

describe('web: test connection on the device form', function () {
  this.timeout(180_000);
  let stack: WebStack;
  let { tdb, fleet, workers, client, web, admin, browser, page } = {} as WebStack; // filled in by before()
  let profileId: number;

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_test_connection',
      adminEmail: 'probe@example.test',
      fleet: { gnmiCount: 1, interfaces: 2, namePrefix: 'probe', password: PASSWORD },
      workers: {},
    });
    ({ tdb, fleet, workers, client, web, admin, browser, page } = stack);
    profileId = await ensureProfile(tdb.db, 'gnmi', FAST_PROFILE);
    await ensureProfile(tdb.db, 'netconf', DEFAULT_NETCONF_PROFILE);
  });

  after(async () => {
    await stack?.stop();
  });

  /** Choose exactly the fast profile among the checkboxes. */
  async function chooseFastProfile(p: Page): Promise<void> {
    for (const box of await p.locator('[name=profileIds]').all()) {
      if ((await box.getAttribute('value')) === String(profileId)) await box.check();
      else await box.uncheck();
    }
  }

  /** Press Test connection; the result block and the wall time it took. */
  async function test(p: Page): Promise<{ ok: string | null; text: string; ms: number }> {
    const before = (await p.getByTestId('probe-result').count()) ? await p.getByTestId('probe-result').innerText() : '';
    const t0 = Date.now();
    await Promise.all([
      p.waitForResponse((res) => res.request().method() === 'POST', { timeout: 30_000 }),
      p.getByRole('button', { name: 'Test connection' }).click(),
    ]);
    // A previous result stays until the new one renders: wait for a different one.
    await p.waitForFunction((old) => {
      const el = document.querySelector('[data-testid=probe-result]') as HTMLElement | null;
      return el !== null && el.innerText !== old;
    }, before, { timeout: 10_000 });
    const result = p.getByTestId('probe-result');
    return { ok: await result.getAttribute('data-ok'), text: await result.innerText(), ms: Date.now() - t0 };
  }

  it('a new device with a typed password: Capabilities and one sample, nothing stored, no clear secret in Temporal', async () => {
    const sim = fleet.members[0];
    await page.goto(`${web.url}/devices/new`);
    await page.locator('[name=name]').fill('probe-new');
    await page.locator('[name=host]').fill(sim.host);
    await page.locator('[name=port]').fill(String(sim.port));
    await page.locator('[name=username]').fill('admin');
    await page.locator('[name="secrets.password"]').fill(PASSWORD);
    await page.locator('[name="gnmi.tls"]').selectOption('insecure');
    await page.getByLabel('Send credentials over plaintext (lab only)').check();
    await chooseFastProfile(page);
    const r = await test(page);
    assert.equal(r.ok, 'yes', r.text);
    assert.match(await page.getByTestId('probe-connected').innerText(), /^gNMI .* over /);
    assert.match(await page.getByTestId('probe-sample').innerText(), /^\/interfaces\/interface\[name=[^\]]+\]\/state\/counters\/in-octets = \d+ at \d{4}-\d\d-\d\d /);
    assert.ok(r.ms < 10_000, `answered in ${r.ms} ms`);
    // Still on the form, and nothing was stored.
    assert.match(new URL(page.url()).pathname, /^\/devices\/new$/);
    const counts = await tdb.db.raw<{ rows: Array<{ devices: number; series: number; samples: number }> }>(
      'SELECT (SELECT count(*)::int FROM devices) AS devices, (SELECT count(*)::int FROM series) AS series, (SELECT count(*)::int FROM samples) AS samples',
    );
    assert.deepEqual(counts.rows[0], { devices: 0, series: 0, samples: 0 });
    // The probe's history holds the sealed secrets, never the password itself.
    let history = '';
    await waitFor('the probe workflow in visibility', async () => {
      for await (const wf of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPES.deviceProbe}'` })) {
        history = JSON.stringify(await client.workflow.getHandle(wf.workflowId).fetchHistory());
        return true;
      }
      return false;
    }, 20_000);
    assert.ok(history.length > 1000, 'history fetched');
    assert.ok(!history.includes(PASSWORD) && !history.includes(Buffer.from(PASSWORD).toString('base64')), 'the typed password is not in the workflow history');
  });

  /** Which protocol's inputs the form has right now. */
  async function fieldsShown(p: Page) {
    const n = (sel: string) => p.locator(sel).count();
    const profiles = await p.locator('[name=profileIds]').evaluateAll((els) => els.map((e) => e.parentElement?.textContent ?? ''));
    return {
      gnmi: (await n('[name="gnmi.tls"]')) + (await n('[name="secrets.clientKey"]')),
      netconf: (await n('[name="netconf.hostKeySha256"]')) + (await n('[name="secrets.privateKey"]')) + (await n('[name="secrets.passphrase"]')),
      profiles: [...new Set(profiles.map((t) => /\((gnmi|netconf)\)/.exec(t)?.[1]))].sort(),
    };
  }

  it('the device form shows only the fields and profiles of its protocol, with JavaScript on and off', async () => {
    await page.goto(`${web.url}/devices/new`);
    assert.deepEqual(await fieldsShown(page), { gnmi: 2, netconf: 0, profiles: ['gnmi'] });
    // Once hydrated, the no-JavaScript button goes: the select switches by itself.
    await page.getByTestId('show-protocol-fields').waitFor({ state: 'detached' });
    await page.locator('[name=protocol]').selectOption('netconf');
    assert.deepEqual(await fieldsShown(page), { gnmi: 0, netconf: 3, profiles: ['netconf'] });

    const nojs = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
    try {
      const p = await nojs.newPage();
      await p.goto(`${web.url}/login`);
      await p.getByLabel('Email').fill(admin.email);
      await p.getByLabel('Password').fill(admin.password);
      await Promise.all([p.waitForURL((u) => !u.pathname.startsWith('/login')), p.getByRole('button', { name: 'Sign in' }).click()]);
      await p.goto(`${web.url}/devices/new`);
      assert.deepEqual(await fieldsShown(p), { gnmi: 2, netconf: 0, profiles: ['gnmi'] });
      await p.locator('[name=name]').fill('nojs-netconf');
      await p.locator('[name=protocol]').selectOption('netconf');
      await Promise.all([p.waitForLoadState('load'), p.getByTestId('show-protocol-fields').click()]);
      await p.locator('[name="netconf.hostKeySha256"]').waitFor();
      assert.deepEqual(await fieldsShown(p), { gnmi: 0, netconf: 3, profiles: ['netconf'] });
      assert.equal(await p.locator('[name=name]').inputValue(), 'nojs-netconf', 'what was typed is kept');
      assert.equal(await p.locator('[name=protocol]').inputValue(), 'netconf');
      assert.equal(await tdb.db('devices').where({ name: 'nojs-netconf' }).first(), undefined, 'switching saves nothing');
    } finally {
      await nojs.close();
    }
  });

  it('a saved device: blank password uses the stored one; an unreachable port fails clearly within seconds', async () => {
    const sim = fleet.members[0];
    const device = await createDevice(tdb.db, parseKeyring(TEST_SECRETS_KEY), {
      name: 'probe-saved',
      protocol: 'gnmi',
      host: sim.host,
      port: sim.port,
      username: 'admin',
      site: 'lab',
      enabled: false,
      settings: { gnmi: { tls: 'insecure', allowPlaintextCredentials: true } },
      secrets: { password: PASSWORD },
      profileIds: [profileId],
    });
    await page.goto(`${web.url}/devices/${device.id}/edit`);
    const ok = await test(page);
    assert.equal(ok.ok, 'yes', ok.text);
    assert.equal(await sampleCount(tdb.db, device.id), 0, 'the probe stored no samples');

    const closed = await freePort(); // nothing listens here
    await page.locator('[name=port]').fill(String(closed));
    const failed = await test(page);
    assert.equal(failed.ok, 'no', failed.text);
    assert.match(await page.getByTestId('probe-error').innerText(), /UNAVAILABLE|refused|No answer within/);
    assert.ok(failed.ms < 15_000, `failed in ${failed.ms} ms`);
    // The stored device is unchanged (the test did not save the port).
    assert.equal((await tdb.db('devices').where({ id: device.id }).first('port')).port, sim.port);
  });
});
