/**
 * Run by a Temporal Schedule every minute: makes the session workflows match
 * the devices table (starts are idempotent), so any drift heals by itself.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ControlActivities, ReconcileReport } from '../activities/types';
import { TASK_QUEUES } from '../core/names';

const { reconcileFleet } = proxyActivities<ControlActivities>({
  taskQueue: TASK_QUEUES.control,
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3 },
});

/** Reconcile once and report what changed. */
export async function fleetReconcileWorkflow(): Promise<ReconcileReport> {
  return reconcileFleet();
}
