/**
 * Fleet operations on session workflows, shared by the control worker
 * (reconciliation), the web app and the ctl command: start (idempotent),
 * pause, resume, reconfigure, stop, status.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  SA,
  TASK_QUEUES,
  deviceSessionWorkflowId,
  pauseUpdate,
  reconfigureSignal,
  reconfigureUpdate,
  resumeUpdate,
  statusQuery,
  stopSignal,
  type DeviceSessionOptions,
  type DeviceSessionStatus,
} from '../core/names';
import type { deviceSessionWorkflow } from '../workflows/device-session';

/** The minimum a start needs to know about a device. */
export interface DeviceRef {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
}

/** Start a device's session workflow; a no-op when it is already running. */
export async function startDeviceSession(
  client: Client,
  device: DeviceRef,
  options: DeviceSessionOptions = {},
): Promise<WorkflowHandle<typeof deviceSessionWorkflow>> {
  return client.workflow.start<typeof deviceSessionWorkflow>('deviceSessionWorkflow', {
    workflowId: deviceSessionWorkflowId(device.id),
    taskQueue: TASK_QUEUES.control,
    args: [{ deviceId: device.id, deviceName: device.name, protocol: device.protocol, options }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `Telemetry session of ${device.name} (${device.protocol})`,
    typedSearchAttributes: [
      { key: SA.DeviceId, value: String(device.id) },
      { key: SA.DeviceName, value: device.name },
      { key: SA.Protocol, value: device.protocol },
      { key: SA.SessionState, value: 'connecting' },
    ],
  });
}

function handle(client: Client, deviceId: number) {
  return client.workflow.getHandle<typeof deviceSessionWorkflow>(deviceSessionWorkflowId(deviceId));
}

/** Pause collection (update: returns once the session stopped). */
export function pauseDevice(client: Client, deviceId: number, reason?: string): Promise<DeviceSessionStatus> {
  return handle(client, deviceId).executeUpdate(pauseUpdate, { args: [{ reason }] });
}

/** Resume collection (update: returns once a session is starting). */
export function resumeDevice(client: Client, deviceId: number, reason?: string): Promise<DeviceSessionStatus> {
  return handle(client, deviceId).executeUpdate(resumeUpdate, { args: [{ reason }] });
}

/** Restart the session with the device's current configuration. */
export function reconfigureDevice(client: Client, deviceId: number, reason?: string): Promise<DeviceSessionStatus> {
  return handle(client, deviceId).executeUpdate(reconfigureUpdate, { args: [{ reason }] });
}

/** Fire-and-forget reconfigure (signal), for bulk edits. */
export async function signalReconfigure(client: Client, deviceId: number, reason?: string): Promise<void> {
  await handle(client, deviceId).signal(reconfigureSignal, { reason });
}

/** End a device's workflow (device deleted); missing workflows are fine. */
export async function stopDeviceSession(client: Client, deviceId: number, reason?: string): Promise<void> {
  try {
    await handle(client, deviceId).signal(stopSignal, { reason });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/** Status of a device's session, or undefined when no workflow runs. */
export async function deviceStatus(client: Client, deviceId: number): Promise<DeviceSessionStatus | undefined> {
  try {
    return await handle(client, deviceId).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
