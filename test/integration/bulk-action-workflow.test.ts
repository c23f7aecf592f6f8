/**
 * Bulk actions as workflows (issue 19, ADR 170) on the real Temporal dev server and
 * PostgreSQL, with the real control worker as a process: a bulk pause keeps going after
 * the control worker is killed with SIGKILL mid-action (its devices signalled, their
 * acknowledgements outstanding) — a new control worker carries it on, no device is
 * signalled twice, and the record ends with the right counts and a result per device;
 * a delete whose runner already deleted some devices (then died) finishes without failing
 * them; a record left unfinished by a web process of before is shown as interrupted, and so is
 * one whose workflow was terminated by hand (with what it had done).
 *
 * The paused devices' session workflows run on a task queue of this test, which nothing
 * polls until the test starts a worker for it: their pauses cannot be acknowledged before
 * that, so the action is mid-way for certain when the control worker dies.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { SA, WORKFLOW_TYPES, deviceSessionWorkflowId, pauseSignal, statusQuery, type DeviceSessionInput } from '../../core/names';
import { bulkActionResult } from '../../temporal/fleet-client';
import { settleEndedBulkActions, startBulkAction } from '../../fleet/bulk';
import { getBulkAction, recentBulkActions, type PlannedDevice } from '../../storage/bulk-actions';
import type { ManagedChild } from '../../scripts/infra/proc';
import { until } from '../../testkit/until';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { processEnv, spawnEntry } from '../support/system';
import { openTestNamespace } from '../support/temporal-namespace';

/** Where this test's session workflows run: no worker polls it until the test says so. */
const HELD_QUEUE = `bulk-test-held-${crypto.randomBytes(3).toString('hex')}`;

