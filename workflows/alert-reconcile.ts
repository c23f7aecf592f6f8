/**
 * Run by a Temporal Schedule every minute: starts, updates and stops alert-rule
 * workflows so they match the alert_rules table (issue 18), as fleet-reconcile does
 * for device sessions.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { AlertActivities, AlertReconcileReport } from '../activities/types';
import { TASK_QUEUES } from '../core/names';

const { reconcileAlertRules } = proxyActivities<AlertActivities>({
  taskQueue: TASK_QUEUES.control,
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3 },
});

/** Reconcile once and report what changed. */
export async function alertReconcileWorkflow(): Promise<AlertReconcileReport> {
  return reconcileAlertRules();
}
