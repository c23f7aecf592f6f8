/**
 * The alert rule editor in the browser (issue 18) over the real processes (control and
 * collector workers, web app, one simulated switch streaming in-octets every 250 ms):
 *  - a threshold rule made on the New rule page fires for the device (its workflow
 *    started at once), and `ctl devices --alerts firing` lists the device;
 *  - edited on its edit page: a change that keeps the condition true keeps the instance's
 *    state (the same episode, still one firing transition);
 *    a threshold change is applied by the workflow's next evaluation (the instance
 *    resolves); who changed it and when is listed on the page;
 *  - a wrong value comes back on the form with the values kept, without JavaScript too;
 *  - Preview replays the form's rule over the last 24 h without saving: the device's
 *    transitions and the notification count, and why the step is coarser than the interval;
 *    POST /api/alert-rules/preview answers the same as JSON (a session rule too);
 *  - Delete asks first, then the rule is gone, its deletion recorded and its workflow ends.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { alertRuleStatus } from '../../temporal/alert-client';
import { alertRuleWorkflowId } from '../../core/names';
import { startDeviceSession } from '../../temporal/fleet-client';
import { until } from '../../testkit/until';
import { signInPage } from '../../testkit/web-auth';
import { artifactsDir } from '../support/env';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { processEnv } from '../support/system';
import { IN_OCTETS, registerSimDevice, sampleCount, waitForState } from './session-support';
import { spreadAlertRuleIds } from '../support/db';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RULE = 'octets moving';

describe('web: alert rule editor — edit, preview, delete', function () {
  this.timeout(600_000);
  let stack: WebStack;
  let page: Page;
  let device: { id: number; name: string };
  let ruleId: number;

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_rule_editor',
      adminEmail: 'rule-editor@example.test',
      fleet: { gnmiCount: 1, netconfCount: 0, interfaces: 2, namePrefix: 'redit' },
      workers: {},
    });
    page = stack.page;
    const { tdb, client, fleet } = stack;
    await spreadAlertRuleIds(tdb.db);
    const row = await registerSimDevice(tdb.db, fleet.members[0]);
    device = { id: row.id, name: row.name };
    await startDeviceSession(client, row);
    await waitForState(client, device.id, 'streaming', 120_000);
    await until(`${device.name} to store samples`, async () => (await sampleCount(tdb.db, device.id)) > 20, 120_000, 250);
  });
  after(async () => stack?.stop());

  const status = () => alertRuleStatus(stack.client, ruleId);
  const instanceOf = async () => (await status())?.instances.find((i) => i.key === device.name);
  const firingTransitions = async () => Number((await stack.tdb.db('alert_transitions').where({ rule_id: ruleId, transition: 'firing' }).count('* as n'))[0].n);
  const editPage = () => `${stack.web.url}/alerts/rules/${ruleId}/edit`;

  /**
   * Press Preview on `p` until the replay shows the device firing: the preview evaluates
   * whole steps only, so the first samples count once their 30-second step has ended.
   */
  async function previewUntilFiring(p: Page) {
    await until(
      'the preview to show the device firing',
      async () => {
        // Each answer carries its end time (data-to): wait for a new one, never read the last answer again.
        const shown = p.getByTestId('rule-preview');
        const previous = (await shown.count()) > 0 ? await shown.getAttribute('data-to') : null;
        await p.getByTestId('rule-form').getByRole('button', { name: 'Preview' }).click();
        const answer = previous === null ? shown : p.locator(`[data-testid=rule-preview]:not([data-to="${previous}"])`);
        await answer.waitFor({ timeout: 60_000 });
        return (await answer.getByTestId(`rule-preview-${device.name}`).locator('[data-transition=firing]').count()) > 0;
      },
      120_000,
      2000,
    );
  }

  /** Fill the threshold fields of the rule form on `p`. */
  async function fillThreshold(p: Page, threshold: string) {
    const form = p.getByTestId('rule-form');
    await form.locator('[name=threshold]').fill(threshold);
  }

  it('creates a rule on the New rule page; its workflow fires for the device; ctl devices --alerts firing lists it', async () => {
    await page.goto(`${stack.web.url}/alerts/rules/new`);
    const form = page.getByTestId('rule-form');
    await form.locator('[name=name]').fill(RULE);
    await form.locator('[name=kind]').selectOption('threshold');
    await form.locator('[name=path]').fill(IN_OCTETS);
    await form.locator('[name=agg]').selectOption('max');
    await form.locator('[name=groupBy]').fill('device');
    await form.locator('[name=op]').selectOption('>');
    await fillThreshold(page, '0');
    await form.locator('[name=window]').fill('15s');
    await form.locator('[name=interval]').fill('1s');
    await Promise.all([page.waitForURL(`${stack.web.url}/alerts`), form.getByRole('button', { name: 'Save rule' }).click()]);
    assert.match(await page.getByTestId('flash').innerText(), new RegExp(`Rule ${RULE} created\\.`));
    ruleId = (await stack.tdb.db('alert_rules').where({ name: RULE }).first('id')).id;
    await until('the rule to fire for the device', async () => (await instanceOf())?.state === 'firing', 120_000, 250);

    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/ctl.ts'), 'devices', '--alerts', 'firing', '--json'], {
      cwd: ROOT,
      env: processEnv(stack.tdb.url),
    });
    assert.deepEqual(
      (JSON.parse(stdout.slice(0, stdout.lastIndexOf(']') + 1)) as Array<{ name: string }>).map((d) => d.name),
      [device.name],
    );
  });

  it('an edit that keeps the condition keeps the instance; a threshold change is used by the next evaluation; changes are listed', async () => {
    const before = (await instanceOf())!;
    await page.goto(`${stack.web.url}/alerts`);
    await page.getByTestId(`alerts-rule-${ruleId}`).getByRole('link', { name: RULE }).click();
    await page.waitForURL(editPage());
    const form = page.getByTestId('rule-form');
    assert.equal(await form.locator('[name=threshold]').inputValue(), '0', 'the form shows the stored rule');
    assert.equal(await form.locator('[name=interval]').inputValue(), '1s');
    await fillThreshold(page, '1');
    await form.locator('[name=severity]').selectOption('critical');
    await Promise.all([page.waitForURL(`${stack.web.url}/alerts`), form.getByRole('button', { name: 'Save rule' }).click()]);
    assert.match(await page.getByTestId('flash').innerText(), /saved \(version 2\); its workflow evaluates with it from now/);
    const s2 = (await status())!;
    assert.equal(s2.version, 2, 'the editRule update was acknowledged before the page answered');
    const kept = (await instanceOf())!;
    assert.equal(kept.state, 'firing');
    assert.equal(kept.firingSince, before.firingSince, 'the same episode: state kept across the edit');
    assert.equal(await firingTransitions(), 1, 'no second firing notification');

    await page.goto(editPage());
    await fillThreshold(page, '1e18');
    await Promise.all([page.waitForURL(`${stack.web.url}/alerts`), page.getByTestId('rule-form').getByRole('button', { name: 'Save rule' }).click()]);
    assert.equal((await status())!.version, 3);
    await until('the next evaluation to use the new threshold (the instance resolves)', async () => (await instanceOf())?.state === 'resolved', 60_000, 250);

    await page.goto(editPage());
    const changes = await page.getByTestId('rule-changes').innerText();
    assert.match(changes, /edited by rule-editor@example\.test \(version 3\)[\s\S]*edited by rule-editor@example\.test \(version 2\)[\s\S]*created by rule-editor@example\.test \(version 1\)/);
  });

  it('without JavaScript: a wrong value comes back on the form with the values kept, and Preview works as plain HTML', async () => {
    const ctx = await stack.browser.newContext({ javaScriptEnabled: false });
    try {
      const p = await ctx.newPage();
      await signInPage(p, stack.web.url, stack.admin);
      await p.goto(editPage());
      await fillThreshold(p, 'lots');
      await p.getByTestId('rule-form').locator('[name=recovery]').fill('7');
      await p.getByTestId('rule-form').getByRole('button', { name: 'Save rule' }).click();
      assert.match(await p.getByTestId('rule-errors').innerText(), /spec\.threshold: /);
      const form = p.getByTestId('rule-form');
      assert.equal(await form.locator('[name=threshold]').inputValue(), 'lots', 'the typed value is kept');
      assert.equal(await form.locator('[name=recovery]').inputValue(), '7');
      assert.equal(await form.locator('[name=name]').inputValue(), RULE);
      assert.equal(await form.locator('[name=severity]').inputValue(), 'critical');
      assert.equal((await status())!.version, 3, 'nothing saved');

      await fillThreshold(p, '0');
      await form.locator('[name=recovery]').fill('');
      await previewUntilFiring(p);
      assert.equal((await status())!.version, 3, 'a preview saves nothing');
    } finally {
      await ctx.close();
    }
  });

  it('Preview replays the form over the last 24 h without saving: transitions per instance, notifications, the coarser step named', async () => {
    await page.goto(editPage());
    await fillThreshold(page, '0');
    await previewUntilFiring(page);
    const summary = await page.getByTestId('rule-preview-summary').innerText();
    assert.match(summary, /every 30 s \(the rule evaluates every 1 s; coarser here: 86,400 evaluations would be too many to replay \(at most 2,880\)\)/);
    assert.match(summary, /over 1 series/);
    assert.match(summary, /[1-9]\d* notifications? would have been sent, by 1 instance/);
    assert.equal(await page.getByTestId('rule-form').locator('[name=threshold]').inputValue(), '0', 'the form keeps what was previewed');
    await page.screenshot({ path: path.join(artifactsDir(), 'web-alert-rule-preview.png'), fullPage: true });
    // The same replay as JSON.
    const spec = { kind: 'threshold', path: IN_OCTETS, agg: 'max', groupBy: 'device', op: '>', threshold: 0, windowMs: 15_000 };
    type Replay = { stepMs: number; coarser?: string; instances: Array<{ key: string; events: Array<{ to: string }> }> };
    let json: Replay | undefined;
    // At 1-minute steps the device fires once a whole minute of its samples has ended.
    await until(
      'the JSON preview to show the device firing',
      async () => {
        const api = await page.request.post(`${stack.web.url}/api/alert-rules/preview`, { data: { spec, intervalMs: 60_000 } });
        assert.equal(api.status(), 200, await api.text());
        json = (await api.json()) as Replay;
        return json.instances.some((i) => i.key === device.name && i.events.some((e) => e.to === 'firing'));
      },
      120_000,
      2000,
    );
    assert.equal(json!.stepMs, 60_000);
    assert.equal(json!.coarser, undefined, 'one evaluation a minute: the rule interval');
    // Absence and session rules are previewed too (test/e2e/web-alert-rule-preview-kinds.test.ts); here only the answer's kind.
    const session = await page.request.post(`${stack.web.url}/api/alert-rules/preview`, { data: { spec: { kind: 'session' } } });
    assert.equal(session.status(), 200, await session.text());
    assert.equal(((await session.json()) as { kind: string }).kind, 'session');
    const stored = await stack.tdb.db('alert_rules').where({ id: ruleId }).first('spec', 'version');
    assert.equal(stored.spec.threshold, 1e18, 'a preview saves nothing');
    assert.equal(stored.version, 3);
  });

  it('Delete asks first; then the rule is gone, its deletion recorded, and its workflow ends', async () => {
    await page.goto(editPage());
    await page.getByTestId('rule-delete').click();
    const panel = page.getByTestId('confirm-delete-panel');
    await panel.waitFor({ timeout: 30_000 });
    assert.match(await panel.innerText(), new RegExp(`Delete the rule ${RULE}\\?`));
    assert.ok(await stack.tdb.db('alert_rules').where({ id: ruleId }).first('id'), 'nothing deleted before the confirmation');
    await Promise.all([page.waitForURL(`${stack.web.url}/alerts`), page.getByTestId('confirm-delete').click()]);
    assert.match(await page.getByTestId('flash').innerText(), new RegExp(`Rule ${RULE} deleted; its workflow resolves what fires and ends\\.`));
    assert.equal(await stack.tdb.db('alert_rules').where({ id: ruleId }).first('id'), undefined);
    const deleted = await stack.tdb.db('alert_rule_events').where({ rule_name: RULE, kind: 'deleted' }).first();
    assert.equal(deleted.actor, 'rule-editor@example.test');
    assert.equal(deleted.rule_id, null);
    assert.equal(deleted.detail.ruleId, ruleId);
    const handle = stack.client.workflow.getHandle(alertRuleWorkflowId(ruleId));
    await until('the rule workflow to end', async () => (await handle.describe()).status.name === 'COMPLETED', 60_000, 250);
    assert.equal(await page.getByTestId(`alerts-rule-${ruleId}`).count(), 0, 'no longer listed');
  });
});
