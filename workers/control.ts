/**
 * Control worker (task queue `control`): the workflows and short activities.
 * Also keeps the fleet-reconcile Schedule in place.
 */
import { fileURLToPath } from 'node:url';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { RECONCILE_SCHEDULE_ID, TASK_QUEUES } from '../core/names';
import { MAINTENANCE_SCHEDULE_ID } from '../core/names';
import { createMaintenanceActivities } from '../activities/maintenance';
import { createControlActivities } from '../activities/control';
import { sessionOptionsFromConfig } from '../activities/fleet';
import { createKnex } from '../activities/db/pool';
import { connectClient, connectWorker } from '../temporal/client';
import { installWorkerRuntime } from '../temporal/runtime';

const log = createLogger('control-worker');

/** Create the reconcile schedule when missing (every minute). */
export async function ensureReconcileSchedule(client: Client): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: RECONCILE_SCHEDULE_ID,
      spec: { intervals: [{ every: '1 minute' }] },
      action: { type: 'startWorkflow', workflowType: 'fleetReconcileWorkflow', taskQueue: TASK_QUEUES.control, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    log.info('created the fleet-reconcile schedule');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

/** Create the storage-maintenance schedule when missing (partitions and rollups, native mode). */
export async function ensureMaintenanceSchedule(client: Client, everySeconds: number): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: MAINTENANCE_SCHEDULE_ID,
      spec: { intervals: [{ every: `${Math.max(10, everySeconds)} seconds` }] },
      action: { type: 'startWorkflow', workflowType: 'storageMaintenanceWorkflow', taskQueue: TASK_QUEUES.control, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    log.info('created the storage-maintenance schedule');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

async function main() {
  const config = loadConfig();
  installWorkerRuntime(config);
  const db = createKnex(config.DATABASE_URL);
  const client = await connectClient(config);
  const connection = await connectWorker(config);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: TASK_QUEUES.control,
      workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
      activities: {
        ...createControlActivities({ db, client, sessionOptions: sessionOptionsFromConfig(config) }),
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
    });
    await ensureReconcileSchedule(client);
    await ensureMaintenanceSchedule(client, config.MAINTENANCE_INTERVAL_S);
    log.info('control worker running', { taskQueue: TASK_QUEUES.control, temporal: config.TEMPORAL_ADDRESS });
    await worker.run();
  } finally {
    await connection.close();
    await client.connection.close();
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
