/**
 * `ctl rules` (scripts/ctl-rules.ts) against the real Temporal server and PostgreSQL, with an
 * in-process control worker running the rule workflows:
 *  - create from JSON: the rule is stored, its creation recorded with the actor, its workflow
 *    started at once and firing for the parked device;
 *  - invalid JSON, an invalid rule (each problem named), a taken name: exit 2, nothing stored;
 *    an unknown rule: exit 3;
 *  - edit by flags and spec fields: a new version the workflow acknowledged before ctl
 *    answered, the instance and its episode kept; list and show (--json) with the changes;
 *  - preview of the stored rule: the replay over the recorded session states;
 *  - delete: the rule gone, the deletion recorded, the workflow resolves and ends.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createAlertActivities } from '../../activities/alerts';
import { TASK_QUEUES, alertRuleWorkflowId } from '../../core/names';
import { alertRuleEvents, getAlertRule, listAlertRules } from '../../storage/alerts';
import { parseKeyring } from '../../storage/secrets';
import { alertRuleStatus } from '../../temporal/alert-client';
import { runRulesCommand, type RulesDeps } from '../../scripts/ctl-rules';
import { until } from '../../testkit/until';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { TEST_SECRETS_KEY } from '../support/system';
import { openTestNamespace, type TestNamespace } from '../support/temporal-namespace';

const MIN = 60_000;

describe('ctl rules: create, edit, show, preview, delete', function () {
  this.timeout(300_000);
  const namespace = `ctl-rules-${crypto.randomBytes(3).toString('hex')}`;
  let tdb: TestDatabase;
  let ns: TestNamespace;
  let bundle: WorkflowBundleWithSourceMap;
  let deps: RulesDeps;

  before(async function () {
    this.timeout(180_000);
    tdb = await createTestDatabase('ctl_rules');
    ns = await openTestNamespace(namespace);
    bundle = await bundleWorkflowCode({ workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
    const [device] = await tdb.db('devices').insert({ name: 'leaf-ctl', protocol: 'gnmi', host: '127.0.0.1', port: 1, enabled: false }).returning('id');
    // Parked in auth-failed for 10 minutes (the mirror's row; its trigger records the change for previews).
    await tdb.db('device_session_state').insert({ device_id: device.id, state: 'auth-failed', updated_at: new Date(Date.now() - 10 * MIN) });
    deps = { db: tdb.db, client: ns.client, pool: () => tdb.pool };
  });

  after(async () => {
    await ns?.connection.close();
    await ns?.clientConnection.close();
    await tdb?.drop();
  });

  /** Run one command; its exit code and what it printed (stdout, stderr). */
  const ctl = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRulesCommand(deps, argv, (s) => out.push(s), (s) => err.push(s));
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('manages a rule from JSON through its workflow, recording who changed what', async () => {
    const worker = await Worker.create({
      connection: ns.connection,
      namespace,
      taskQueue: TASK_QUEUES.control,
      workflowBundle: bundle,
      activities: createAlertActivities({ db: tdb.db, pool: tdb.pool, ring: parseKeyring(TEST_SECRETS_KEY), client: ns.client }),
    });
    await worker.runUntil(async () => {
      const created = await ctl('create', '--rule', JSON.stringify({ name: 'creds', spec: { kind: 'session', states: ['auth-failed'] }, intervalMs: 1000 }), '--by', 'oncall', '--json');
      assert.equal(created.code, 0, created.err);
      const ruleId = (JSON.parse(created.out) as { rule: { id: number } }).rule.id;
      assert.equal(JSON.parse(created.out).workflowError, undefined, 'its workflow was started');
      const firing = async () => (await alertRuleStatus(ns.client, ruleId))?.instances.find((i) => i.key === 'leaf-ctl' && i.state === 'firing');
      await until('the new rule to fire for the parked device', async () => Boolean(await firing()), 60_000, 100);
      const firingSince = (await firing())!.firingSince;

      // Refused, nothing stored: not JSON, an invalid rule (each problem named), a taken name; an unknown rule.
      const bad = await ctl('create', '--rule', '{name:');
      assert.equal(bad.code, 2);
      assert.match(bad.err, /not valid JSON/);
      const invalid = await ctl('create', '--rule', JSON.stringify({ name: 'broken', spec: { kind: 'threshold', path: '/a', op: '!', threshold: 'x' } }));
      assert.equal(invalid.code, 2);
      assert.match(invalid.err, /invalid rule: .*spec/);
      const taken = await ctl('create', '--rule', JSON.stringify({ name: 'creds', spec: { kind: 'session' } }));
      assert.equal(taken.code, 2);
      assert.match(taken.err, /a rule with this name exists/);
      assert.equal((await listAlertRules(tdb.db)).length, 1, 'nothing else was stored');
      assert.equal((await ctl('show', 'no-such-rule')).code, 3);
      assert.equal((await ctl('edit', '999999999', '--severity', 'info')).code, 3);

      // Edit by flag and by spec field: the workflow has the new version when ctl answers, and keeps the instance.
      const edited = await ctl('edit', 'creds', '--severity', 'critical', '--rule', JSON.stringify({ spec: { states: ['auth-failed', 'config-invalid'] } }), '--by', 'oncall');
      assert.equal(edited.code, 0, edited.err);
      assert.match(edited.out, new RegExp(`^rule #${ruleId} creds saved \\(version 2, by oncall\\)$`));
      const status = (await alertRuleStatus(ns.client, ruleId))!;
      assert.equal(status.version, 2, 'the editRule update was acknowledged before ctl answered');
      const kept = status.instances.find((i) => i.key === 'leaf-ctl')!;
      assert.deepEqual([kept.state, kept.firingSince], ['firing', firingSince], 'the edit kept the instance and its episode');
      const stored = (await getAlertRule(tdb.db, ruleId))!;
      assert.equal(stored.severity, 'critical');
      assert.deepEqual(stored.spec, { kind: 'session', states: ['auth-failed', 'config-invalid'], backoffLongerThanMs: 300_000 }, 'spec fields merged into the stored spec');

      const list = await ctl('list');
      assert.match(list.out, new RegExp(`^${ruleId}\\s+creds\\s+session\\s+critical\\s+1s\\s+0s\\s+yes\\s+2$`, 'm'));
      const shown = JSON.parse((await ctl('show', String(ruleId), '--json')).out) as { changes: Array<{ kind: string; actor: string }> };
      assert.deepEqual(
        shown.changes.map((c) => [c.kind, c.actor]),
        [
          ['edited', 'oncall'],
          ['created', 'oncall'],
        ],
      );

      // Preview of the stored rule: the device parked 10 minutes ago fires in the replay.
      const preview = await ctl('preview', 'creds', '--json');
      assert.equal(preview.code, 0, preview.err);
      const p = JSON.parse(preview.out) as { kind: string; notifications: number; instances: Array<{ key: string; state: string }> };
      assert.equal(p.kind, 'session');
      assert.deepEqual(
        p.instances.map((i) => [i.key, i.state]),
        [['leaf-ctl', 'firing']],
      );
      const text = await ctl('preview', '--rule', JSON.stringify({ spec: { kind: 'session', states: ['config-invalid'] } }));
      assert.match(text.out, /: 0 notifications/, 'a rule given as JSON, not stored: nothing parked in config-invalid');

      // Delete: the rule goes, the deletion is recorded, the workflow resolves what fires and ends.
      const deleted = await ctl('delete', 'creds', '--by', 'oncall');
      assert.equal(deleted.code, 0, deleted.err);
      assert.equal(await getAlertRule(tdb.db, ruleId), undefined);
      await ns.client.workflow.getHandle(alertRuleWorkflowId(ruleId)).result();
      const events = await tdb.db('alert_rule_events').where({ rule_name: 'creds' }).orderBy('id').select('kind', 'actor');
      assert.deepEqual(
        events.map((e: { kind: string; actor: string }) => [e.kind, e.actor]),
        [
          ['created', 'oncall'],
          ['edited', 'oncall'],
          ['deleted', 'oncall'],
        ],
      );
      assert.deepEqual(await alertRuleEvents(tdb.db, ruleId), [], 'a deleted rule keeps its record by name only');
    });
  });
});
