/**
 * Run by the `storage-maintenance` Temporal Schedule (native PostgreSQL mode):
 * one short activity that creates partitions ahead, drops expired ones and
 * brings the 1-minute and 1-hour rollups up to date, including buckets that late
 * points made dirty. Under TimescaleDB the extension's policies do the rest; the
 * activity only refreshes the continuous aggregates over dirty ranges (ADR 032).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { MaintenanceActivities, MaintenanceReport } from '../activities/maintenance';

// No taskQueue: the activity runs on the workflow's own queue (the control queue in production).
const { runStorageMaintenance } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds' },
});

/** One maintenance pass; returns what it did (visible in Temporal Web). */
export async function storageMaintenanceWorkflow(): Promise<MaintenanceReport> {
  return runStorageMaintenance();
}
