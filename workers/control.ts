/**
 * Control worker (task queue `control`): the workflows and short activities.
 * Also keeps the fleet-reconcile Schedule in place.
 */
import { fileURLToPath } from 'node:url';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { RECONCILE_SCHEDULE_ID, TASK_QUEUES, type DeviceSessionOptions } from '../core/names';
import { createControlActivities } from '../activities/control';
import { createKnex } from '../activities/db/pool';
import { connectClient, connectWorker } from '../temporal/client';

const log = createLogger('control-worker');

/** Session options every started workflow gets, from configuration. */
export function sessionOptionsFromConfig(config: ReturnType<typeof loadConfig>): DeviceSessionOptions {
  return { heartbeatTimeoutMs: config.SESSION_HEARTBEAT_TIMEOUT_MS, leaseMs: config.SESSION_LEASE_MS };
}

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

async function main() {
  const config = loadConfig();
  const db = createKnex(config.DATABASE_URL);
  const client = await connectClient(config);
  const connection = await connectWorker(config);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: TASK_QUEUES.control,
      workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
      activities: createControlActivities({ db, client, sessionOptions: sessionOptionsFromConfig(config) }),
      shutdownGraceTime: '5 seconds',
    });
    await ensureReconcileSchedule(client);
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
