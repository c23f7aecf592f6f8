/**
 * Fleet operations on session workflows, shared by the control worker
 * (reconciliation), the web app and the ctl command: start (idempotent),
 * pause, resume, reconfigure (updates: acknowledged; or signals: fire and
 * forget), stop, status, and listing by visibility query.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import {
  SA,
  TASK_QUEUES,
  deviceIdFromWorkflowId,
  deviceSessionWorkflowId,
  WORKFLOW_TYPES,
  type ProbeDeviceInput,
  type ProbeDeviceResult,
  type BulkActionInput,
  type BulkActionSummary,
  pauseSignal,
  pauseUpdate,
  reconfigureSignal,
  reconfigureUpdate,
  resumeSignal,
  resumeUpdate,
  statusQuery,
  stopSignal,
  type DeviceSessionOptions,
  type DeviceSessionStatus,
  type SessionState,
} from '../core/names';
import type { Config } from '../core/config';
import type { deviceSessionWorkflow } from '../workflows/device-session';
import type { deviceProbeWorkflow } from '../workflows/device-probe';

/** Session options every started workflow gets, from configuration (control worker, ctl, web). */
export function sessionOptionsFromConfig(
  config: Pick<Config, 'SESSION_HEARTBEAT_TIMEOUT_MS' | 'SESSION_LEASE_MS'> & Partial<Pick<Config, 'SESSION_PLACEMENT' | 'SESSION_PLACED_HEARTBEAT_TIMEOUT_MS'>>,
): DeviceSessionOptions {
  return {
    heartbeatTimeoutMs: config.SESSION_HEARTBEAT_TIMEOUT_MS,
    leaseMs: config.SESSION_LEASE_MS,
    // Placement (ADR 110) only where the config says so; callers passing a bare pair keep the shared queue.
    ...(config.SESSION_PLACEMENT ? { placement: true, placedHeartbeatTimeoutMs: config.SESSION_PLACED_HEARTBEAT_TIMEOUT_MS } : {}),
  };
}

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
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof deviceSessionWorkflow>> {
  return client.workflow.start<typeof deviceSessionWorkflow>(WORKFLOW_TYPES.deviceSession, {
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

/**
 * Test connection (ADR 091): run the probe workflow under `workflowId` (made by
 * deviceProbeWorkflowId; typed secrets are sealed to it) and wait for its result.
 */
export function probeDeviceConnection(client: Client, workflowId: string, input: ProbeDeviceInput): Promise<ProbeDeviceResult> {
  return client.workflow.execute<typeof deviceProbeWorkflow>(WORKFLOW_TYPES.deviceProbe, {
    workflowId,
    taskQueue: TASK_QUEUES.control,
    args: [input],
    workflowExecutionTimeout: input.timeoutMs + 15_000,
    staticSummary: `Test connection of ${input.name} (${input.protocol}, ${input.host}:${input.port})`,
  });
}

/** The bulk-action workflow's signature (by type name: its module imports activities, which import this one). */
type BulkActionWorkflow = (input: BulkActionInput) => Promise<BulkActionSummary>;

/** Start the workflow that runs a recorded bulk action (ADR 170) on the control worker's bulk queue. */
export async function startBulkActionWorkflow(client: Client, workflowId: string, input: BulkActionInput, summary: string): Promise<void> {
  await client.workflow.start<BulkActionWorkflow>(WORKFLOW_TYPES.bulkAction, {
    workflowId,
    taskQueue: TASK_QUEUES.bulk,
    args: [input],
    staticSummary: summary,
  });
}

/** Wait for a bulk action's workflow to end; its summary (a failed action rejects). */
export function bulkActionResult(client: Client, workflowId: string): Promise<BulkActionSummary> {
  return client.workflow.getHandle<BulkActionWorkflow>(workflowId).result();
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

/** Restart the session with the device's current configuration (and new name, when renamed). */
export function reconfigureDevice(client: Client, deviceId: number, reason?: string, deviceName?: string): Promise<DeviceSessionStatus> {
  return handle(client, deviceId).executeUpdate(reconfigureUpdate, { args: [{ reason, deviceName }] });
}

/** Fire-and-forget pause (signal), for bulk scripts. */
export async function signalPause(client: Client, deviceId: number, reason?: string): Promise<void> {
  await handle(client, deviceId).signal(pauseSignal, { reason });
}

/** Fire-and-forget resume (signal), for bulk scripts. */
export async function signalResume(client: Client, deviceId: number, reason?: string): Promise<void> {
  await handle(client, deviceId).signal(resumeSignal, { reason });
}

/** Fire-and-forget reconfigure (signal), for bulk edits. */
export async function signalReconfigure(client: Client, deviceId: number, reason?: string, deviceName?: string): Promise<void> {
  await handle(client, deviceId).signal(reconfigureSignal, { reason, deviceName });
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

/** A session workflow as the visibility store sees it (may lag the workflow by a second). */
export interface SessionSummary {
  deviceId: number;
  workflowId: string;
  deviceName?: string;
  protocol?: string;
  state?: SessionState;
  /** Temporal execution status: RUNNING, COMPLETED, TERMINATED, … */
  status: string;
  startTime: Date;
  memo?: Record<string, unknown>;
}

/** Session workflows matching a visibility query (AND-ed with "running device sessions" unless `all`). */
export async function listSessions(client: Client, query?: string, opts: { all?: boolean } = {}): Promise<SessionSummary[]> {
  const clauses = [`WorkflowType = '${WORKFLOW_TYPES.deviceSession}'`];
  if (!opts.all) clauses.push(`ExecutionStatus = 'Running'`);
  if (query?.trim()) clauses.push(`(${query})`);
  const out: SessionSummary[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    const deviceId = deviceIdFromWorkflowId(wf.workflowId);
    if (deviceId === undefined) continue;
    const sa = wf.typedSearchAttributes;
    out.push({
      deviceId,
      workflowId: wf.workflowId,
      deviceName: sa.get(SA.DeviceName),
      protocol: sa.get(SA.Protocol),
      state: sa.get(SA.SessionState) as SessionState | undefined,
      status: wf.status.name,
      startTime: wf.startTime,
      memo: wf.memo,
    });
  }
  out.sort((a, b) => a.deviceId - b.deviceId);
  return out;
}
