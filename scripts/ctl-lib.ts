/**
 * Fleet control for scripts: the operations behind `npm run ctl`, typed, on
 * @temporalio/client. Select devices by id, by name, or by a visibility query
 * (e.g. `DeviceName STARTS_WITH 'sim-'`), then list, inspect, start, pause,
 * resume or reconfigure them. Every bulk operation reports one result per device
 * and never throws for a single device's failure.
 *
 *   import { connectCtl, selectDevices, pauseDevices } from './ctl-lib';
 *   const ctl = await connectCtl();
 *   const ids = await selectDevices(ctl, { query: "DeviceName STARTS_WITH 'sim-'" });
 *   const results = await pauseDevices(ctl, ids, { reason: 'maintenance' });
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../core/config';
import { deviceSessionWorkflowId, type DeviceSessionStatus } from '../core/names';
import { listDeviceItems } from '../storage/devices';
import { findProfileId } from '../storage/profiles';
import { createKnex } from '../storage/pool';
import {
  deviceStatus,
  listSessions,
  pauseDevice,
  reconfigureDevice,
  resumeDevice,
  sessionOptionsFromConfig,
  signalPause,
  signalReconfigure,
  signalResume,
  startDeviceSession,
  stopDeviceSession,
  type DeviceRef,
  type SessionSummary,
} from '../temporal/fleet-client';
import { connectClient } from '../temporal/client';
import { forEachDevice, runBulkAction, type BulkOutcome, type DeviceResult } from '../fleet/bulk';
import { filterToParams, type BulkAction, type DeviceFilter } from '../core/device-filter';
import { selectFilteredDevices, type SelectedDevice } from '../storage/device-list';

export type { SessionSummary } from '../temporal/fleet-client';
export type { DeviceResult } from '../fleet/bulk';

/** A connected control handle: a Temporal client, and the database when an operation needs it (start). */
export interface Ctl {
  client: Client;
  config: Config;
  /** Opened on first use; closed by close(). */
  db(): Knex;
  close(): Promise<void>;
}

/** Connect to Temporal (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS / API key from the environment). */
export async function connectCtl(config: Config = loadConfig()): Promise<Ctl> {
  const client = await connectClient(config);
  let knex: Knex | undefined;
  return {
    client,
    config,
    db: () => (knex ??= createKnex(config.DATABASE_URL, 2)),
    async close() {
      await Promise.allSettled([client.connection.close(), knex?.destroy()]);
    },
  };
}

/** Which devices an operation applies to. */
export interface Selection {
  /** Device ids, or device names (resolved through visibility, or the database for start). */
  devices?: Array<number | string>;
  /** A visibility query over the session workflows, e.g. `SessionState = 'backoff'`. */
  query?: string;
  /** Every device in the database (start) or every running session (other operations). */
  all?: boolean;
}

/** Raised for a selection that names a device nobody knows. */
export class UnknownDeviceError extends Error {
  constructor(readonly names: string[]) {
    super(`no device named ${names.map((n) => JSON.stringify(n)).join(', ')}`);
    this.name = 'UnknownDeviceError';
  }
}

function escapeQueryValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** Device ids of running session workflows for a selection (ids are taken as they are). */
export async function selectDevices(ctl: Ctl, sel: Selection): Promise<number[]> {
  const ids = new Set<number>();
  const unknown: string[] = [];
  for (const d of sel.devices ?? []) {
    if (typeof d === 'number' || /^\d+$/.test(d)) {
      ids.add(Number(d));
      continue;
    }
    const found = await listSessions(ctl.client, `DeviceName = '${escapeQueryValue(d)}'`);
    if (found.length === 0) unknown.push(d);
    for (const s of found) ids.add(s.deviceId);
  }
  if (unknown.length) throw new UnknownDeviceError(unknown);
  if (sel.query !== undefined || sel.all) for (const s of await listSessions(ctl.client, sel.query)) ids.add(s.deviceId);
  return [...ids].sort((a, b) => a - b);
}

/** Devices from the database for a selection (start needs names and protocols). */
export async function selectDatabaseDevices(ctl: Ctl, sel: Selection): Promise<DeviceRef[]> {
  if (!sel.all) {
    const ids = (sel.devices ?? []).filter((d) => typeof d === 'number' || /^\d+$/.test(d)).map(Number);
    const names = (sel.devices ?? []).filter((d): d is string => typeof d === 'string' && !/^\d+$/.test(d));
    if (ids.length === 0 && names.length === 0) return [];
    const rows: DeviceRef[] = await listDeviceItems(ctl.db(), { anyOf: { ids, names }, orderBy: 'id' });
    const unknown = names.filter((n) => !rows.some((r) => r.name === n));
    const missingIds = ids.filter((id) => !rows.some((r) => r.id === id));
    if (unknown.length || missingIds.length) throw new UnknownDeviceError([...unknown, ...missingIds.map(String)]);
    return rows;
  }
  return listDeviceItems(ctl.db(), { orderBy: 'id' });
}

