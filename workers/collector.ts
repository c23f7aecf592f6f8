/**
 * Collector worker: the long-running session activities and the ingest batcher,
 * plus /metrics and /healthz. Start more of them, anywhere, to scale out: each
 * registers in the collector registry with a lease it renews every second and
 * polls its own task queue, where placement schedules the sessions it should
 * hold (ADR 110); it also polls the shared `device-sessions` queue (Test
 * connection, and sessions of workflows started before placement).
 *
 * SIGTERM: stop polling, place every session elsewhere in one transaction and
 * keep each stream until its new collector streams the device (make before break,
 * ADR 236; a session placed nowhere ends at once, ADR 295), flush the batcher,
 * exit; a hard bound (COLLECTOR_SHUTDOWN_FORCE_MS) makes sure it never hangs.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { LagTracker, metrics } from '../core/metrics';
import { TASK_QUEUES } from '../core/names';
import { announceUp, anotherCollectorLive, handoffRoute, placeSessions, setDraining } from '../storage/collectors';
import { combineRoutes, listenReconnecting } from '../storage/listen';
import { HandoverWhenUp, nowhereToGo } from './collector-handover';
import { loadDeviceConfigs, pinHostKey } from '../storage/devices';
import { capabilitiesRecorder, withKnownCapabilities } from '../storage/gnmi-capabilities';
import { WarmSessions } from './collector-warm-sessions';
import { holdLease, newRegistration } from './collector-lease';
import { localStopWorkerOptions } from './collector-stops';
import { bulkPauseRoute, type LocalPauses } from './collector-bulk-pause';
import { createPool, createKnex, pingDatabase } from '../storage/pool';
import { openKeyring } from '../storage/secrets';
import { IngestBatcher } from '../storage/batcher';
import { getProtocol } from '../protocols/index';
import { DialLimiter } from '../protocols/dial-limiter';
import { createSessionActivities } from '../activities/session';
import { createSessionRunner } from './collector-session-runner';
import { HandoverPlacements } from './collector-handover-placements';
import { UnplacedSessions } from './collector-unplaced';
import { createProbeActivities } from '../activities/probe';
import { connectClient, connectWorker } from '../temporal/client';
import { installWorkerRuntime } from '../temporal/runtime';
import { role } from '../core/roles';
import { listen, reachable, sendHealth, workerAlive } from './health';
import { shutdownBudget } from './collector-shutdown';

const log = createLogger('collector');

/** Session states as /metrics reports them (a session is "connecting" until its first points). */
const LIVE_STATES = ['connecting', 'streaming'] as const;

/** Registers the collector's own gauges; returns a stop function for its timers and the event-loop p99 (s). */
function registerGauges(liveSessions: Map<string, 'connecting' | 'streaming'>, heartbeatLag: LagTracker): { stop(): void; loopP99(): number } {
  metrics.describe('sessions', 'Session activities running in this collector, by state');
  metrics.gauge('sessions', () => LIVE_STATES.map((state) => [{ state }, [...liveSessions.values()].filter((s) => s === state).length]));
  // Event-loop delay over the last 10 s window (a stalled loop delays heartbeats and points).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let window = { p50: 0, p99: 0, max: 0 };
  // Flush latency: mean over the last window, from the batcher's sum and count.
  let flushes = { seconds: 0, count: 0, mean: 0 };
  const roll = setInterval(() => {
    window = { p50: loopDelay.percentile(50) / 1e9, p99: loopDelay.percentile(99) / 1e9, max: loopDelay.max / 1e9 };
    loopDelay.reset();
    const seconds = metrics.total('ingest_flush_seconds_total');
    const count = metrics.total('ingest_flushes_total');
    flushes = { seconds, count, mean: count > flushes.count ? (seconds - flushes.seconds) / (count - flushes.count) : flushes.mean };
  }, 10_000);
  roll.unref();
  const current = () => (window.max > 0 ? window : { p50: loopDelay.percentile(50) / 1e9, p99: loopDelay.percentile(99) / 1e9, max: loopDelay.max / 1e9 });
  metrics.describe('event_loop_delay_seconds', 'Event-loop delay over the last 10 s, by quantile');
  metrics.gauge('event_loop_delay_seconds', () => {
    const w = current();
    return [
      [{ quantile: '0.5' }, w.p50],
      [{ quantile: '0.99' }, w.p99],
      [{ quantile: '1' }, w.max],
    ];
  });
  metrics.describe('session_heartbeat_lag_seconds', 'Largest lateness of a session heartbeat tick over the last 10-20 s');
  metrics.gauge('session_heartbeat_lag_seconds', () => heartbeatLag.maxMs / 1000);
  metrics.describe('ingest_flush_latency_seconds', 'Mean flush duration over the last 10 s window');
  metrics.gauge('ingest_flush_latency_seconds', () => {
    const seconds = metrics.total('ingest_flush_seconds_total');
    const count = metrics.total('ingest_flushes_total');
    return count > flushes.count ? (seconds - flushes.seconds) / (count - flushes.count) : flushes.mean;
  });
  metrics.gauge('process_resident_memory_bytes', () => process.memoryUsage().rss);
  // Counters exist from the start, so dashboards and tests see zeros rather than nothing.
  for (const name of [
    'session_points_received_total',
    'ingest_points_received_total',
    'ingest_points_written_total',
    'ingest_points_dropped_total',
    'ingest_flushes_total',
    'ingest_flush_seconds_total',
    'session_failures_total',
    'session_failovers_total',
  ]) {
    metrics.inc(name, 0);
  }
  metrics.describe('session_points_received_total', 'Points received from devices, by protocol');
  return { stop: () => clearInterval(roll), loopP99: () => current().p99 };
}

