/**
 * Session placement on the real Temporal dev server and PostgreSQL (ADR 110): the
 * device-session workflow, the placement activity and the control worker's monitor
 * are the real ones; each "collector" is the real lease loop (workers/collector-lease.ts)
 * with a scripted session activity on its own task queue. Proves: sessions spread
 * over the registered collectors; a collector whose lease lapses loses its sessions
 * to the others within seconds although the session heartbeat timeout is a minute
 * (placed by the monitor with the claim: no placement activity per session, ADR 200);
 * a collector that joins receives its share, never more than PLACEMENT_MAX_MOVES
 * moving at once; a drained collector is emptied by clean hand-overs; a leaving
 * collector (SIGTERM) places its sessions itself and they move without placement calls.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DeviceSummary } from '../../activities/types';
import { createPlacementActivities } from '../../activities/placement';
import { TASK_QUEUES, deviceSessionWorkflowId, stopSignal, type DeviceSessionInput, type RunSessionInput, type RunSessionResult } from '../../core/names';
import { createLogger } from '../../core/log';
import { withinShare } from '../../core/placement';
import { PLACEMENT_LOCK, placeSessions, setDraining } from '../../storage/collectors';
import { HandoverPlacements } from '../../workers/collector-handover-placements';
import { holdLease, newRegistration } from '../../workers/collector-lease';
import { startPlacementMonitor } from '../../workers/placement-monitor';
import { until } from '../../testkit/until';
import { recordHistories } from '../support/histories';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { openTestNamespace } from '../support/temporal-namespace';

const DEVICES = 10;
const LEASE_MS = 1500;
const PLACED_HEARTBEAT_TIMEOUT_MS = 60_000;
const MAX_MOVES = 2;
const EventType = protos.temporal.api.enums.v1.EventType;

/** A scripted collector: the real lease loop, a fake session activity on its own queue. */
interface FakeCollector {
  name: string;
  taskQueue: string;
  /** Device ids whose session runs here now. */
  running: Set<number>;
  /** How each session here ended: 'handover', 'cancelled'. */
  ended: string[];
  /** Simulate a crash: stop renewing (the row stays, its lease lapses); sessions here freeze. */
  crash(): Promise<void>;
  /** Leave as workers/collector.ts does on SIGTERM: drain and place every session here in one transaction while the streams end at once; each hand-over waits for it and names its next queue. */
  leave(): void;
  /** Leave as a forced exit does (ADR 262): place every session elsewhere, then die with their hand-over results never delivered; the row stays, naming them. */
  leaveLosingResults(): Promise<void>;
  stop(): Promise<void>;
}

