/**
 * Short activities on the `control` task queue: device descriptions for the
 * workflow's memo, and fleet reconciliation (the devices table is the truth).
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { TASK_QUEUES, deviceIdFromWorkflowId, type DeviceSessionOptions } from '../core/names';
import type { ControlActivities, DeviceSummary } from './types';
import { startDeviceSession, stopDeviceSession } from './fleet';

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
      const row = await deps.db('devices').where({ id: deviceId }).first();
      if (!row) return { exists: false, enabled: false };
      const profiles = await deps.db('subscription_profiles as p')
        .join('device_profiles as dp', 'dp.profile_id', 'p.id')
        .where('dp.device_id', deviceId)
        .orderBy('p.name')
        .pluck('p.name');
      return { exists: true, enabled: row.enabled, name: row.name, protocol: row.protocol, address: `${row.host}:${row.port}`, profiles };
    },

    async reconcileFleet() {
      const devices: Array<{ id: number; name: string; protocol: 'gnmi' | 'netconf' }> = await deps.db('devices').select('id', 'name', 'protocol');
      let stopped = 0;
      const known = new Set(devices.map((d) => d.id));
      // Starts are idempotent (USE_EXISTING): a running workflow is left as it is.
      for (const d of devices) await startDeviceSession(deps.client, d, deps.sessionOptions);
      // Workflows whose device is gone end.
      const running = deps.client.workflow.list({
        query: `WorkflowType = 'deviceSessionWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${TASK_QUEUES.control}'`,
      });
      for await (const wf of running) {
        const id = deviceIdFromWorkflowId(wf.workflowId);
        if (id !== undefined && !known.has(id)) {
          await stopDeviceSession(deps.client, id, 'device no longer in the database');
          stopped++;
        }
      }
      return { ensured: devices.length, stopped };
    },
  };
}
