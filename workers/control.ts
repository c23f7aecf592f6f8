/**
 * Control worker (task queue `control`, and `control-bulk` for bulk actions): the workflows and short activities
 * (placement among them), the placement monitor (collector leases, rebalancing;
 * ADR 110). Also keeps the fleet-reconcile Schedule in place, and answers /livez and
 * /healthz on CONTROL_HEALTH_HOST:CONTROL_HEALTH_PORT (paths from core/roles.ts), and /metrics there.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { metrics } from '../core/metrics';
import { RECONCILE_SCHEDULE_ID, TASK_QUEUES, WORKFLOW_TYPES } from '../core/names';
import { ALERT_RECONCILE_SCHEDULE_ID, MAINTENANCE_SCHEDULE_ID } from '../core/names';
import { createMaintenanceActivities } from '../activities/maintenance';
import { createControlActivities } from '../activities/control';
import { createAlertActivities } from '../activities/alerts';
import { openKeyring } from '../storage/secrets';
import { createPlacementActivities } from '../activities/placement';
import { createBulkActivities } from '../activities/bulk';
import { startPlacementMonitor } from './placement-monitor';
import { sessionOptionsFromConfig } from '../temporal/fleet-client';
import { alertRuleOptionsFromConfig } from '../temporal/alert-client';
import { createKnex, createPool, pingDatabase, queryConnectionSettings, withServerSettings } from '../storage/pool';
import { countDevices } from '../storage/devices';
import { connectClient, connectWorker } from '../temporal/client';
import { installWorkerRuntime } from '../temporal/runtime';
import { role } from '../core/roles';
import { listen, reachable, sendHealth, workerAlive } from './health';

const log = createLogger('control-worker');

/** Create a schedule starting `workflowType` every `every` when missing (idempotent). */
async function ensureSchedule(client: Client, scheduleId: string, workflowType: string, every: string): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every }] },
      action: { type: 'startWorkflow', workflowType, taskQueue: TASK_QUEUES.control, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    log.info(`created the ${scheduleId} schedule`);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

/** Create the reconcile schedule when missing (every minute). */
export async function ensureReconcileSchedule(client: Client): Promise<void> {
  await ensureSchedule(client, RECONCILE_SCHEDULE_ID, WORKFLOW_TYPES.fleetReconcile, '1 minute');
}

/** Create the storage-maintenance schedule when missing (partitions and rollups, native mode). */
export async function ensureMaintenanceSchedule(client: Client, everySeconds: number): Promise<void> {
  await ensureSchedule(client, MAINTENANCE_SCHEDULE_ID, WORKFLOW_TYPES.storageMaintenance, `${Math.max(10, everySeconds)} seconds`);
}

/** Create the alert-reconcile schedule when missing (every minute): alert-rule workflows follow the alert_rules table. */
export async function ensureAlertReconcileSchedule(client: Client): Promise<void> {
  await ensureSchedule(client, ALERT_RECONCILE_SCHEDULE_ID, WORKFLOW_TYPES.alertReconcile, '1 minute');
}

/**
 * The control worker's health server. Liveness: the process answers and its worker is
 * not failed. Health (readiness): the worker polls and the database and Temporal answer.
 * Bodies say which dependency is missing, never the raw error (the port may be reachable
 * from outside the pod).
 */
function healthServer(getState: () => string, db: ReturnType<typeof createKnex>, client: Client): http.Server {
  const spec = role('control');
  return http.createServer(async (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === spec.livePath) {
      const state = getState();
      sendHealth(res, { ok: workerAlive(state), body: { worker: state } });
    } else if (url === spec.healthPath) {
      const state = getState();
      const [dbProblem, temporalProblem] = await Promise.all([
        reachable(() => pingDatabase(db)),
        reachable(() => client.connection.workflowService.getSystemInfo({})),
      ]);
      if (dbProblem || temporalProblem) log.warn('health check failed', { database: dbProblem, temporal: temporalProblem });
      sendHealth(res, {
        ok: state === 'RUNNING' && !dbProblem && !temporalProblem,
        body: { worker: state, database: dbProblem ? 'unreachable' : 'ok', temporal: temporalProblem ? 'unreachable' : 'ok' },
      });
    } else if (url === '/metrics') {
      // The placement activity's counters (why attempts ask placement, its transactions; ADR 260).
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.render());
    } else {
      res.writeHead(404).end();
    }
  });
}