describe('session placement: per-collector queues, lease failover, rebalance, drain', function () {
  this.timeout(120_000);
  const namespace = `placement-${crypto.randomBytes(3).toString('hex')}`;
  const log = createLogger('placement-test', {}, { level: process.env.TEST_VERBOSE ? 'debug' : 'error' });
  let tdb: TestDatabase;
  let clientConnection: Connection;
  let connection: NativeConnection;
  let client: Client;
  let bundle: WorkflowBundleWithSourceMap;
  let control: Worker;
  let controlRun: Promise<void>;
  let monitor: ReturnType<typeof startPlacementMonitor>;
  const collectors: FakeCollector[] = [];
  let deviceIds: number[] = [];
  let mostInFlight = 0;

  async function startCollector(name: string): Promise<FakeCollector> {
    const running = new Set<number>();
    const ended: string[] = [];
    const handovers = new Map<number, () => void>();
    const placements = new HandoverPlacements();
    const frozen = new AbortController();
    const reg = newRegistration({ id: `${name}-${namespace}`, capacity: 100, leaseMs: LEASE_MS });
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue: reg.taskQueue,
      activities: {
        async runDeviceSession(input: RunSessionInput): Promise<RunSessionResult> {
          const ctx = Context.current();
          running.add(input.deviceId);
          try {
            const why = await new Promise<string>((resolve) => {
              handovers.set(input.deviceId, () => resolve('handover'));
              ctx.cancellationSignal.addEventListener('abort', () => resolve('cancelled'));
              frozen.signal.addEventListener('abort', () => resolve('crashed'));
            });
            ended.push(why);
            if (why === 'cancelled') throw ctx.cancellationSignal.reason;
            // As workers/collector-session-runner.ts: the result waits for the leaving collector's placement, bounded (ADR 231).
            return { reason: 'handover', points: 0, next: await placements.next(input.deviceId) };
          } finally {
            running.delete(input.deviceId);
            handovers.delete(input.deviceId);
          }
        },
      },
      shutdownGraceTime: '1 second',
    });
    const run = worker.run();
    let losingResults = false;
    const lease = await holdLease(
      {
        db: tdb.db,
        databaseUrl: tdb.url,
        stallMs: 30_000,
        log,
        capacity: 100,
        leaseMs: LEASE_MS,
        renewMs: 300,
        runningDevices: () => [...running],
        loopP99Seconds: () => 0,
        // Once leaving with its results lost, nothing it ends reaches Temporal: as if it never ended them.
        handOver: (id) => (losingResults ? undefined : handovers.get(id)?.()),
        onEvicted: () => undefined,
      },
      reg,
    );
    let crashed = false;
    const c: FakeCollector = {
      name,
      taskQueue: reg.taskQueue,
      running,
      ended,
      async crash() {
        crashed = true;
        await lease.stop(false);
      },
      leave() {
        const ids = [...running];
        placements.start(() => setDraining(tdb.db, reg.id, true).then(() => placeSessions(tdb.db, ids)), 60_000);
        for (const handOver of [...handovers.values()]) handOver();
      },
      async leaveLosingResults() {
        const ids = [...running];
        losingResults = true;
        await setDraining(tdb.db, reg.id, true);
        await placeSessions(tdb.db, ids, { handoff: true });
        // As workers/collector.ts: the sessions handed over are reported until the exit.
        await until(
          'the leaving collector reporting every session',
          async () => {
            const row = await tdb.db('collectors').where({ id: reg.id }).first('running_devices');
            return ids.every((id) => (row?.running_devices ?? []).map(Number).includes(id));
          },
          30_000,
          50,
        );
        crashed = true;
        await lease.stop(false);
      },
      async stop() {
        if (!crashed) await lease.stop(true);
        frozen.abort();
        worker.shutdown();
        await run;
      },
    };
    collectors.push(c);
    return c;
  }

  const spread = () => collectors.map((c) => c.running.size);
  /** placeSession activities in a device's workflow history so far. */
  const placementActivities = async (id: number) =>
    ((await client.workflow.getHandle(deviceSessionWorkflowId(id)).fetchHistory()).events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'placeSession').length;
  const total = () => spread().reduce((n, x) => n + x, 0);

  before(async function () {
    this.timeout(180_000);
    tdb = await createTestDatabase('placement');
    ({ clientConnection, client, connection } = await openTestNamespace(namespace));
    bundle = await bundleWorkflowCode({ workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
    control = await Worker.create({
      connection,
      namespace,
      taskQueue: TASK_QUEUES.control,
      workflowBundle: bundle,
      activities: {
        describeDevice: async (): Promise<DeviceSummary> => ({ exists: true, enabled: true }),
        ...createPlacementActivities({ db: tdb.db }),
      },
    });
    controlRun = control.run();
    monitor = startPlacementMonitor({ db: tdb.db, client, log, everyMs: 200, maxMoves: MAX_MOVES, leaseMs: LEASE_MS });
    const rows = await tdb
      .db('devices')
      .insert(Array.from({ length: DEVICES }, (_, i) => ({ name: `place-${i}`, protocol: 'gnmi', host: '127.0.0.1', port: 1 })))
      .returning('id');
    deviceIds = rows.map((r: { id: number }) => r.id);
  });

  after(async () => {
    await Promise.allSettled(deviceIds.map((id) => client.workflow.getHandle(deviceSessionWorkflowId(id)).terminate('test over')));
    await monitor?.stop();
    await Promise.allSettled(collectors.map((c) => c.stop()));
    control?.shutdown();
    await controlRun?.catch(() => undefined);
    await connection?.close();
    await clientConnection?.close();
    await tdb?.drop();
  });

  it('spreads sessions over the registered collectors', async () => {
    await startCollector('a');
    await startCollector('b');
    for (const id of deviceIds) {
      const input: DeviceSessionInput = {
        deviceId: id,
        deviceName: `place-${id}`,
        protocol: 'gnmi',
        options: { placement: true, placedHeartbeatTimeoutMs: PLACED_HEARTBEAT_TIMEOUT_MS },
      };
      await client.workflow.start('deviceSessionWorkflow', { taskQueue: TASK_QUEUES.control, workflowId: deviceSessionWorkflowId(id), args: [input] });
    }
    await until('every session running, 5 / 5', async () => total() === DEVICES && spread().every((n) => n === DEVICES / 2), 60_000, 50);
  });

  it('a collector whose lease lapses loses its sessions to the other within seconds, not the heartbeat timeout', async () => {
    const [a, b] = collectors;
    const moved = [...a.running];
    const crashedAt = Date.now();
    await a.crash();
    await until('the other collector running every session', async () => b.running.size === DEVICES, 30_000, 50);
    const ms = Date.now() - crashedAt;
    console.log(`      lease failover: ${moved.length} sessions moved in ${(ms / 1000).toFixed(2)} s (lease ${LEASE_MS / 1000} s, session heartbeat timeout ${PLACED_HEARTBEAT_TIMEOUT_MS / 1000} s)`);
    assert.ok(ms < PLACED_HEARTBEAT_TIMEOUT_MS / 3, `moved after ${ms} ms`);
    assert.deepEqual(a.ended, [], 'the crashed collector never ended its sessions: the workflows moved on without it');
    // The monitor placed them with the claim (ADR 200): after the loss signal, the next attempt was
    // scheduled on the queue it named, with no placement activity in between.
    for (const id of moved) {
      const events = (await client.workflow.getHandle(deviceSessionWorkflowId(id)).fetchHistory()).events ?? [];
      const signal = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && e.workflowExecutionSignaledEventAttributes?.signalName === 'collectorLost');
      assert.ok(signal >= 0, `device ${id} was told its collector is lost`);
      const scheduled = events
        .slice(signal)
        .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        .map((e) => e.activityTaskScheduledEventAttributes);
      const next = scheduled.filter((x) => x?.activityType?.name !== 'endLocalSession');
      assert.equal(next[0]?.activityType?.name, 'runDeviceSession', `device ${id}: the next attempt without placeSession (${next.map((x) => x?.activityType?.name).join(', ')})`);
      assert.equal(next[0]?.taskQueue?.name, b.taskQueue, 'on the queue of the collector left');
    }
    await recordHistories(client, moved.map(deviceSessionWorkflowId), 'placed-failover-monitor');
  });

  it('a joining collector receives its share with at most PLACEMENT_MAX_MOVES moving at once; a drained one is emptied by hand-overs', async () => {
    const watch = setInterval(() => {
      void tdb.db.raw(`SELECT count(*)::int AS n FROM session_placements WHERE move_requested_at IS NOT NULL`).then(
        ({ rows }) => (mostInFlight = Math.max(mostInFlight, rows[0].n)),
        () => undefined,
      );
    }, 50);
    try {
      const [, b] = collectors;
      const c = await startCollector('c');
      // Rebalancing stops once both are within their share ±10 % (rounded outward: 4 to 6 of 10).
      const balanced = () => b.running.size + c.running.size === DEVICES && [b, c].every((x) => withinShare(x.running.size, DEVICES / 2));
      await until('the joined collector running its share (5 ±10 %)', async () => balanced(), 60_000, 50).catch(async (err) => {
        const placements = (await tdb.db.raw(`SELECT device_id, collector_id, move_requested_at, lost_signalled_at FROM session_placements ORDER BY device_id`)).rows;
        throw new Error(`${(err as Error).message}: running ${spread().join(' / ')}, ended on b ${b.ended.join(',')}; placements ${JSON.stringify(placements)}`);
      });
      assert.ok(b.ended.every((e) => e === 'handover') && b.ended.length === c.running.size, `sessions left b by hand-over (${b.ended.join(', ')})`);
      const onC = c.running.size;
      assert.ok(mostInFlight <= MAX_MOVES, `at most ${MAX_MOVES} moves in flight (${mostInFlight})`);
      assert.ok(await setDraining(tdb.db, `c-${namespace}`, true));
      await until('the drained collector empty, the other running every session', async () => c.running.size === 0 && b.running.size === DEVICES, 60_000, 50);
      assert.deepEqual(c.ended, Array(onC).fill('handover'), 'every session left the drained collector by a clean hand-over');
      assert.ok(mostInFlight <= MAX_MOVES, `at most ${MAX_MOVES} moves in flight (${mostInFlight})`);
    } finally {
      clearInterval(watch);
    }
  });

  it('a leaving collector places its sessions itself: each next attempt goes there without a placement activity', async () => {
    const [, b, c] = collectors;
    // A slow placement (ADR 231): the placement lock held elsewhere, past the 1 s a leaving collector
    // once allowed it, until every stream has ended and the placement is seen waiting for the lock.
    // Held before c takes sessions again: the monitor's rebalancing takes the same lock, so none of b's
    // sessions moves to c between the snapshot below and b leaving (a move there ended one early).
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const lockHeld = new Promise<void>((r) => (locked = r));
    const holder = tdb.db.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [PLACEMENT_LOCK]);
      locked();
      await released;
    });
    await lockHeld;
    assert.ok(await setDraining(tdb.db, `c-${namespace}`, false));
    const leaving = [...b.running];
    const placementsBefore = new Map<number, number>();
    for (const id of leaving) placementsBefore.set(id, await placementActivities(id));
    const endedBefore = b.ended.length;
    const leftAt = Date.now();
    b.leave();
    await until('every leaving stream ended at once', async () => b.ended.length === endedBefore + leaving.length, 30_000, 20);
    // Marked draining: its placement, the next statement, now waits for the lock.
    await until(
      'the leaving collector draining',
      async () =>
        (
          await tdb
            .db('collectors')
            .where({ id: `b-${namespace}` })
            .first('draining')
        )?.draining === true,
      30_000,
      20,
    );
    await until('longer than the 1 s bound a leaving collector once gave its placement', async () => Date.now() - leftAt > 1500, 10_000, 50);
    assert.equal(b.running.size, leaving.length, 'no hand-over result yet: each waits for the placement');
    release();
    await holder;
    await until('the other collector running every session', async () => c.running.size === DEVICES, 30_000, 50);
    for (const id of leaving) {
      assert.equal(await placementActivities(id), placementsBefore.get(id), `device ${id}: no placeSession after the hand-over`);
      const events = (await client.workflow.getHandle(deviceSessionWorkflowId(id)).fetchHistory()).events ?? [];
      const last = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).at(-1)?.activityTaskScheduledEventAttributes;
      assert.equal(last?.activityType?.name, 'runDeviceSession');
      assert.equal(last?.taskQueue?.name, c.taskQueue);
    }
    await recordHistories(client, leaving.slice(0, 1).map(deviceSessionWorkflowId), 'placed-handover-ahead');
    // Nothing left to stop before the workflows end: a stop signal ends each.
    await Promise.all(deviceIds.map((id) => client.workflow.getHandle(deviceSessionWorkflowId(id)).signal(stopSignal, { reason: 'test over' })));
  });
  it('a leaving collector whose hand-over results are lost (forced exit): its sessions move within seconds, without placement activities (ADR 262)', async () => {
    const ids = (
      await tdb
        .db('devices')
        .insert(Array.from({ length: 4 }, (_, i) => ({ name: `forced-${i}`, protocol: 'gnmi', host: '127.0.0.1', port: 1 })))
        .returning('id')
    ).map((r: { id: number }) => Number(r.id));
    const leaving = await startCollector('forced');
    const taker = collectors.find((c) => c.name === 'c')!;
    // Every other collector draining: the new sessions go to the one that will leave.
    assert.ok(await setDraining(tdb.db, `c-${namespace}`, true));
    for (const id of ids) {
      const input: DeviceSessionInput = { deviceId: id, deviceName: `forced-${id}`, protocol: 'gnmi', options: { placement: true, placedHeartbeatTimeoutMs: PLACED_HEARTBEAT_TIMEOUT_MS } };
      await client.workflow.start('deviceSessionWorkflow', { taskQueue: TASK_QUEUES.control, workflowId: deviceSessionWorkflowId(id), args: [input] });
    }
    await until('the new sessions running on the collector that will leave', async () => ids.every((id) => leaving.running.has(id)), 60_000, 50);
    assert.ok(await setDraining(tdb.db, `c-${namespace}`, false));
    const placementsBefore = new Map<number, number>();
    for (const id of ids) placementsBefore.set(id, await placementActivities(id));
    const leftAt = Date.now();
    await leaving.leaveLosingResults();
    // Before ADR 262 nothing told these workflows: each waited for its heartbeat timeout (60 s), then asked placement.
    await until('the collector left running every session whose result was lost', async () => ids.every((id) => taker.running.has(id)), PLACED_HEARTBEAT_TIMEOUT_MS / 3, 50).catch(async (err) => {
      const placements = (await tdb.db.raw(`SELECT device_id, task_queue, placed_at FROM session_placements WHERE device_id = ANY(?::int[])`, [ids])).rows;
      const where = ids.map(
        (id) =>
          `${id}: ${
            collectors
              .filter((c) => c.running.has(id))
              .map((c) => c.name)
              .join(',') || 'nowhere'
          }`,
      );
      const registry = (await tdb.db.raw(`SELECT id, lease_until < now() AS lapsed, draining, running_devices FROM collectors`)).rows;
      throw new Error(`${(err as Error).message}: running ${where.join('; ')}; placements ${JSON.stringify(placements)}; collectors ${JSON.stringify(registry)}`);
    });
    console.log(
      `      forced exit: ${ids.length} sessions moved in ${((Date.now() - leftAt) / 1000).toFixed(2)} s (lease ${LEASE_MS / 1000} s, heartbeat timeout ${PLACED_HEARTBEAT_TIMEOUT_MS / 1000} s)`,
    );
    for (const id of ids) assert.equal(await placementActivities(id), placementsBefore.get(id), `device ${id}: no placeSession after the lost hand-over`);
    await Promise.all(ids.map((id) => client.workflow.getHandle(deviceSessionWorkflowId(id)).signal(stopSignal, { reason: 'test over' })));
  });
});
