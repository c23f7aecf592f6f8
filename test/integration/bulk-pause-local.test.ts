/**
 * A bulk pause ends running sessions where they run (ADR 250), on the real Temporal dev server and
 * PostgreSQL: the real device-session and bulk-action workflows and activities, placement, the
 * collector's lease loop (which reports its running devices), its session activities with a fake
 * protocol, and its bulk-pause listener (workers/collector-bulk-pause.ts, the collector's own
 * LISTEN connection). The collector's heartbeat throttle is minutes long, so neither a cancellation
 * nor anything but the collector itself could end a stream promptly.
 *
 * Proven: each live stream ends once, as `paused`, without a pause signal, a cancellation or a
 * direct stop in its workflow's history; the bulk action acknowledges every device; the pause's
 * reason is the bulk action's; a device not running (parked) gets the signal as before; a
 * bulk resume afterwards starts every live stream again.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import protos from '@temporalio/proto';
import type { DeviceSummary } from '../../activities/types';
import { createBulkActivities } from '../../activities/bulk';
import { createPlacementActivities } from '../../activities/placement';
import { createLogger } from '../../core/log';
import { TASK_QUEUES, deviceSessionWorkflowId, pauseSignal, statusQuery, type DeviceSessionInput } from '../../core/names';
import { SessionError } from '../../core/session';
import { startBulkAction } from '../../fleet/bulk';
import { bulkPauseRoutes, type PlannedDevice } from '../../storage/bulk-actions';
import { bulkActionResult } from '../../temporal/fleet-client';
import { bulkPauseRoute, type LocalPauses } from '../../workers/collector-bulk-pause';
import { listenReconnecting, type Listener } from '../../storage/listen';
import { until } from '../../testkit/until';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { recordHistories } from '../support/histories';
import { startTestCollector, streamingProtocol, type TestCollector } from '../support/test-collector';
import { openTestNamespace } from '../support/temporal-namespace';

const EventType = protos.temporal.api.enums.v1.EventType;
type HistoryEvent = protos.temporal.api.history.v1.IHistoryEvent;

/** Placed sessions' heartbeat timeout: the SDK's throttle is at most 0.8 × it, and the worker's is 5 min. */
const PLACED_HEARTBEAT_TIMEOUT_MS = 10 * 60_000;
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('bulk pause ended where the sessions run (ADR 250)', function () {
  this.timeout(240_000);
  const namespace = `bulk-local-${crypto.randomBytes(3).toString('hex')}`;
  const log = createLogger('bulk-local-test', {}, { level: process.env.TEST_VERBOSE ? 'debug' : 'error' });
  let tdb: TestDatabase;
  let clientConnection: Connection;
  let connection: NativeConnection;
  let client: Client;
  const workers: Array<{ worker: Worker; run: Promise<void> }> = [];
  let collector: TestCollector | undefined;
  let listener: Listener | undefined;
  let live: PlannedDevice[] = [];
  let parked: PlannedDevice;
  /** Per device: streams begun, and why each ended (its abort signal's reason). */
  const streams = new Map<number, number>();
  const streamEnds = new Map<number, string[]>();

  /** Live devices stream until their session ends; the parked one refuses its credentials. */
  const protocol = streamingProtocol({
    refuse: (id) => (id === parked.id ? new SessionError('AUTH_FAILED', 'wrong password (test)') : undefined),
    started: (id) => void streams.set(id, (streams.get(id) ?? 0) + 1),
    ended: (id, why) => void streamEnds.set(id, [...(streamEnds.get(id) ?? []), why]),
  });

  async function startWorker(options: Parameters<typeof Worker.create>[0]): Promise<void> {
    const worker = await Worker.create(options);
    workers.push({ worker, run: worker.run() });
  }

  before(async function () {
    this.timeout(180_000);
    tdb = await createTestDatabase('bulk_local_pause');
    ({ clientConnection, client, connection } = await openTestNamespace(namespace));
    const rows = await tdb.db('devices')
      .insert(['live-1', 'live-2', 'live-3', 'parked-1'].map((name) => ({ name, protocol: 'gnmi', host: '127.0.0.1', port: 1 })))
      .returning(['id', 'name']);
    const planned = rows.map((r: { id: number; name: string }) => ({ id: r.id, name: r.name, protocol: 'gnmi' as const, enabled: true, hasWorkflow: true }));
    live = planned.slice(0, 3);
    parked = planned[3];
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname, logger: quiet });
    await startWorker({
      connection,
      namespace,
      taskQueue: TASK_QUEUES.control,
      workflowBundle,
      activities: { describeDevice: async (): Promise<DeviceSummary> => ({ exists: true, enabled: true }), ...createPlacementActivities({ db: tdb.db }) },
    });
    await startWorker({
      connection,
      namespace,
      taskQueue: TASK_QUEUES.bulk,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: new URL('../../workflows/bulk-action.ts', import.meta.url).pathname, logger: quiet }),
      activities: createBulkActivities({ db: tdb.db, client, sessionOptions: {}, concurrency: 8 }),
    });
    const pauses: LocalPauses = new Map();
    collector = await startTestCollector({ connection, namespace, client, db: tdb.db, databaseUrl: tdb.url, log, id: `collector-${namespace}`, protocol, pauses });
    listener = listenReconnecting({ databaseUrl: tdb.url, ...bulkPauseRoute({ db: tdb.db, taskQueue: collector.taskQueue, pauses, metrics: collector.metrics, log }) });
    await until('the bulk-pause listener connected', () => listener!.connected, 30_000, 50);
  });

  after(async () => {
    for (const d of [...live, parked].filter(Boolean)) await client?.workflow.getHandle(deviceSessionWorkflowId(d.id)).terminate('test over').catch(() => undefined);
    await listener?.close();
    await collector?.stop();
    for (const w of workers) w.worker.shutdown();
    await Promise.allSettled(workers.map((w) => w.run));
    await connection?.close();
    await clientConnection?.close();
    await tdb?.drop();
  });

  /** A bulk action's result, failing after 90 s (the pause waits at most 10 s for collectors, then signals). */
  const finished = (workflowId: string) =>
    Promise.race([
      bulkActionResult(client, workflowId),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${workflowId} did not finish within 90 s`)), 90_000).unref()),
    ]);
  const state = async (d: PlannedDevice) => (await client.workflow.getHandle(deviceSessionWorkflowId(d.id)).query(statusQuery)).state;
  const history = async (d: PlannedDevice): Promise<HistoryEvent[]> => (await client.workflow.getHandle(deviceSessionWorkflowId(d.id)).fetchHistory()).events ?? [];
  /** Devices the collector's registry row says run there now (what the bulk pause's preparation reads). */
  const reportedRunning = async () => new Set<number>((await tdb.db('collectors').where({ id: `collector-${namespace}` }).first('running_devices'))?.running_devices ?? []);

  it('ends each live stream once as paused (no signal, no cancellation), signals the device not running, and a resume streams again', async () => {
    for (const d of [...live, parked]) {
      const input: DeviceSessionInput = { deviceId: d.id, deviceName: d.name, protocol: 'gnmi', options: { placement: true, placedHeartbeatTimeoutMs: PLACED_HEARTBEAT_TIMEOUT_MS } };
      await client.workflow.start('deviceSessionWorkflow', { taskQueue: TASK_QUEUES.control, workflowId: deviceSessionWorkflowId(d.id), args: [input] });
    }
    for (const d of live) await until(`${d.name} streaming`, async () => (await state(d)) === 'streaming', 60_000, 50);
    await until('the parked device parked', async () => (await state(parked)) === 'auth-failed', 60_000, 50);
    // The registry knows the live attempts run here and the parked device runs nowhere (the renewal after its attempt ended).
    await until(
      'the lease renewal to report the live devices running and the parked one not',
      async () => {
        const running = await reportedRunning();
        return live.every((d) => running.has(d.id)) && !running.has(parked.id);
      },
      30_000,
      50,
    );

    const who = 'bulk-local-test';
    const { id, workflowId } = await startBulkAction({ db: tdb.db, client }, { action: 'pause', devices: [...live, parked], who, selection: 'ids', filter: '' });
    const summary = await finished(workflowId);
    assert.deepEqual(summary, { ...summary, bulkId: id, count: 4, ok: 4, failed: 0 });
    assert.deepEqual(await bulkPauseRoutes(tdb.db, id), { ended: 3, signal: 1 }, 'three ended by their collector, the parked device signalled');

    const reason = `bulk pause (#${id}) by ${who}`;
    for (const d of live) {
      assert.deepEqual(streamEnds.get(d.id), ['paused'], `${d.name}: its stream ended once, by the bulk pause`);
      const status = await client.workflow.getHandle(deviceSessionWorkflowId(d.id)).query(statusQuery);
      assert.equal(status.state, 'paused');
      assert.equal(status.detail, reason, `${d.name}: the pause's reason is the bulk action's`);
      const events = await history(d);
      assert.equal(events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === pauseSignal.name).length, 0, `${d.name}: no pause signal`);
      assert.equal(events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED).length, 0, `${d.name}: no cancellation`);
      const scheduled = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
      assert.ok(!scheduled.includes('endLocalSession'), `${d.name}: no direct stop (${scheduled.join(', ')})`);
      const completed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
      const results = completed.map((e) => Buffer.from(e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data ?? []).toString());
      assert.ok(results.some((r) => r.includes('"reason":"paused"') && r.includes(reason)), `${d.name}: the attempt completed as paused by the bulk action`);
    }
    const parkedEvents = await history(parked);
    assert.equal(parkedEvents.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === pauseSignal.name).length, 1, 'the parked device got the pause signal');
    assert.equal(await state(parked), 'paused');

    // A bulk resume starts the live streams again (and retries the parked device, which parks again).
    const resume = await startBulkAction({ db: tdb.db, client }, { action: 'resume', devices: [...live, parked], who, selection: 'ids', filter: '' });
    const resumed = await finished(resume.workflowId);
    assert.equal(resumed.ok, 4);
    for (const d of live) {
      await until(`${d.name} streaming again`, async () => (await state(d)) === 'streaming', 60_000, 50);
      assert.equal(streams.get(d.id), 2, `${d.name}: one new stream after the resume`);
    }
    await recordHistories(client, [...live, parked].map((d) => deviceSessionWorkflowId(d.id)), 'bulk-local-pause');
  });
});