async function main() {
  const config = loadConfig();
  installWorkerRuntime(config);
  const db = createKnex(config.DATABASE_URL);
  // Alert rules' fleet queries (query/fleet-query.ts) take a pg Pool.
  const alertPool = createPool(withServerSettings(config.DATABASE_URL, queryConnectionSettings(config)), Math.max(1, config.ALERT_EVAL_CONCURRENCY));
  const client = await connectClient(config);
  const connection = await connectWorker(config);
  let worker: Worker | undefined;
  let bulkWorker: Worker | undefined;
  let monitor: ReturnType<typeof startPlacementMonitor> | undefined;
  // Both workers' state: the first that is not RUNNING (a failed one fails liveness).
  const state = () => [worker, bulkWorker].map((w) => w?.getState() ?? 'INITIALIZED').find((s) => s !== 'RUNNING') ?? 'RUNNING';
  const health = healthServer(state, db, client);
  const healthPort = await listen(health, config.CONTROL_HEALTH_PORT, config.CONTROL_HEALTH_HOST);
  log.info('control health endpoints', { url: `http://${config.CONTROL_HEALTH_HOST}:${healthPort}${role('control').healthPath}` });
  try {
    worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: TASK_QUEUES.control,
      workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
      activities: {
        ...createControlActivities({ db, client, sessionOptions: sessionOptionsFromConfig(config) }),
        ...createPlacementActivities({ db }),
        ...createAlertActivities({
          db,
          pool: alertPool,
          ring: await openKeyring(db, { key: config.SECRETS_KEY, keyFile: config.SECRETS_KEY_FILE, dataDir: config.DATA_DIR }),
          client,
          webhookTimeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS,
          ruleOptions: alertRuleOptionsFromConfig(config),
          refreshSessionMirror: true,
          evalConcurrency: config.ALERT_EVAL_CONCURRENCY,
        }),
        ...createMaintenanceActivities({
          db,
          settings: {
            retentionDays: config.RETENTION_DAYS,
            rollupRetentionDays: config.ROLLUP_RETENTION_DAYS,
            partitionsAheadDays: config.PARTITIONS_AHEAD_DAYS,
          },
        }),
      },
      shutdownGraceTime: '5 seconds',
      // Levers of workflow-task throughput (a bulk pause of thousands of sessions is thousands of tasks; ADR 170).
      ...(config.CONTROL_MAX_CACHED_WORKFLOWS > 0 ? { maxCachedWorkflows: config.CONTROL_MAX_CACHED_WORKFLOWS } : {}),
      maxConcurrentWorkflowTaskExecutions: Math.max(2, config.CONTROL_WORKFLOW_TASK_SLOTS),
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: Math.max(2, config.CONTROL_WORKFLOW_TASK_POLLERS) },
    });
    // Bulk actions on a task queue of their own (ADR 170): on `control` the bulk workflow's tasks would wait
    // behind the session workflow tasks its own pause signals make (a minute and more for 5,000 sessions).
    bulkWorker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: TASK_QUEUES.bulk,
      workflowsPath: fileURLToPath(new URL('../workflows/bulk-action.ts', import.meta.url)),
      activities: createBulkActivities({ db, client, sessionOptions: sessionOptionsFromConfig(config), concurrency: config.BULK_CONCURRENCY }),
      shutdownGraceTime: '5 seconds',
    });
    log.info('control worker options', {
      maxCachedWorkflows: worker.options.maxCachedWorkflows,
      workflowTaskSlots: config.CONTROL_WORKFLOW_TASK_SLOTS,
      workflowTaskPollers: config.CONTROL_WORKFLOW_TASK_POLLERS,
    });
    // More session workflows than the sticky cache holds: their tasks replay whole histories (a bulk pause with
    // under half of them cached took 1.7x the control worker's CPU; docs/web.md). A cached session workflow: ~280 KiB RSS.
    const devices = await countDevices(db).catch(() => 0);
    if (devices > worker.options.maxCachedWorkflows) {
      log.warn('more devices than workflows kept in the sticky cache: set CONTROL_MAX_CACHED_WORKFLOWS above the device count', {
        devices,
        maxCachedWorkflows: worker.options.maxCachedWorkflows,
      });
    }
    await ensureReconcileSchedule(client);
    await ensureMaintenanceSchedule(client, config.MAINTENANCE_INTERVAL_S);
    await ensureAlertReconcileSchedule(client);
    log.info('control worker running', { taskQueues: [TASK_QUEUES.control, TASK_QUEUES.bulk], temporal: config.TEMPORAL_ADDRESS });
    monitor = startPlacementMonitor({
      db,
      client,
      log: createLogger('placement'),
      everyMs: Math.max(100, config.PLACEMENT_MONITOR_MS),
      maxMoves: config.PLACEMENT_MAX_MOVES,
      leaseMs: config.COLLECTOR_LEASE_MS,
      lostSignalHoldMs: config.PLACEMENT_LOST_SIGNAL_HOLD_MS,
      databaseUrl: config.DATABASE_URL,
    });
    await Promise.all([worker.run(), bulkWorker.run()]);
  } finally {
    await monitor?.stop();
    health.close();
    await connection.close();
    await client.connection.close();
    await db.destroy();
    await alertPool.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
