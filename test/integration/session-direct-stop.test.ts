/**
 * The direct stop of placed sessions (ADR 160) on the real Temporal dev server and
 * PostgreSQL: the real device-session workflow, placement activity and lease loop, and
 * the real session activities (activities/session.ts over workers/collector-session-runner.ts: runDeviceSession and
 * endLocalSession) on the collector's own queue, with a fake protocol. The collector's
 * heartbeat throttle is minutes long, as for placed sessions in production (30 s), so a
 * cancellation could only reach the session in a heartbeat response minutes later:
 * pause and reconfigure are acknowledged because the workflow's endLocalSession
 * activity ended the session on the collector (its history shows the marker, the
 * direct stop and a SESSION_STOPPED attempt), with the cancellation still requested.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import protos from '@temporalio/proto';
import type { DeviceSummary } from '../../activities/types';
import { createPlacementActivities } from '../../activities/placement';
import { createLogger } from '../../core/log';
import { TASK_QUEUES, deviceSessionWorkflowId, statusQuery, stopSignal, type DeviceSessionInput } from '../../core/names';
import { pauseDevice, reconfigureDevice, resumeDevice } from '../../temporal/fleet-client';
import { until } from '../../testkit/until';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { recordHistories } from '../support/histories';
import { startTestCollector, streamingProtocol, type TestCollector } from '../support/test-collector';
import { openTestNamespace } from '../support/temporal-namespace';

const EventType = protos.temporal.api.enums.v1.EventType;
type HistoryEvent = protos.temporal.api.history.v1.IHistoryEvent;

/** The placed heartbeat timeout of these workflows: the SDK's throttle is at most 0.8 x it, and the worker's is 5 min. */
const PLACED_HEARTBEAT_TIMEOUT_MS = 10 * 60_000;

