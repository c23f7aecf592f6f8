/**
 * Short activities on the `control` task queue: device descriptions for the
 * workflow's memo, and fleet reconciliation (the devices table is the truth).
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { createLogger } from '../core/log';
import type { DeviceSessionOptions } from '../core/names';
import type { ControlActivities, DeviceSummary, ReconcileReport } from './types';
import { describeDevice, listDeviceItems } from '../storage/devices';
import { listSessions, signalReconfigure, startDeviceSession, stopDeviceSession } from '../temporal/fleet-client';
import { settleEndedBulkActions } from '../fleet/bulk';

const log = createLogger('reconcile');

/** Dependencies of the control activities. */
export interface ControlDeps {
  db: Knex;
  client: Client;
  sessionOptions?: DeviceSessionOptions;
}

/** Build the control activities. */
export function createControlActivities(deps: ControlDeps): ControlActivities {
  return {
    async describeDevice(deviceId: number): Promise<DeviceSummary> {
      return describeDevice(deps.db, deviceId);
    },

    async reconcileFleet(): Promise<ReconcileReport> {
      const devices = await listDeviceItems(deps.db, { orderBy: 'id' });
      const report: ReconcileReport = { ensured: devices.length, started: 0, reconfigured: 0, stopped: 0 };
      const running = new Map((await listSessions(deps.client)).map((s) => [s.deviceId, s]));
      for (const d of devices) {
        const wf = running.get(d.id);
        if (!wf) {
          // Starts are idempotent (USE_EXISTING): a workflow that started meanwhile is left as it is.
          await startDeviceSession(deps.client, d, deps.sessionOptions);
          report.started++;
          continue;
        }
        // Drift: disabled in the database but collecting, enabled but parked as disabled, or renamed.
        const disabledDrift = !d.enabled && wf.state !== 'disabled' && wf.state !== 'paused';
        const enabledDrift = d.enabled && wf.state === 'disabled';
        const renamed = wf.deviceName !== undefined && wf.deviceName !== d.name;
        if (disabledDrift || enabledDrift || renamed) {
          await signalReconfigure(deps.client, d.id, 'reconciled with the devices table', renamed ? d.name : undefined);
          report.reconfigured++;
        }
      }
      const known = new Set(devices.map((d) => d.id));
      for (const wf of running.values()) {
        if (!known.has(wf.deviceId)) {
          await stopDeviceSession(deps.client, wf.deviceId, 'device no longer in the database');
          report.stopped++;
        }
      }
      if (report.started || report.reconfigured || report.stopped) log.info('reconciled the fleet', { ...report });
      // Bulk actions whose workflow ended unfinished (terminated by hand): recorded as interrupted (ADR 205).
      const interrupted = await settleEndedBulkActions(deps.db, deps.client).catch(() => []);
      if (interrupted.length > 0) log.warn('bulk actions whose workflow ended unfinished, recorded as interrupted', { bulkIds: interrupted });
      return report;
    },
  };
}
