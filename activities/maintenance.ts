/**
 * The storage-maintenance activity (control worker, `storage-maintenance` Schedule): a thin
 * factory over storage/storage-mode.ts, which owns what differs between the storage modes.
 */
import type { Knex } from 'knex';
import { runMaintenance, type MaintenanceReport, type MaintenanceSettings } from '../storage/storage-mode';

export type { MaintenanceReport } from '../storage/storage-mode';

/** Activities registered on the control worker. */
export interface MaintenanceActivities {
  runStorageMaintenance(): Promise<MaintenanceReport>;
}

/** Build the maintenance activities (the control worker wires them). */
export function createMaintenanceActivities(deps: { db: Knex; settings: MaintenanceSettings; now?: () => number }): MaintenanceActivities {
  return {
    async runStorageMaintenance() {
      return runMaintenance(deps.db, deps.settings, deps.now?.() ?? Date.now());
    },
  };
}