describe('direct stop of placed sessions (ADR 160)', function () {
  this.timeout(120_000);
  const namespace = `direct-stop-${crypto.randomBytes(3).toString('hex')}`;
  const log = createLogger('direct-stop-test', {}, { level: process.env.TEST_VERBOSE ? 'debug' : 'error' });
  let tdb: TestDatabase;
  let clientConnection: Connection;
  let connection: NativeConnection;
  let client: Client;
  const workers: Array<{ worker: Worker; run: Promise<void> }> = [];
  let collector: TestCollector | undefined;
  let deviceId = 0;
  /** The test collector's stop queue (ADR 230). */
  let stopQueue = '';
  /** Why each fake stream ended (its abort signal's reason), in order. */
  const streamEnds: string[] = [];
  let streams = 0;

  /** A device that sends a point every 100 ms until the session's signal aborts. */
  const protocol = streamingProtocol({ started: () => void streams++, ended: (_id, why) => void streamEnds.push(why) });

  async function startWorker(options: Parameters<typeof Worker.create>[0]): Promise<void> {
    const worker = await Worker.create(options);
    workers.push({ worker, run: worker.run() });
  }

  before(async function () {
    this.timeout(180_000);
    tdb = await createTestDatabase('direct-stop');
    ({ clientConnection, client, connection } = await openTestNamespace(namespace));
    [{ id: deviceId }] = await tdb.db('devices').insert({ name: 'direct-stop-1', protocol: 'gnmi', host: '127.0.0.1', port: 1 }).returning('id');
    await startWorker({
      connection,
      namespace,
      taskQueue: TASK_QUEUES.control,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname,
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      }),
      activities: {
        describeDevice: async (): Promise<DeviceSummary> => ({ exists: true, enabled: true }),
        ...createPlacementActivities({ db: tdb.db }),
      },
    });
    // One activity slot, as a collector holding COLLECTOR_MAX_SESSIONS sessions: the running session fills it,
    // so a direct stop scheduled on its session queue could not start until the session ended (bench scale at 1,000).
    // Its stop queue (ADR 230) holds direct stops only, never a session.
    collector = await startTestCollector({ connection, namespace, client, db: tdb.db, databaseUrl: tdb.url, log, id: `collector-${namespace}`, protocol, sessionSlots: 1 });
    stopQueue = collector.stopQueue;
  });

  after(async () => {
    await client?.workflow.getHandle(deviceSessionWorkflowId(deviceId)).terminate('test over').catch(() => undefined);
    await collector?.stop();
    for (const w of workers) w.worker.shutdown();
    await Promise.allSettled(workers.map((w) => w.run));
    await connection?.close();
    await clientConnection?.close();
    await tdb?.drop();
  });

  /** The workflow's events so far. */
  async function history(): Promise<HistoryEvent[]> {
    return (await client.workflow.getHandle(deviceSessionWorkflowId(deviceId)).fetchHistory()).events ?? [];
  }
  const activityType = (events: HistoryEvent[], scheduledId: unknown) =>
    events.find((e) => Number(e.eventId) === Number(scheduledId))?.activityTaskScheduledEventAttributes?.activityType?.name;

  it('pause and reconfigure of a placed session end its attempt by the direct stop, the heartbeat throttle minutes long', async () => {
    const input: DeviceSessionInput = {
      deviceId,
      deviceName: 'direct-stop-1',
      protocol: 'gnmi',
      options: { placement: true, placedHeartbeatTimeoutMs: PLACED_HEARTBEAT_TIMEOUT_MS },
    };
    const handle = await client.workflow.start('deviceSessionWorkflow', { taskQueue: TASK_QUEUES.control, workflowId: deviceSessionWorkflowId(deviceId), args: [input] });
    const streaming = async () => (await handle.query(statusQuery)).state === 'streaming';
    await until('the session streaming', streaming, 60_000, 50);

    const paused = await pauseDevice(client, deviceId, 'direct stop test');
    assert.equal(paused.state, 'paused', 'the pause is acknowledged: the session has ended');
    assert.deepEqual(streamEnds, ['stopped'], 'the stream was ended by the direct stop, not by a cancellation from a heartbeat response');

    await resumeDevice(client, deviceId);
    await until('the session streaming again', streaming, 60_000, 50);
    const reconfigured = await reconfigureDevice(client, deviceId, 'direct stop test');
    assert.equal(reconfigured.generation, 1);
    await until('the reconfigured session streaming', streaming, 60_000, 50);
    assert.deepEqual(streamEnds, ['stopped', 'stopped'], 'the reconfigure ended the old stream by the direct stop too');
    assert.equal(streams, 3, 'never two streams of the device at once: the third began after the second ended');

    const events = await history();
    const patches = events
      .filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)
      .map((e) => Object.values(e.markerRecordedEventAttributes?.details ?? {}).flatMap((p) => (p.payloads ?? []).map((x) => Buffer.from(x.data ?? []).toString())).join());
    assert.ok(patches.some((d) => d.includes('direct-session-stop')), `the patch marker is recorded (${patches.join(' | ')})`);
    const cancelRequests = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
    assert.equal(cancelRequests.length, 2, 'the cancellation is still requested each time');
    const directStops = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === 'endLocalSession');
    assert.equal(directStops.length, 2, 'one direct stop per cancellation');
    for (const s of directStops) assert.equal(s.activityTaskScheduledEventAttributes?.taskQueue?.name, stopQueue, 'on the collector\'s own stop queue');
    const ended = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED && activityType(events, e.activityTaskFailedEventAttributes?.scheduledEventId) === 'runDeviceSession');
    assert.deepEqual(
      ended.map((e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type),
      ['SESSION_STOPPED', 'SESSION_STOPPED'],
      'both attempts ended as stopped by the workflow',
    );
    await handle.signal(stopSignal, { reason: 'test over' });
    await handle.result();
    assert.deepEqual(streamEnds, ['stopped', 'stopped', 'stopped'], 'a stop ends the session the same way');
    await recordHistories(client, [deviceSessionWorkflowId(deviceId)], 'placed-direct-stop');
  });
});