async function main() {
  const config = loadConfig();
  const budget = shutdownBudget(config);
  for (const held of budget.heldBelow) {
    log.warn(`${held.setting} held to ${held.heldTo} ms ${held.when}: COLLECTOR_SHUTDOWN_FORCE_MS is too short for ${held.value} ms`, {
      boundMs: config.COLLECTOR_SHUTDOWN_FORCE_MS,
      workerForceMs: budget.workerForceMs,
    });
  }
  // Each ingest lane holds a connection while it flushes; the rest serve device loads, placement and the lease.
  const pool = createPool(config.DATABASE_URL, 7 + config.INGEST_FLUSH_LANES);
  const db = createKnex(config.DATABASE_URL, 8);
  // Refuses to create a fresh key while stored secrets need one that is missing (ADR 044).
  const keyring = await openKeyring(db, { key: config.SECRETS_KEY, keyFile: config.SECRETS_KEY_FILE, dataDir: config.DATA_DIR });
  const batcher = new IngestBatcher({
    pool,
    batchSize: config.INGEST_BATCH_SIZE,
    flushIntervalMs: config.INGEST_FLUSH_MS,
    lanes: config.INGEST_FLUSH_LANES,
    maxBuffered: config.INGEST_MAX_BUFFERED,
    maxHeld: config.INGEST_MAX_HELD,
    lateAfterMs: config.INGEST_LATE_AFTER_MS,
    maxSeriesPerDevice: config.INGEST_MAX_SERIES_PER_DEVICE,
    maxFutureMs: config.INGEST_MAX_FUTURE_MS,
    metrics,
    log,
  });
  const liveSessions = new Map<string, 'connecting' | 'streaming'>();
  const heartbeatLag = new LagTracker();
  const gauges = registerGauges(liveSessions, heartbeatLag);
  const handovers = new Map<number, () => void>();
  const handoverPlacements = new HandoverPlacements();
  const dials = new DialLimiter(Math.max(1, config.COLLECTOR_MAX_CONCURRENT_DIALS));
  metrics.describe('session_dials', 'Sessions dialling their device now, and waiting for a dial slot (COLLECTOR_MAX_CONCURRENT_DIALS)');
  metrics.gauge('session_dials', () => [
    [{ state: 'in_progress' }, dials.active],
    [{ state: 'waiting' }, dials.waiting],
  ]);
  const leaving = new AbortController();
  /** SIGTERM received: every session is being handed over (ADR 236) and then `leaving` aborts the rest. */
  let stopping = false;
  /** The sessions handed over at SIGTERM: reported running until the exit, so if the exit is forced (results lost) the monitor tells their workflows (ADR 262). */
  let handedOverAtExit: number[] = [];
  // Make before break (ADR 236): sessions being handed over end here when their new collector streams them.
  const whenUp = new HandoverWhenUp((deviceId) => handovers.get(deviceId)?.(), metrics);
  // Every session listens on this one signal: no listener limit (Node warns past 10).
  setMaxListeners(0, leaving.signal);

  // Runtime.install must precede the first connection; its shutdown signals stop the worker's polling.
  installWorkerRuntime(config, { shutdownSignals: ['SIGINT', 'SIGTERM', 'SIGQUIT'] });
  const client = await connectClient(config);
  const connection = await connectWorker(config);
  const registration = newRegistration({ id: config.COLLECTOR_ID, capacity: config.COLLECTOR_MAX_SESSIONS, leaseMs: config.COLLECTOR_LEASE_MS, warmHandOver: config.COLLECTOR_WARM_ADOPT_MS > 0 });
  // Warm hand-over (ADR 235): running sessions placed here because their collector was lost or is
  // leaving are dialled at once; their attempts adopt the streams when Temporal starts them here.
  // Every Capabilities answer is kept; a warm hand-over subscribes with it instead of asking again (ADR 298).
  const onCapabilities = capabilitiesRecorder(db, log);
  const warm =
    config.COLLECTOR_WARM_ADOPT_MS > 0
      ? new WarmSessions({
          db,
          loadDevices: async (deviceIds) => {
            const loaded = await loadDeviceConfigs(db, keyring, deviceIds);
            return config.GNMI_HANDOVER_REUSES_CAPABILITIES ? withKnownCapabilities(db, loaded) : loaded;
          },
          onCapabilities,
          getProtocol,
          sink: batcher,
          metrics,
          dials,
          adoptWithinMs: config.COLLECTOR_WARM_ADOPT_MS,
          saveHostKey: (deviceId, sha256) => pinHostKey(db, deviceId, sha256),
          onUp: (deviceId) => upBatch.add(deviceId),
          log,
        })
      : undefined;
  // Streaming now (a warm stream's first point, an attempt's first point): said in batches, so a collector
  // handing the device over ends its stream, and one holding a warm stream for it that no attempt will adopt ends that (ADR 236).
  const upBatch = new Set<number>();
  const announcing = setInterval(() => {
    if (upBatch.size === 0) return;
    const ids = [...upBatch];
    upBatch.clear();
    announceUp(db, registration.taskQueue, ids).catch((err) => log.warn('could not announce taken-over sessions', { sessions: ids.length, error: (err as Error).message }));
  }, 50);
  announcing.unref();
  warm?.startSweeping();
  // A bulk pause ends the attempts running here as paused, without Temporal (ADR 250).
  const pauses: LocalPauses = new Map();
  // One LISTEN connection (reconnecting) for hand-overs, taken-over announcements and bulk pauses.
  const routes = [bulkPauseRoute({ db, taskQueue: registration.taskQueue, pauses, metrics, log })];
  if (warm) {
    routes.push(
      handoffRoute(registration.taskQueue, {
        handedOver(deviceIds) {
          if (leaving.signal.aborted) return;
          log.info('sessions handed over: dialling them now (warm hand-over)', { sessions: deviceIds.length });
          void warm.start(deviceIds);
        },
        up: (deviceIds) => {
          whenUp.up(deviceIds);
          warm.takenElsewhere(deviceIds);
        },
      }),
    );
  }
  const notifications = listenReconnecting({
    databaseUrl: config.DATABASE_URL,
    ...combineRoutes(...routes),
    onError: (err) => log.warn('notification listener (hand-overs, bulk pauses): connection lost, reconnecting', { error: err.message }),
  });
  const runner = createSessionRunner({
    db,
    keyring,
    dials,
    sink: batcher,
    getProtocol,
    client,
    metrics,
    liveSessions,
    leaving: leaving.signal,
    heartbeatLag,
    idleTimeoutMs: config.SESSION_IDLE_TIMEOUT_MS,
    defaultLeaseMs: config.SESSION_LEASE_MS,
    handovers,
    pauses,
    handoverPlacements,
    warm,
    onStreaming: (deviceId) => upBatch.add(deviceId),
    onCapabilities,
  });
  // Placed sessions: this collector's own queue (ADR 110). A pause reaches them by the direct stop
  // (endLocalSession), so their heartbeats carry progress only and go out rarely (ADR 160); they hand
  // their progress to the SDK every half of that interval, not every second (ADR 294).
  const placedThrottleMs = Math.max(1000, Math.min(config.SESSION_PLACED_HEARTBEAT_THROTTLE_MS, config.SESSION_PLACED_HEARTBEAT_TIMEOUT_MS / 2));
  const placedSessionActivities = createSessionActivities({ runner, heartbeatThrottleMs: placedThrottleMs });
  // The shared queue's sessions: every heartbeat tick (their throttle is 2 s; a pause reaches them in a heartbeat response).
  const sessionActivities = createSessionActivities({ runner });
  // The shared queue's sessions that placement could not place when they began (ADR 292): moved onto placement below.
  const unplaced = new UnplacedSessions(metrics);
  const sharedSessionActivities: typeof sessionActivities = {
    ...sessionActivities,
    runDeviceSession: (input) => unplaced.track(input, () => sessionActivities.runDeviceSession(input)),
  };
  const workerOptions = {
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    // Sized for COLLECTOR_MAX_SESSIONS (default 1,000) concurrent sessions: each holds one slot for hours.
    maxConcurrentActivityTaskExecutions: config.COLLECTOR_MAX_SESSIONS,
    maxConcurrentActivityTaskPolls: Math.max(1, Math.min(config.COLLECTOR_ACTIVITY_POLLERS, config.COLLECTOR_MAX_SESSIONS)),
    // Shared queue: heartbeats reach the server at least every 2 s, so a pause (cancellation) reaches the session quickly.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
    // Sessions end on our own SIGTERM handler, each when its new collector streams it (ADR 236); the grace time is only a backstop.
    shutdownGraceTime: budget.workerGraceMs,
    shutdownForceTime: budget.workerForceMs,
  } as const;
  const worker = await Worker.create({
    ...workerOptions,
    maxHeartbeatThrottleInterval: placedThrottleMs,
    defaultHeartbeatThrottleInterval: placedThrottleMs,
    taskQueue: registration.taskQueue,
    activities: { ...placedSessionActivities },
  });
  // The stop queue: the direct stops of this collector's placed sessions, with slots of its own (ADR 230).
  const stopWorker = await Worker.create({ ...workerOptions, ...localStopWorkerOptions(registration.taskQueue, sessionActivities) });
  // The shared queue: Test connection, and sessions of workflows that predate placement.
  const sharedWorker = await Worker.create({
    ...workerOptions,
    taskQueue: TASK_QUEUES.sessions,
    activities: { ...createProbeActivities({ db, keyring, dials, getProtocol, metrics }), ...sharedSessionActivities },
  });
  // Renewal gaps as the lease thread measured them: a gap past COLLECTOR_LEASE_MS is a lapse (ADR 165).
  metrics.describe('collector_lease_renewal_gap_max_seconds', "Longest time between two renewals of this collector's lease");
  metrics.describe('collector_lease_lapses_total', 'Renewals that came after the lease had lapsed (its sessions were failed over)');
  metrics.inc('collector_lease_lapses_total', 0);
  let leaseGapMaxMs = 0;
  metrics.gauge('collector_lease_renewal_gap_max_seconds', () => leaseGapMaxMs / 1000);
  const lease = await holdLease(
    {
      db,
      databaseUrl: config.DATABASE_URL,
      stallMs: config.COLLECTOR_STALL_MS,
      livenessLock: config.COLLECTOR_LIVENESS_LOCK,
      onRenewed: (gapMs) => {
        leaseGapMaxMs = Math.max(leaseGapMaxMs, gapMs);
        if (gapMs > config.COLLECTOR_LEASE_MS) metrics.inc('collector_lease_lapses_total');
        if (unplaced.size > 0) void moveUnplaced().catch((err) => log.warn('could not move unplaced sessions onto placement', { error: (err as Error).message }));
      },
      log,
      capacity: config.COLLECTOR_MAX_SESSIONS,
      leaseMs: config.COLLECTOR_LEASE_MS,
      renewMs: Math.max(100, config.COLLECTOR_LEASE_RENEW_MS),
      runningDevices: () => (stopping ? [...new Set([...handedOverAtExit, ...handovers.keys()])] : [...handovers.keys()]),
      loopP99Seconds: gauges.loopP99,
      // A session already handed over by make before break ends when its new collector streams it, or at the bound.
      handOver: (deviceId) => (whenUp.has(deviceId) ? undefined : handovers.get(deviceId)?.()),
      // Drained (not by our own SIGTERM, which hands everything over already): hand every session over.
      onDraining: (draining) => {
        if (draining && !stopping) void handOverSessions([...handovers.keys()], 'drained');
      },
      // Rebalancing moves, make before break too (ADR 236); without an overlap, each is ended at once as before.
      moveOff:
        budget.overlapMs > 0
          ? (deviceIds) => {
              const ids = deviceIds.filter((id) => handovers.has(id) && !whenUp.has(id));
              if (ids.length && !stopping) void handOverSessions(ids, 'moved');
            }
          : undefined,
      onEvicted: () => process.kill(process.pid, 'SIGTERM'),
    },
    registration,
  );

  /**
   * Hand sessions over (SIGTERM and drained: every one; rebalancing: those asked to move). Marked
   * draining first (SIGTERM), so placement sends the sessions elsewhere, then placed in one transaction
   * that tells the new collectors (ADR 200, 235): each hand-over result names its next queue, waiting
   * for that placement at most its bound (ADR 231). Each stream is kept here until its new collector
   * streams the device, at most the overlap bound (make before break, ADR 236); leaving, only while a
   * collector was told to take it (ADR 295). Resolves when none waits.
   */
  const handOverSessions = (running: number[], why: 'leaving' | 'drained' | 'moved' | 'unplaced'): Promise<void> => {
    // Leaving: within the shutdown bound; drained or moving: no shutdown waits, the new collectors may take longer to dial.
    const bound = why === 'leaving' ? budget.leavingOverlapMs : Math.max(budget.overlapMs, config.COLLECTOR_WARM_ADOPT_MS > 0 ? config.COLLECTOR_MOVE_OVERLAP_MS : 0);
    whenUp.expect(running, bound);
    const said = why === 'unplaced' ? 'unplaced sessions: handing them over onto placement' : `collector ${why}: handing sessions over`;
    (why === 'moved' ? log.debug : log.info).call(log, said, { sessions: running.length, overlapMs: bound });
    // Unplaced sessions (ADR 292) go to another collector: placed here they would be redialled, not handed over.
    const movingOff = why === 'unplaced' ? registration.id : undefined;
    const place = () => (why === 'leaving' ? setDraining(db, registration.id, true) : Promise.resolve(true)).then(() => placeSessions(db, running, { handoff: true, movingOff }));
    const placed = handoverPlacements.start(place, budget.handoverWaitMs);
    // Leaving (ADR 295): a stream is kept only for a collector told to take it; the rest end now, so a lone
    // collector (npm start, a last replica) stops at once however long the overlap.
    if (why === 'leaving') void placed.then((p) => whenUp.nowhere(nowhereToGo(running, p)));
    return whenUp.settled();
  };

  /**
   * At each renewal while unplaced sessions run here (ADR 292): at most PLACEMENT_MAX_MOVES of them in flight, each
   * handed over to another live collector; with none live (or this one draining or leaving) they stay until there is.
   */
  async function moveUnplaced(): Promise<void> {
    if (stopping || lease.draining() || !(await anotherCollectorLive(db, registration.id))) return;
    const ids = unplaced.take(Math.max(1, config.PLACEMENT_MAX_MOVES), (id) => handovers.has(id) && !whenUp.has(id));
    if (ids.length) void handOverSessions(ids, 'unplaced');
  }

  const onTerminate = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('collector leaving: handing sessions over', { signal, sessions: liveSessions.size });
    // The Runtime's handler (installed first) already asked the worker to stop polling; its grace time
    // covers the overlap. Sessions the new collectors have not taken by then end here at once.
    warm?.close();
    handedOverAtExit = [...handovers.keys()];
    const bound = setTimeout(() => leaving.abort(), budget.leavingOverlapMs);
    void handOverSessions([...handovers.keys()], 'leaving').then(() => {
      clearTimeout(bound);
      leaving.abort();
    });
    setTimeout(() => {
      // The points received and not committed die with the process, and so do its counters: this line is their only record.
      const pointsLost = batcher.unwritten;
      log.error('forced exit: shutdown took longer than COLLECTOR_SHUTDOWN_FORCE_MS', {
        boundMs: config.COLLECTOR_SHUTDOWN_FORCE_MS,
        pointsLost,
        // The final counters, as `collector stopped` gives them on a clean exit; dropped includes the points lost here.
        received: metrics.total('session_points_received_total'),
        dropped: metrics.total('ingest_points_dropped_total') + pointsLost,
        sessionsStillHere: liveSessions.size,
        handovers: {
          up: metrics.get('session_handovers_total', { ended: 'up' }),
          bound: metrics.get('session_handovers_total', { ended: 'bound' }),
          nowhere: metrics.get('session_handovers_total', { ended: 'nowhere' }),
        },
      });
      process.exit(1);
    }, config.COLLECTOR_SHUTDOWN_FORCE_MS).unref();
  };
  process.on('SIGTERM', onTerminate);
  process.on('SIGINT', onTerminate);

  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.render());
    } else if (req.url === role('collector').livePath) {
      // Alive (not ready): answers while the database or Temporal is away — a restart would lose held points.
      const state = worker.getState();
      sendHealth(res, { ok: workerAlive(state) && workerAlive(sharedWorker.getState()), body: { worker: state } });
    } else if (req.url === role('collector').healthPath) {
      const problems: string[] = [];
      const state = worker.getState();
      if (state !== 'RUNNING') problems.push(`worker ${state}: not polling for sessions`);
      if (sharedWorker.getState() !== 'RUNNING') problems.push(`shared-queue worker ${sharedWorker.getState()}: not polling`);
      // The worker stays RUNNING while Temporal is away (polls retry), so ask Temporal too.
      const [dbProblem, temporalProblem] = await Promise.all([reachable(() => pingDatabase(pool)), reachable(() => client.connection.workflowService.getSystemInfo({}))]);
      if (dbProblem) problems.push(`database unreachable: ${dbProblem}`);
      if (temporalProblem) problems.push(`Temporal unreachable: ${temporalProblem}`);
      res.writeHead(problems.length ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: problems.length === 0, worker: state, problems, sessions: liveSessions.size, buffered: batcher.buffered }));
    } else {
      res.writeHead(404).end();
    }
  });
  const metricsPort = await listen(server, config.COLLECTOR_METRICS_PORT, config.COLLECTOR_METRICS_HOST);
  log.info('collector worker running', {
    id: registration.id,
    taskQueue: registration.taskQueue,
    maxSessions: config.COLLECTOR_MAX_SESSIONS,
    metrics: `http://${config.COLLECTOR_METRICS_HOST}:${metricsPort}/metrics`,
  });
  let workersDone = false;
  try {
    // Any worker failing stops the others: the process exits and a supervisor restarts it.
    const stopBoth = (err: unknown) => {
      for (const w of [worker, sharedWorker, stopWorker]) if (w.getState() === 'RUNNING') w.shutdown();
      throw err;
    };
    await Promise.all([worker.run().catch(stopBoth), sharedWorker.run().catch(stopBoth), stopWorker.run().catch(stopBoth)]);
    workersDone = true;
  } catch (err) {
    // On SIGTERM: attempts or their results still in flight at the worker's force time (the SDK then says "worker still in
    // use"; seen in bench failover with 1,900 sessions ending together against a busy dev server). Nothing is lost: the row
    // stays to lapse and the placement monitor tells those sessions' workflows where they went (ADR 262).
    if (stopping)
      log.error('collector leaving: its Temporal worker passed its force time with session results still in flight; the placement monitor tells their workflows (ADR 262)', {
        workerForceMs: budget.workerForceMs,
        sessionsHandedOver: handedOverAtExit.length,
        sessionsStillHere: liveSessions.size,
        error: (err as Error).message,
      });
    throw err;
  } finally {
    // Every result reported: the row goes. Otherwise (a forced shutdown) it stays to lapse, naming the sessions handed over (ADR 262).
    await lease.stop(workersDone);
    await notifications.close();
    log.info('collector stopping: flushing the batcher');
    await batcher.close(budget.batcherCloseMs);
    gauges.stop();
    server.close();
    await Promise.allSettled([connection.close(), client.connection.close(), db.destroy(), pool.end()]);
    log.info('collector stopped', {
      received: metrics.total('session_points_received_total'),
      written: metrics.total('ingest_points_written_total'),
      dropped: metrics.total('ingest_points_dropped_total'),
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