describe('bulk actions as workflows: a dead control worker is replaced and the action finishes', function () {
  this.timeout(300_000);
  const namespace = `bulk-${crypto.randomBytes(3).toString('hex')}`;
  let tdb: TestDatabase;
  let clientConnection: Connection;
  let connection: NativeConnection;
  let client: Client;
  const controls: ManagedChild[] = [];
  let held: Worker | undefined;
  let heldRun: Promise<void> | undefined;

  const startControl = () => {
    const c = spawnEntry(`control-${controls.length + 1}`, 'workers/control.ts', processEnv(tdb.url, { TEMPORAL_NAMESPACE: namespace, CONTROL_HEALTH_PORT: '0' }));
    controls.push(c);
    return c;
  };

  /** Insert devices; returns them as a bulk plan holds them. */
  async function addDevices(prefix: string, n: number, hasWorkflow: boolean): Promise<PlannedDevice[]> {
    const rows = await tdb.db('devices')
      .insert(Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i + 1}`, protocol: 'gnmi', host: '127.0.0.1', port: 1, enabled: true })))
      .returning(['id', 'name']);
    return rows.map((r: { id: number; name: string }) => ({ id: r.id, name: r.name, protocol: 'gnmi' as const, enabled: true, hasWorkflow }));
  }

  /** Start a device's session workflow on a held queue (as startDeviceSession does on the control queue). */
  async function startHeldSession(d: PlannedDevice, taskQueue = HELD_QUEUE): Promise<void> {
    const input: DeviceSessionInput = { deviceId: d.id, deviceName: d.name, protocol: d.protocol, options: {} };
    await client.workflow.start(WORKFLOW_TYPES.deviceSession, {
      workflowId: deviceSessionWorkflowId(d.id),
      taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: SA.DeviceId, value: String(d.id) },
        { key: SA.DeviceName, value: d.name },
        { key: SA.Protocol, value: d.protocol },
        { key: SA.SessionState, value: 'connecting' },
      ],
    });
  }

  /** How many times a workflow's history received `signalName`. */
  async function signalsReceived(workflowId: string, signalName: string): Promise<number> {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === signalName).length;
  }

  before(async function () {
    this.timeout(180_000);
    tdb = await createTestDatabase('bulk_workflow');
    ({ clientConnection, client, connection } = await openTestNamespace(namespace));
  });

  after(async () => {
    for await (const wf of client?.workflow.list({ query: `ExecutionStatus = 'Running'` }) ?? []) {
      await client.workflow.getHandle(wf.workflowId).terminate('test over').catch(() => undefined);
    }
    held?.shutdown();
    await heldRun?.catch(() => undefined);
    await Promise.allSettled(controls.map((c) => c.stop()));
    await connection?.close();
    await clientConnection?.close();
    await tdb?.drop();
  });

  it('a bulk pause survives SIGKILL of the control worker mid-action: a new one finishes it, each device signalled once', async () => {
    const sessions = await addDevices('held', 6, true);
    const without = await addDevices('none', 2, false);
    for (const d of sessions) await startHeldSession(d);
    const first = startControl();
    const { id, workflowId } = await startBulkAction({ db: tdb.db, client }, { action: 'pause', devices: [...sessions, ...without], who: 'bulk-test', selection: 'ids', filter: '' });
    assert.match(workflowId, new RegExp(`^bulk-action/${id}-`));

    // Mid-action, as facts: the two devices without a session failed, the six were signalled and await acknowledgement.
    await until(
      'the runner to have failed the devices without a session and signalled the others',
      async () => {
        const [{ sent }] = await tdb.db('bulk_action_devices').where({ bulk_id: id, sent: true }).count({ sent: '*' });
        const record = await getBulkAction(tdb.db, id);
        return Number(sent) === sessions.length && record?.done === without.length && record.failed === without.length;
      },
      120_000,
      200,
    );
    const midway = (await getBulkAction(tdb.db, id))!;
    assert.equal(midway.finishedAt, null);
    assert.equal(midway.interrupted, false);

    first.child.kill('SIGKILL');
    await first.exited;
    startControl();
    // Now the session workflows can run their pauses; the runner's next attempt (on the new worker) sees them acknowledged.
    held = await Worker.create({ connection, namespace, taskQueue: HELD_QUEUE, workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname });
    heldRun = held.run();

    const summary = await Promise.race([
      bulkActionResult(client, workflowId),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the bulk action did not finish within 180 s')), 180_000)),
    ]);
    assert.deepEqual(summary, { ...summary, bulkId: id, count: 8, ok: 6, failed: 2 });

    const record = (await getBulkAction(tdb.db, id))!;
    assert.ok(record.finishedAt, 'the record is finished');
    assert.equal(record.error, null);
    assert.deepEqual([record.count, record.done, record.failed], [8, 8, 2]);
    const byName = new Map(record.results!.map((r) => [r.name, r]));
    for (const d of sessions) assert.deepEqual(byName.get(d.name), { id: d.id, name: d.name, ok: true, state: 'paused' });
    for (const d of without) assert.deepEqual(byName.get(d.name), { id: d.id, name: d.name, ok: false, error: 'no session running' });

    // Every session paused, by exactly one signal (the retried runner did not signal again).
    for (const d of sessions) {
      const wfId = deviceSessionWorkflowId(d.id);
      assert.equal((await client.workflow.getHandle(wfId).query(statusQuery)).paused, true, `${d.name} paused`);
      assert.equal(await signalsReceived(wfId, pauseSignal.name), 1, `${d.name} received one pause signal`);
    }
    // The work was carried out by a second attempt of the runner's activity (the first died with its worker).
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const attempts = (history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt).filter((a): a is number => typeof a === 'number');
    assert.ok(Math.max(...attempts) >= 2, `activity attempts in the bulk workflow's history: ${attempts.join(', ')}`);
  });

  it('a delete that finds some of its devices already deleted (as a runner retried after dying would) finishes with every device deleted, none failed', async () => {
    const devices = await addDevices('gone', 3, false);
    // As a runner that died between deleting a device and recording it would leave things.
    const { id, workflowId } = await startBulkAction({ db: tdb.db, client }, { action: 'delete', devices, who: 'bulk-test', selection: 'ids', filter: '' });
    const summary = await bulkActionResult(client, workflowId);
    assert.deepEqual([summary.ok, summary.failed], [3, 0]);
    assert.equal(Number((await tdb.db('devices').whereIn('id', devices.map((d) => d.id)).count({ n: '*' }))[0].n), 0);

    const again = await addDevices('again', 3, false);
    await tdb.db('devices').where({ id: again[0].id }).delete();
    const second = await startBulkAction({ db: tdb.db, client }, { action: 'delete', devices: again, who: 'bulk-test', selection: 'ids', filter: '' });
    const s2 = await bulkActionResult(client, second.workflowId);
    assert.deepEqual([s2.count, s2.ok, s2.failed], [3, 3, 0]);
    const record = (await getBulkAction(tdb.db, second.id))!;
    assert.deepEqual(
      record.results!.map((r) => [r.name, r.ok, r.note]),
      again.map((d) => [d.name, true, 'deleted']),
    );
    assert.ok(id < second.id);
  });

  it('attaching a profile refuses the devices of the other protocol, naming it, and attaches it to the rest (never dropped silently)', async () => {
    const gnmi = await addDevices('mixed-gnmi', 2, false);
    const [nc] = await tdb.db('devices').insert({ name: 'mixed-netconf-1', protocol: 'netconf', host: '127.0.0.1', port: 1, enabled: true }).returning(['id', 'name']);
    const devices: PlannedDevice[] = [...gnmi, { id: nc.id, name: nc.name, protocol: 'netconf', enabled: true, hasWorkflow: false }];
    const [{ id: profileId }] = await tdb.db('subscription_profiles').insert({ name: 'bulk-netconf-only', protocol: 'netconf', spec: JSON.stringify({ netconf: { method: 'get' } }) }).returning('id');
    const { id, workflowId } = await startBulkAction({ db: tdb.db, client }, { action: 'attach-profile', devices, profileId, who: 'bulk-test', selection: 'ids', filter: '' });
    const summary = await bulkActionResult(client, workflowId);
    assert.deepEqual([summary.count, summary.ok, summary.failed], [3, 1, 2]);
    assert.deepEqual(await tdb.db('device_profiles').where({ profile_id: profileId }).pluck('device_id'), [nc.id], 'attached to the NETCONF device only');
    const record = (await getBulkAction(tdb.db, id))!;
    const byName = new Map(record.results!.map((r) => [r.name, r]));
    assert.equal(byName.get('mixed-netconf-1')!.ok, true);
    for (const d of gnmi) {
      assert.equal(byName.get(d.name)!.ok, false, d.name);
      assert.equal(byName.get(d.name)!.error, 'Not attached: bulk-netconf-only (NETCONF) is a profile of the other protocol; a gNMI device can only use gNMI profiles.');
    }
  });

  it('a bulk workflow terminated by hand leaves its record finished as interrupted, with what it had done', async () => {
    // Sessions on a queue nothing ever polls: their pauses stay unacknowledged, so the action is mid-way when terminated.
    const never = `${HELD_QUEUE}-never`;
    const sessions = await addDevices('term', 4, true);
    const without = await addDevices('term-none', 2, false);
    for (const d of sessions) await startHeldSession(d, never);
    if (!controls.some((c) => c.child.exitCode === null && c.child.signalCode === null)) startControl();
    const { id, workflowId } = await startBulkAction({ db: tdb.db, client }, { action: 'pause', devices: [...sessions, ...without], who: 'bulk-test', selection: 'ids', filter: '' });
    await until(
      'the runner to have failed the devices without a session and signalled the others',
      async () => {
        const [{ sent }] = await tdb.db('bulk_action_devices').where({ bulk_id: id, sent: true }).count({ sent: '*' });
        const record = await getBulkAction(tdb.db, id);
        return Number(sent) === sessions.length && record?.done === without.length;
      },
      120_000,
      200,
    );
    // Running: left as it is.
    assert.deepEqual(await settleEndedBulkActions(tdb.db, client, [id]), []);
    assert.equal((await getBulkAction(tdb.db, id))!.finishedAt, null);

    await client.workflow.getHandle(workflowId).terminate('stopped by hand in a test');
    // This call records it, unless the fleet reconciliation (every minute on the control worker) just did.
    const marked = await settleEndedBulkActions(tdb.db, client, [id]);
    assert.ok(marked.length === 0 || (marked.length === 1 && marked[0] === id), `marked: ${marked.join(', ')}`);
    const record = (await getBulkAction(tdb.db, id))!;
    assert.ok(record.finishedAt, 'the record is finished');
    assert.deepEqual([record.count, record.done, record.failed], [6, 2, 2]);
    assert.equal(
      record.error,
      `interrupted: its workflow ${workflowId} was terminated (stopped by hand in a test) with 2 of 6 devices done (2 failed); the others were not acted on or not acknowledged`,
    );
    assert.deepEqual(
      record.results!.map((r) => [r.name, r.ok, r.error]),
      without.map((d) => [d.name, false, 'no session running']),
    );
    // Once: a second look changes nothing; the list shows it finished, not running.
    assert.deepEqual(await settleEndedBulkActions(tdb.db, client), []);
    const listed = (await recentBulkActions(tdb.db)).find((r) => r.id === id)!;
    assert.ok(listed.finishedAt);
    assert.equal(listed.error, record.error);
  });

  it('a record left running by a web process of before (no workflow) is listed as interrupted, a workflow-run one as running', async () => {
    const [legacy] = await tdb.db('bulk_actions')
      .insert({ user_email: 'old-web@example.test', action: 'pause', selection: 'filter', filter: 'site=old', device_count: 40, done: 12, failed: 1 })
      .returning('id');
    const [running] = await tdb.db('bulk_actions')
      .insert({ user_email: 'new-web@example.test', action: 'pause', selection: 'filter', filter: 'site=new', device_count: 40, workflow_id: 'bulk-action/x' })
      .returning('id');
    const listed = new Map((await recentBulkActions(tdb.db)).map((r) => [r.id, r]));
    assert.equal(listed.get(Number(legacy.id))?.interrupted, true);
    assert.equal(listed.get(Number(running.id))?.interrupted, false);
    assert.equal((await getBulkAction(tdb.db, Number(legacy.id)))?.interrupted, true);
  });
});