/** Options of pause, resume and reconfigure. */
export interface ControlOptions {
  reason?: string;
  /** false: send a signal and return at once (fire and forget); default true: an acknowledged update. */
  wait?: boolean;
  /** Devices handled at the same time (default 16). */
  concurrency?: number;
}

/** Pause collection of devices (no more points once acknowledged). */
export function pauseDevices(ctl: Ctl, ids: number[], opts: ControlOptions = {}): Promise<DeviceResult[]> {
  return forEachDevice(ids, opts.concurrency ?? 16, (id) =>
    opts.wait === false ? signalPause(ctl.client, id, opts.reason) : pauseDevice(ctl.client, id, opts.reason),
  );
}

/** Resume collection of devices (also retries parked sessions at once). */
export function resumeDevices(ctl: Ctl, ids: number[], opts: ControlOptions = {}): Promise<DeviceResult[]> {
  return forEachDevice(ids, opts.concurrency ?? 16, (id) =>
    opts.wait === false ? signalResume(ctl.client, id, opts.reason) : resumeDevice(ctl.client, id, opts.reason),
  );
}

/** Restart the sessions of devices with the configuration now in the database. */
export function reconfigureDevices(ctl: Ctl, ids: number[], opts: ControlOptions = {}): Promise<DeviceResult[]> {
  return forEachDevice(ids, opts.concurrency ?? 16, (id) =>
    opts.wait === false ? signalReconfigure(ctl.client, id, opts.reason) : reconfigureDevice(ctl.client, id, opts.reason),
  );
}

/** Status (query) of each device's session. */
export function statusOfDevices(ctl: Ctl, ids: number[], opts: { concurrency?: number } = {}): Promise<DeviceResult[]> {
  return forEachDevice(ids, opts.concurrency ?? 16, async (id) => {
    const status = await deviceStatus(ctl.client, id);
    if (!status) throw new WorkflowNotFoundError('no session workflow for this device', deviceSessionWorkflowId(id), undefined);
    return status;
  });
}

/** Start (idempotently) the session workflows of database devices. */
export function startDevices(ctl: Ctl, devices: DeviceRef[], opts: { concurrency?: number } = {}): Promise<DeviceResult[]> {
  const byId = new Map(devices.map((d) => [d.id, d]));
  return forEachDevice([...byId.keys()], opts.concurrency ?? 16, async (id) => {
    await startDeviceSession(ctl.client, byId.get(id)!, sessionOptionsFromConfig(ctl.config));
  });
}

/** End the session workflows of devices (as when a device is deleted). */
export function stopDevices(ctl: Ctl, ids: number[], opts: { reason?: string; concurrency?: number } = {}): Promise<DeviceResult[]> {
  return forEachDevice(ids, opts.concurrency ?? 16, (id) => stopDeviceSession(ctl.client, id, opts.reason));
}

/** Running session workflows (with state) matching an optional visibility query. */
export function listDeviceSessions(ctl: Ctl, query?: string, opts: { all?: boolean } = {}): Promise<SessionSummary[]> {
  return listSessions(ctl.client, query, opts);
}

/** Devices of the database matching a devices-view filter (site, state, protocol, profile, prefix, enabled), in name order. */
export function selectFleet(ctl: Ctl, filter: DeviceFilter): Promise<SelectedDevice[]> {
  return selectFilteredDevices(ctl.db(), filter);
}

/**
 * Run a bulk action (as the web app's bulk page does: recorded in bulk_actions and run by its
 * workflow on the control worker, ADR 170) on devices chosen by selectFleet, waiting for its end.
 */
export async function runFleetAction(
  ctl: Ctl,
  action: BulkAction,
  devices: SelectedDevice[],
  opts: { who: string; filter: DeviceFilter; profileId?: number; concurrency?: number },
): Promise<BulkOutcome> {
  return runBulkAction(
    { db: ctl.db(), client: ctl.client },
    { action, devices, profileId: opts.profileId, who: opts.who, selection: 'filter', filter: filterToParams(opts.filter).toString(), concurrency: opts.concurrency },
  );
}

/** A profile's id from its name or id; undefined when none. */
export async function resolveProfile(ctl: Ctl, nameOrId: string): Promise<number | undefined> {
  return findProfileId(ctl.db(), nameOrId);
}

/** Rows as a plain-text table: columns padded to their widest cell, two spaces apart (the first row is the header). */
export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
