/**
 * Alerting end to end (issue 18) against the real Temporal server and PostgreSQL, with a
 * real HTTP receiver on loopback that deduplicates on the Idempotency-Key header:
 *  - a threshold rule (the fleet query model, recovery threshold, `for`) over stored samples
 *    fires and resolves; the receiver sees each transition once, signed with the contact
 *    point's secret, the key in header and body; attempts are recorded;
 *  - the control worker process is killed (SIGKILL) while a delivery waits on a slow
 *    receiver; a second worker retries it by the activity's retry policy, and after
 *    deduplication the receiver has the transition exactly once, then its resolution;
 *  - the alert reconcile starts a session-state rule's workflow, which fires for a parked
 *    device; an edit keeps its state; `ctl alerts` lists (--json), acknowledges and silences,
 *    and the silenced resolution is recorded but never delivered.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createAlertActivities } from '../../activities/alerts';
import { TASK_QUEUES, WORKFLOW_TYPES, alertRuleWorkflowId } from '../../core/names';
import { role } from '../../core/roles';
import type { AlertRuleDefinition } from '../../core/alert-rules';
import { createAlertRule, createContactPoint, deliveryAttempts, getAlertRule, recentAlertTransitions, updateAlertRule } from '../../storage/alerts';
import { parseKeyring } from '../../storage/secrets';
import { alertRuleStatus, editAlertRule, startAlertRule, stopAlertRule } from '../../temporal/alert-client';
import { runAlertsCommand } from '../../scripts/ctl-alerts';
import { ensureNamespace } from '../../scripts/infra/temporal-server';
import { freePort, type ManagedChild } from '../../scripts/infra/proc';
import { until } from '../../testkit/until';
import { createTestDatabase, spreadAlertRuleIds, type TestDatabase } from '../support/db';
import { quietWorkerRuntime, temporalAddress } from '../support/env';
import { TEST_SECRETS_KEY, processEnv, spawnEntry } from '../support/system';
import { startWebhookReceiver } from '../support/webhook-receiver';
import { recordHistories } from '../support/histories';

const SECRET = 'receiver-shared-secret';
const PATH = '/system/cpu/utilization';

describe('alerting: rule workflows and webhook delivery', function () {
  this.timeout(300_000);
  const namespace = `alerts-${crypto.randomBytes(3).toString('hex')}`;
  let tdb: TestDatabase;
  let connection: Connection;
  let client: Client;
  let bundle: WorkflowBundleWithSourceMap;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let contactPointId: number;
  let seriesId: number;
  const children: ManagedChild[] = [];
  const ring = parseKeyring(TEST_SECRETS_KEY);

  /** A sample of the test device's CPU series at the current time (what the collector would store). */
  const store = (value: number) => tdb.db('samples').insert({ time: new Date(), series_id: seriesId, value });

  before(async function () {
    this.timeout(180_000);
    await quietWorkerRuntime();
    tdb = await createTestDatabase('alerting');
    await spreadAlertRuleIds(tdb.db);
    connection = await Connection.connect({ address: temporalAddress() });
    await ensureNamespace(connection, namespace, 1);
    client = new Client({ connection, namespace });
    await until('the namespace to answer', async () => (await client.workflow.count('').then(() => true, () => false)), 30_000, 200);
    bundle = await bundleWorkflowCode({ workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
    receiver = await startWebhookReceiver(SECRET);
    contactPointId = (await createContactPoint(tdb.db, ring, { name: 'receiver', url: receiver.url, secret: SECRET })).id;
    const [device] = await tdb.db('devices').insert({ name: 'leaf-alert', protocol: 'gnmi', host: '127.0.0.1', port: 1, enabled: false }).returning('id');
    const [series] = await tdb.db('series').insert({ device_id: device.id, path: PATH, kind: 'number' }).returning('id');
    seriesId = Number(series.id);
  });

  after(async () => {
    await Promise.allSettled(children.splice(0).map((c) => c.stop()));
    await receiver?.close();
    await connection?.close();
    await tdb?.drop();
  });

  /** An in-process control worker with the alert activities, on this suite's namespace. */
  const alertWorker = async () =>
    Worker.create({
      connection: await NativeConnection.connect({ address: temporalAddress() }),
      namespace,
      taskQueue: TASK_QUEUES.control,
      workflowBundle: bundle,
      activities: createAlertActivities({ db: tdb.db, pool: tdb.pool, ring, client }),
    });

  const newRule = (name: string, forMs: number): Promise<AlertRuleDefinition> =>
    createAlertRule(tdb.db, {
      name,
      spec: { kind: 'threshold', path: PATH, agg: 'last', groupBy: 'device', op: '>', threshold: 80, recovery: 50, windowMs: 60_000 },
      severity: 'critical',
      forMs,
      intervalMs: 1000,
      labels: { team: 'net' },
      contactPointId,
    });

  it('a threshold rule fires after its for-duration and resolves past the recovery threshold; each transition arrives once, signed', async () => {
    const pool = tdb.pool;
    const worker = await alertWorker();
    const rule = await newRule('cpu hot', 2000);
    await worker.runUntil(async () => {
      await startAlertRule(client, rule, { deliveryAttemptTimeoutMs: 10_000 });
      await store(95);
      await until('the firing notification', async () => receiver.deduplicated(rule.id).size === 1, 60_000, 100);
      // Still above the recovery threshold: stays firing (hysteresis), nothing more is sent.
      await store(60);
      const seen = (await alertRuleStatus(client, rule.id))!.evaluations;
      await until('two more evaluations', async () => (await alertRuleStatus(client, rule.id))!.evaluations >= seen + 2, 60_000, 100);
      assert.equal((await alertRuleStatus(client, rule.id))!.counts.firing, 1, 'between recovery and threshold the alert holds');
      await store(10);
      await until('the resolved notification', async () => receiver.deduplicated(rule.id).size === 2, 60_000, 100);
      await until('the delivery recorded', async () => (await recentAlertTransitions(tdb.db, 10, rule.id)).every((t) => t.deliveredAt !== null), 30_000, 100);
      await stopAlertRule(client, rule.id, 'test over');
      await client.workflow.getHandle(alertRuleWorkflowId(rule.id)).result();
    });
    // For the replay test (test/unit/session-replay.test.ts): RECORD_HISTORIES=1.
    await recordHistories(client, [alertRuleWorkflowId(rule.id)], 'alert-rule-threshold');
    const got = [...receiver.deduplicated(rule.id).values()];
    assert.deepEqual(got.map((a) => a.body.status), ['firing', 'resolved']);
    for (const a of got) {
      assert.ok(a.signatureOk, 'HMAC-SHA256 signature verifies with the contact point secret');
      assert.equal(a.body.idempotencyKey, a.key, 'the key in the body is the header');
      assert.equal(a.body.instance, 'leaf-alert');
      assert.deepEqual({ team: a.body.labels.team, device: a.body.labels.device, severity: a.body.labels.severity }, { team: 'net', device: 'leaf-alert', severity: 'critical' });
    }
    assert.equal(got[1].body.value, 10);
    assert.ok(Date.parse(got[0].body.at) - Date.parse(got[0].body.episodeStartedAt) >= 2000, 'pending for the for-duration (2 s) before firing');
    assert.equal(receiver.arrivals.filter((a) => a.body.rule?.id === rule.id).length, 2, 'no repeats without a failure');
    const history = await recentAlertTransitions(tdb.db, 10, rule.id);
    assert.deepEqual(history.map((t) => t.transition).sort(), ['firing', 'resolved']);
    const attempts = await deliveryAttempts(tdb.db, got[0].key);
    assert.deepEqual(attempts.map((a) => [a.attempt, a.ok, a.status]), [[1, true, 200]]);
  });

  it('control worker killed mid-delivery: the transition still arrives exactly once after deduplication, then its resolution', async () => {
    const rule = await newRule('cpu hot (kill)', 0);
    const control = role('control');
    const env = (port: number) => processEnv(tdb.url, { TEMPORAL_NAMESPACE: namespace, SECRETS_KEY: TEST_SECRETS_KEY, [control.port!.env]: String(port) });
    /** Start a control worker process and wait until its /healthz says the worker polls. */
    const startControl = async (name: string) => {
      const port = await freePort();
      const child = spawnEntry(name, control.entry, env(port));
      children.push(child);
      const ready = () => fetch(`http://127.0.0.1:${port}${control.healthPath}`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status === 200, () => false);
      await until(`${name} to be ready`, ready, 180_000, 250);
      return child;
    };
    // The slow receiver: holds the first firing request until its sender is gone.
    const firingKey = receiver.holdFirst('-firing-');
    const first = await startControl('control-a');
    await startAlertRule(client, rule, { deliveryAttemptTimeoutMs: 5000, deliveryMaxIntervalMs: 2000 });
    await store(99);
    await until('the firing request to reach the slow receiver', () => firingKey() !== undefined, 120_000, 100);
    first.child.kill('SIGKILL');
    await first.exited;
    children.splice(children.indexOf(first), 1);
    await startControl('control-b');
    await until('the retried firing notification to be answered', async () => receiver.deduplicated(rule.id).has(firingKey()!), 120_000, 100);
    await store(5);
    await until('the resolved notification', async () => receiver.deduplicated(rule.id).size === 2, 120_000, 100);
    receiver.setHold(undefined);
    const raw = receiver.arrivals.filter((a) => a.key === firingKey());
    assert.ok(raw.length >= 2, `the killed attempt and its retry both reached the receiver (${raw.length})`);
    assert.deepEqual([...receiver.deduplicated(rule.id).values()].map((a) => a.body.status), ['firing', 'resolved'], 'each transition once after deduplication');
    await until('the retry recorded', async () => (await deliveryAttempts(tdb.db, firingKey()!)).some((a) => a.ok && a.attempt >= 2), 30_000, 100);
    await stopAlertRule(client, rule.id, 'test over');
    await client.workflow.getHandle(alertRuleWorkflowId(rule.id)).result();
    await Promise.allSettled(children.splice(0).map((c) => c.stop()));
    // The control worker created its Schedules in this namespace; later tests reconcile by hand.
    for await (const schedule of client.schedule.list()) await client.schedule.getHandle(schedule.scheduleId).delete();
  });

  it('reconcile starts a session-state rule; it fires for a parked device, keeps state across an edit; ctl alerts lists, acks and silences', async () => {
    // The earlier rules are done: disabled, so the reconcile leaves them alone.
    await tdb.db('alert_rules').update({ enabled: false });
    const worker = await alertWorker();
    const rule = await createAlertRule(tdb.db, {
      name: 'credentials rejected',
      spec: { kind: 'session', states: ['auth-failed'] },
      severity: 'critical',
      intervalMs: 1000,
      contactPointId,
    });
    const [device] = await tdb.db('devices').where({ name: 'leaf-alert' }).select('id');
    await tdb.db('device_session_state').insert({ device_id: device.id, state: 'auth-failed' });
    const ctl = { db: () => tdb.db, client };
    const lines: string[] = [];
    const out = (s: string) => void lines.push(s);
    await worker.runUntil(async () => {
      const report = await client.workflow.execute(WORKFLOW_TYPES.alertReconcile, { workflowId: `alert-reconcile-test-${rule.id}`, taskQueue: TASK_QUEUES.control });
      assert.equal((report as { started: number }).started, 1, 'the enabled rule without a workflow is started');
      assert.ok(await alertRuleStatus(client, rule.id), 'the rule workflow runs');
      await until('the session rule to fire', async () => receiver.deduplicated(rule.id).size === 1, 60_000, 100);
      const firingSince = (await alertRuleStatus(client, rule.id))!.instances[0].firingSince;

      const edited = (await updateAlertRule(tdb.db, rule.id, { name: rule.name, spec: rule.spec, severity: 'warning', intervalMs: 1000, contactPointId }))!;
      const after = await editAlertRule(client, edited);
      assert.equal(after.version, 2);
      assert.deepEqual(after.instances.map((i) => [i.key, i.state, i.firingSince]), [['leaf-alert', 'firing', firingSince]], 'an edit keeps the instance and its episode');

      assert.equal(await runAlertsCommand(ctl, ['list', '--json'], out), 0);
      const listed = JSON.parse(lines.pop()!).instances as Array<{ ruleId: number; key: string; state: string }>;
      assert.ok(listed.some((i) => i.ruleId === rule.id && i.key === 'leaf-alert' && i.state === 'firing'), 'ctl alerts --json lists the firing instance');
      assert.equal(await runAlertsCommand(ctl, ['ack', rule.name, 'leaf-alert', '--by', 'oncall'], out), 0);
      assert.equal(await runAlertsCommand(ctl, ['list'], out), 0);
      assert.match(lines.pop()!, /credentials rejected\s+leaf-alert\s+firing\s+warning.*oncall/);
      assert.equal(await runAlertsCommand(ctl, ['silence', `alertname=${rule.name}`, '--for', '1h', '--comment', 'fixing creds'], out), 0);
      assert.match(lines.pop()!, /^silence #\d+ until /);

      await tdb.db('device_session_state').where({ device_id: device.id }).delete();
      await until('the silenced resolution recorded', async () => (await recentAlertTransitions(tdb.db, 10, rule.id)).some((t) => t.transition === 'resolved'), 60_000, 100);
      await stopAlertRule(client, rule.id, 'test over');
      await client.workflow.getHandle(alertRuleWorkflowId(rule.id)).result(); // every delivery in flight has finished
    });
    await recordHistories(client, [alertRuleWorkflowId(rule.id)], 'alert-rule-session-edit-silence');
    const resolved = (await recentAlertTransitions(tdb.db, 10, rule.id)).find((t) => t.transition === 'resolved')!;
    assert.equal(resolved.silenced, true);
    assert.deepEqual(await deliveryAttempts(tdb.db, resolved.idempotencyKey), [], 'a silenced transition is not delivered');
    assert.deepEqual([...receiver.deduplicated(rule.id).values()].map((a) => a.body.status), ['firing']);
    assert.equal((await getAlertRule(tdb.db, rule.id))!.severity, 'warning');
  });

  it('an absence rule fires for a device silent past silentMs and resolves when it stores again', async () => {
    await tdb.db('alert_rules').update({ enabled: false });
    const worker = await alertWorker();
    const rule = await createAlertRule(tdb.db, { name: 'cpu silent', spec: { kind: 'absence', path: PATH, silentMs: 3000 }, intervalMs: 1000 });
    const instance = async () => (await alertRuleStatus(client, rule.id))?.instances.find((i) => i.key === 'leaf-alert');
    await worker.runUntil(async () => {
      await store(42);
      await startAlertRule(client, rule);
      await until('the rule to fire once the device is silent for 3 s', async () => (await instance())?.state === 'firing', 60_000, 100);
      const fired = (await instance())!;
      assert.ok(fired.value! >= 3, `silent for ${fired.value} s when it fired`);
      await store(43);
      await until('the rule to resolve after a new sample', async () => (await recentAlertTransitions(tdb.db, 10, rule.id)).some((t) => t.transition === 'resolved'), 60_000, 100);
      await stopAlertRule(client, rule.id, 'test over');
      await client.workflow.getHandle(alertRuleWorkflowId(rule.id)).result();
    });
    // Oldest first: fired while silent, resolved by the new sample (a later silence may fire again).
    assert.deepEqual((await recentAlertTransitions(tdb.db, 10, rule.id)).reverse().slice(0, 2).map((t) => t.transition), ['firing', 'resolved']);
  });
});
