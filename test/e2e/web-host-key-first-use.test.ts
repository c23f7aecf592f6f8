/**
 * NETCONF host key trust on first use from Test connection (issue 21, ADR 127), in
 * Chromium over the real workers, Temporal and a simulated NETCONF server: with no pinned
 * key the probe shows the presented fingerprint and refuses to go further; an explicit
 * click pins it and is recorded as an event (who, which key, how); the session then
 * connects with it; a changed key is refused with both fingerprints shown, never offered
 * for pinning, and a forged pin request is refused and recorded.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { getDevice, type DeviceRow } from '../../storage/devices';
import { deviceEvents, pinHostKeyOnFirstUse } from '../../storage/device-events';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { registerSimNetconfDevice, waitForState } from './session-support';

/** A well-formed fingerprint no simulator presents. */
const OTHER_KEY = `SHA256:${'Q'.repeat(43)}`;

describe('web: NETCONF host key trusted on first use from Test connection', function () {
  this.timeout(240_000);
  let stack: WebStack;
  let tdb: WebStack['tdb'];
  let web: WebStack['web'];
  let page: Page;
  let admin: WebStack['admin'];
  let client: NonNullable<WebStack['client']>;
  let device: DeviceRow;
  let presented: string;

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_host_key_tofu',
      adminEmail: 'tofu@example.test',
      fleet: { gnmiCount: 0, netconfCount: 1, interfaces: 2, namePrefix: 'tofu' },
      workers: {},
      // The probe's own deadline (8 s by default) is not under test here; a loaded CI machine
      // once spent it before the SSH handshake finished, and the page then had no key to show.
      webEnv: { WEB_PROBE_TIMEOUT_MS: '45000' },
    });
    ({ tdb, web, page, admin } = stack);
    client = stack.client!;
    const fleet = stack.fleet!;
    const sim = fleet.members[0];
    presented = sim.hostKeySha256!;
    // No key pinned: the test pins it from Test connection.
    device = await registerSimNetconfDevice(tdb.db, sim, {});
  });

  after(async () => stack?.stop());

  /** Press Test connection and wait for its (new) result; returns the result's text. */
  async function testConnection(p: Page): Promise<string> {
    const before = (await p.getByTestId('probe-result').count()) ? await p.getByTestId('probe-result').innerText() : '';
    await Promise.all([p.waitForResponse((res) => res.request().method() === 'POST', { timeout: 60_000 }), p.getByRole('button', { name: 'Test connection' }).click()]);
    await p.waitForFunction(
      (old) => {
        const el = document.querySelector('[data-testid=probe-result]') as HTMLElement | null;
        return el !== null && el.innerText !== old;
      },
      before,
      { timeout: 60_000 },
    );
    return p.getByTestId('probe-result').innerText();
  }

  it('shows the presented key when none is pinned; a click pins it, recorded; the session then streams with it', async () => {
    await page.goto(`${web.url}/devices/${device.id}/edit`);
    const first = await testConnection(page);
    assert.equal(await page.getByTestId('probe-result').getAttribute('data-ok'), 'no', first);
    assert.equal(await page.getByTestId('probe-host-key').count(), 1, `the probe reports the host key: ${first}`);
    assert.equal(await page.getByTestId('probe-host-key').getAttribute('data-status'), 'unknown', first);
    assert.equal(await page.getByTestId('probe-host-key-presented').innerText(), presented, 'the fingerprint the device presented');
    assert.match(first, /HOST_KEY_UNKNOWN/, 'the probe went no further than the host key');
    assert.equal((await getDevice(tdb.db, device.id))?.settings.netconf?.hostKeySha256, undefined, 'showing the key pinned nothing');

    await Promise.all([page.waitForURL(`${web.url}/devices/${device.id}/edit`), page.getByTestId('pin-host-key').click()]);
    await page.getByText(`Pinned the SSH host key ${presented}`).waitFor({ timeout: 30_000 });
    assert.equal((await getDevice(tdb.db, device.id))?.settings.netconf?.hostKeySha256, presented, 'pinned');
    const events = await deviceEvents(tdb.db, device.id);
    assert.deepEqual(
      events.map((e) => [e.kind, e.actor, e.detail]),
      [['host-key-pinned', admin.email, { fingerprint: presented, via: 'test connection' }]],
    );
    assert.equal(await page.locator('[name="netconf.hostKeySha256"]').inputValue(), presented, 'the form shows the pinned key');

    // The pinned key is now used: the probe gets through to a sample, and the session (started by the pin) streams.
    const second = await testConnection(page);
    assert.equal(await page.getByTestId('probe-host-key').count(), 1, `the probe reports the host key: ${second}`);
    assert.equal(await page.getByTestId('probe-host-key').getAttribute('data-status'), 'pinned', second);
    assert.equal(await page.getByTestId('probe-result').getAttribute('data-ok'), 'yes', second);
    await waitForState(client, device.id, 'streaming', 90_000);

    await page.goto(`${web.url}/devices/${device.id}`);
    assert.match(
      await page.getByTestId('host-key-events').innerText(),
      new RegExp(`host key pinned by ${admin.email.replace('.', '\\.')} ${presented.replace(/[+/]/g, '\\$&')} \\(test connection\\)`),
    );
  });

  it('a changed key is refused with both fingerprints and no pin button; a forged pin is refused and recorded', async () => {
    await tdb.pool.query(`UPDATE devices SET settings = jsonb_set(settings, '{netconf,hostKeySha256}', to_jsonb($2::text)) WHERE id = $1`, [device.id, OTHER_KEY]);
    await page.goto(`${web.url}/devices/${device.id}/edit`);
    const text = await testConnection(page);
    assert.equal(await page.getByTestId('probe-result').getAttribute('data-ok'), 'no', text);
    assert.equal(await page.getByTestId('probe-host-key').count(), 1, `the probe reports the host key: ${text}`);
    assert.equal(await page.getByTestId('probe-host-key').getAttribute('data-status'), 'changed', text);
    assert.equal(await page.getByTestId('probe-host-key-pinned').innerText(), OTHER_KEY);
    assert.equal(await page.getByTestId('probe-host-key-presented').innerText(), presented);
    assert.equal(await page.getByTestId('pin-host-key').count(), 0, 'a changed key is never offered for pinning');

    // The same decision where the pin is stored: a different pinned key is never replaced by a first-use pin.
    assert.deepEqual(await pinHostKeyOnFirstUse(tdb.db, device.id, presented, admin.email, 'test connection'), { outcome: 'refused', pinned: OTHER_KEY });
    assert.equal((await getDevice(tdb.db, device.id))?.settings.netconf?.hostKeySha256, OTHER_KEY);
    assert.equal((await deviceEvents(tdb.db, device.id))[0].kind, 'host-key-refused');
  });
});
