/**
 * The rule editor's 24 h preview of absence and session rules in the browser (issue 18), over
 * the web app and a database seeded with history (no workers needed: a preview reads only
 * what is stored):
 *  - absence: a day of 1-minute CPU samples on two devices, one with a 30-minute hole 2 h ago;
 *    "silent for 10m" previews the gappy device firing and resolving once (two notifications)
 *    and the steady one never leaving inactive;
 *  - session: a device's mirrored session state (device_session_state, its changes recorded
 *    by the trigger) parked in auth-failed for an hour 5 h ago; the default session rule
 *    previews it firing and resolving, and the summary says it read the recorded states.
 * Nothing is saved by either preview.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { runMaintenance } from '../../storage/storage-mode';
import { artifactsDir } from '../support/env';
import { startWebStack, type WebStack } from '../support/browser-rig';

const MIN = 60_000;
const HOUR = 60 * MIN;
const CPU = '/system/cpu/state/utilization';

describe('web: alert rule preview of absence and session rules', function () {
  this.timeout(300_000);
  let stack: WebStack;
  let page: Page;

  before(async () => {
    stack = await startWebStack({ database: 'e2e_rule_preview_kinds', adminEmail: 'rule-preview@example.test' });
    page = stack.page;
    const { db, pool } = stack.tdb;
    const now = Date.now();
    const devices = await db('devices')
      .insert(['pke-gappy', 'pke-steady', 'pke-parked'].map((name, i) => ({ name, protocol: 'gnmi', host: `10.8.0.${i + 1}`, port: 9, enabled: false })))
      .returning(['id', 'name']);
    const id = (name: string) => devices.find((d: { name: string }) => d.name === name)!.id as number;
    const times: number[] = [];
    const series: number[] = [];
    for (const name of ['pke-gappy', 'pke-steady']) {
      const [s] = await db('series').insert({ device_id: id(name), path: CPU, kind: 'number' }).returning('id');
      // One sample a minute for 25 h up to a minute ago; the gappy device none from 150 to 120 minutes ago.
      for (let k = 25 * 60; k >= 1; k--) {
        if (name === 'pke-gappy' && k <= 150 && k > 120) continue;
        times.push(now - k * MIN);
        series.push(Number(s.id));
      }
    }
    await pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000), s, 30 FROM unnest($1::float8[], $2::bigint[]) AS u(t, s)`, [times, series]);
    await runMaintenance(db, { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 2, lateSpanPerRunMs: 48 * HOUR });
    // The mirror as its writers write it, each change with its own updated_at (the trigger records them).
    const set = (state: string, at: number) =>
      db.raw(
        `INSERT INTO device_session_state (device_id, state, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
        [id('pke-parked'), state, new Date(at)],
      );
    await set('streaming', now - 30 * HOUR);
    await set('auth-failed', now - 5 * HOUR);
    await set('streaming', now - 4 * HOUR);
  });
  after(async () => stack?.stop());

  /** Press Preview and wait for this press's answer (each answer carries its end time, data-to). */
  async function preview(): Promise<void> {
    const shown = page.getByTestId('rule-preview');
    const previous = (await shown.count()) > 0 ? await shown.getAttribute('data-to') : null;
    await page.getByTestId('rule-form').getByRole('button', { name: 'Preview' }).click();
    const answer = previous === null ? shown : page.locator(`[data-testid=rule-preview]:not([data-to="${previous}"])`);
    await answer.waitFor({ timeout: 90_000 });
  }

  /** The transitions listed for one instance of the preview. */
  const transitions = (key: string) => page.getByTestId(`rule-preview-${key}`).locator('[data-transition]').evaluateAll((els) => els.map((e) => e.getAttribute('data-transition')));

  it('absence: the device silent for 30 minutes fires once 10 minutes in and resolves when it stores again', async () => {
    await page.goto(`${stack.web.url}/alerts/rules/new`);
    const form = page.getByTestId('rule-form');
    await form.locator('[name=name]').fill('cpu silent');
    await form.locator('[name=kind]').selectOption('absence');
    await form.locator('[name=absencePath]').fill(CPU);
    await form.locator('[name=silentFor]').fill('10m');
    await form.locator('[name=interval]').fill('1m');
    await preview();
    assert.deepEqual(await transitions('pke-gappy'), ['firing', 'resolved']);
    assert.equal(await page.getByTestId('rule-preview-pke-steady').count(), 0, 'the steady device is not listed');
    const summary = await page.getByTestId('rule-preview-summary').innerText();
    assert.match(summary, /Evaluated 1,440 times, every 1 min, over 2 series/);
    assert.match(summary, /2 notifications would have been sent, by 1 instance; 1 instance never left inactive/);
    await page.screenshot({ path: path.join(artifactsDir(), 'web-alert-rule-preview-absence.png'), fullPage: true });
  });

  it('session: the device parked in auth-failed for an hour fires and resolves, read from the recorded session states', async () => {
    await page.goto(`${stack.web.url}/alerts/rules/new`);
    const form = page.getByTestId('rule-form');
    await form.locator('[name=name]').fill('parked');
    await form.locator('[name=kind]').selectOption('session');
    await form.locator('[name=interval]').fill('1m');
    await preview();
    assert.deepEqual(await transitions('pke-parked'), ['firing', 'resolved']);
    const summary = await page.getByTestId('rule-preview-summary').innerText();
    assert.match(summary, /over the recorded session states of the devices/);
    assert.match(summary, /2 notifications would have been sent, by 1 instance/);
    assert.equal(await page.getByTestId('rule-preview-caveat').count(), 0, 'the record reaches back past the 24 h');
    assert.equal(Number((await stack.tdb.db('alert_rules').count('* as n'))[0].n), 0, 'a preview saves nothing');
    await page.screenshot({ path: path.join(artifactsDir(), 'web-alert-rule-preview-session.png'), fullPage: true });
  });
});
