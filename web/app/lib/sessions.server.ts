/**
 * The web app's calls into device-session workflows, through temporal/fleet-client.ts,
 * bounded in time so a slow or absent Temporal never hangs a page.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { deviceSessionWorkflowId, type DeviceSessionStatus } from '../../../core/names';
import {
  deviceStatus,
  pauseDevice,
  resumeDevice,
  sessionOptionsFromConfig,
  signalReconfigure,
  startDeviceSession,
  stopDeviceSession,
  type DeviceRef,
} from '../../../temporal/fleet-client';
import { recordSessionStates } from '../../../storage/device-list';
import { ctx, temporalClient } from './context.server';
import { workflowListUrl } from './temporal-links';

/** Keep the devices list's state mirror (ADR 095) as fresh as what a page just learnt from the workflow. */
function remember(statuses: Array<DeviceSessionStatus | undefined>): void {
  const known = statuses.filter((s): s is DeviceSessionStatus => Boolean(s)).map((s) => ({ deviceId: s.deviceId, state: s.state }));
  if (known.length) void recordSessionStates(ctx().db, known).catch(() => undefined);
}

/** Reject after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

/** Start (idempotently) a device's session workflow with the configured tunables. */
export async function startSession(device: DeviceRef): Promise<void> {
  const { config } = ctx();
  const client = await withTimeout(temporalClient(), 5000, 'connecting to Temporal');
  await withTimeout(
    startDeviceSession(client, device, sessionOptionsFromConfig(config)),
    10_000,
    'starting the session workflow',
  );
}

/** Tell the session its configuration changed (signal: returns at once); starts it when no workflow runs. */
export async function reconfigureSession(device: DeviceRef, reason: string): Promise<void> {
  const client = await withTimeout(temporalClient(), 5000, 'connecting to Temporal');
  try {
    await withTimeout(signalReconfigure(client, device.id, reason, device.name), 10_000, 'reconfigure');
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    await startSession(device);
  }
}

/** Pause or resume (workflow updates: acknowledged by the workflow). */
export async function pauseOrResume(deviceId: number, intent: 'pause' | 'resume', who: string): Promise<DeviceSessionStatus> {
  const client = await withTimeout(temporalClient(), 5000, 'connecting to Temporal');
  const reason = `${intent} from the web app by ${who}`;
  const status = await withTimeout(intent === 'pause' ? pauseDevice(client, deviceId, reason) : resumeDevice(client, deviceId, reason), 10_000, intent);
  remember([status]);
  return status;
}

/** End the session workflow of a device about to be deleted. */
export async function stopSession(deviceId: number, who: string): Promise<void> {
  const client = await withTimeout(temporalClient(), 5000, 'connecting to Temporal');
  await withTimeout(stopDeviceSession(client, deviceId, `deleted from the web app by ${who}`), 10_000, 'stop');
}

/** Session status of many devices (undefined where unknown), each query bounded. */
export async function sessionStatuses(ids: number[], ms = 2000): Promise<Map<number, DeviceSessionStatus | undefined>> {
  const out = new Map<number, DeviceSessionStatus | undefined>();
  const client = await withTimeout(temporalClient(), 3000, 'connecting to Temporal').catch(() => undefined);
  await Promise.all(
    ids.map(async (id) => {
      out.set(id, client ? await withTimeout(deviceStatus(client, id), ms, 'status').catch(() => undefined) : undefined);
    }),
  );
  remember([...out.values()]);
  return out;
}

/** Temporal Web's workflow list filtered by a visibility query (web/app/lib/temporal-links.ts builds them). */
export function workflowListLink(query: string): string {
  const { config } = ctx();
  return workflowListUrl(config.TEMPORAL_UI_URL, config.TEMPORAL_NAMESPACE, query);
}

/** Link to a device's workflow in Temporal Web. */
export function workflowUrl(deviceId: number): string {
  const { config } = ctx();
  return `${config.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(deviceSessionWorkflowId(deviceId))}`;
}
