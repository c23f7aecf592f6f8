/**
 * Bulk actions over many devices (issue 19), shared by the web app and `ctl`:
 * pause and resume (signals, bounded concurrency, then acknowledged when visibility
 * shows each workflow in the new state: ADR 136), reconfigure (acknowledged workflow
 * updates), enable, disable, attach or detach a profile (one SQL statement, then a
 * reconfigure signal per running session), delete. Session calls run with bounded
 * concurrency; every action is recorded in bulk_actions (who, when, filter, count,
 * progress, the result per device), and may run in the background of the process that
 * started it (startBulkAction: the web app's progress page reads the record).
 * Also the session-state mirror: visibility → device_session_state.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { BulkAction } from '../core/device-filter';
import type { DeviceSessionOptions, DeviceSessionStatus } from '../core/names';
import { databaseNow, recordSessionStates, replaceSessionStates, type SelectedDevice } from '../storage/device-list';
import { attachProfileToDevices, deleteDevices, detachProfileFromDevices, setDevicesEnabled } from '../storage/devices';
import { failBulkAction, finishBulkAction, insertBulkAction, updateBulkProgress } from '../storage/bulk-actions';
import {
  listSessions,
  reconfigureDevice,
  signalPause,
  signalReconfigure,
  signalResume,
  startDeviceSession,
  stopDeviceSession,
  type DeviceRef,
} from '../temporal/fleet-client';

export { BULK_ACTIONS, type BulkAction } from '../core/device-filter';
export { recentBulkActions, type BulkRecord } from '../storage/bulk-actions';

/** The result of one operation on one device. */
export interface DeviceResult {
  deviceId: number;
  /** The device's name, where the caller knew it. */
  name?: string;
  ok: boolean;
  /** The session status after an acknowledged update. */
  status?: DeviceSessionStatus;
  /** What happened, when it is not an acknowledged status (e.g. `no session running`, `started`). */
  note?: string;
  /** The session state visibility showed when it acknowledged a signalled pause or resume. */
  state?: string;
  error?: string;
}

/**
 * Run `op` for every id, at most `concurrency` at a time; one result per id in
 * input order, never throwing for a single device's failure.
 */
export async function forEachDevice(
  ids: number[],
  concurrency: number,
  op: (id: number) => Promise<DeviceSessionStatus | string | void>,
  onResult?: (r: DeviceResult) => void,
): Promise<DeviceResult[]> {
  const results: DeviceResult[] = new Array(ids.length);
  let next = 0;
  const lane = async () => {
    while (next < ids.length) {
      const i = next++;
      try {
        const out = await op(ids[i]);
        results[i] = { deviceId: ids[i], ok: true, ...(typeof out === 'string' ? { note: out } : out ? { status: out } : {}) };
      } catch (err) {
        const message = err instanceof WorkflowNotFoundError ? 'no session workflow for this device' : (err as Error).message;
        results[i] = { deviceId: ids[i], ok: false, error: message };
      }
      onResult?.(results[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, lane));
  return results;
}

/** What a bulk action needs to run. */
export interface BulkDeps {
  db: Knex;
  client: Client;
  sessionOptions: DeviceSessionOptions;
  concurrency: number;
}

/** A bulk action request. */
export interface BulkRequest {
  action: BulkAction;
  devices: SelectedDevice[];
  /** attach-profile, detach-profile. */
  profileId?: number;
  /** Who asked (recorded, and the workflows' reason). */
  who: string;
  /** `filter` (every device the filter matches) or `ids` (rows picked). */
  selection: 'filter' | 'ids';
  /** The filter as URL parameters, e.g. `site=lab-a&state=streaming`. */
  filter: string;
}

/** The recorded bulk action and its per-device results. */
export interface BulkOutcome {
  id: number;
  results: DeviceResult[];
  ok: number;
  failed: number;
  ms: number;
  /** Calls made to Temporal (signals, updates, starts, visibility pages). */
  temporalCalls: number;
}

/**
 * How long a signalled pause or resume may go without any device acknowledging before the
 * devices still waiting count as failed (a slow fleet that keeps acknowledging is waited for).
 */
export const BULK_ACK_TIMEOUT_MS = 120_000;

/**
 * Send `signal` to every device (`concurrency` calls at a time), then read visibility —
 * one listing of the workflows matching `acknowledgedWhere`, every second — until each
 * signalled workflow appears in it (acknowledged with its state), or `timeoutMs` passes
 * without one more acknowledgement. A rejected signal (no workflow) fails at once.
 * Returns one result per id, in order.
 */
export async function signalAndAwait(
  client: Client,
  ids: number[],
  opts: { concurrency: number; signal: (id: number) => Promise<void>; acknowledgedWhere: string; timeoutMs?: number; onResult?: (r: DeviceResult) => void; onCall?: () => void },
): Promise<DeviceResult[]> {
  const pending = new Set<number>();
  const byId = new Map<number, DeviceResult>();
  const sent = await forEachDevice(ids, opts.concurrency, async (id) => {
    opts.onCall?.();
    await opts.signal(id);
  });
  for (const r of sent) {
    if (r.ok) pending.add(r.deviceId);
    else {
      byId.set(r.deviceId, r);
      opts.onResult?.(r);
    }
  }
  const timeoutMs = opts.timeoutMs ?? BULK_ACK_TIMEOUT_MS;
  let deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    const listed = await listSessions(client, opts.acknowledgedWhere).catch(() => []);
    opts.onCall?.();
    for (const s of listed) {
      if (!pending.delete(s.deviceId)) continue;
      deadline = Date.now() + timeoutMs;
      const r: DeviceResult = { deviceId: s.deviceId, ok: true, state: s.state };
      byId.set(s.deviceId, r);
      opts.onResult?.(r);
    }
    if (pending.size === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  for (const id of pending) {
    const r: DeviceResult = { deviceId: id, ok: false, error: `signal sent, not acknowledged (no device acknowledged for ${Math.round(timeoutMs / 1000)} s)` };
    byId.set(id, r);
    opts.onResult?.(r);
  }
  return ids.map((id) => byId.get(id)!);
}

/** Reconfigure a running session by signal, or start one when none runs (as the single-device path does). */
async function reconfigureOrStart(deps: BulkDeps, d: SelectedDevice, reason: string): Promise<string> {
  const ref: DeviceRef = { id: d.id, name: d.name, protocol: d.protocol };
  if (d.hasWorkflow) {
    try {
      await signalReconfigure(deps.client, d.id, reason, d.name);
      return 'reconfigure sent';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  await startDeviceSession(deps.client, ref, deps.sessionOptions);
  return 'session started';
}

/** Run a bulk action, recording it in bulk_actions with progress while it runs and the results at the end. */
export async function runBulkAction(deps: BulkDeps, req: BulkRequest): Promise<BulkOutcome> {
  return (await startBulkAction(deps, req)).done;
}

/**
 * Record a bulk action and start it; `done` settles when it finished. A failure of the
 * whole action (not of one device) is recorded as the action's error and rejects `done`.
 */
export async function startBulkAction(deps: BulkDeps, req: BulkRequest): Promise<{ id: number; done: Promise<BulkOutcome> }> {
  const id = await insertBulkAction(deps.db, {
    who: req.who,
    action: req.action,
    profileId: req.profileId,
    selection: req.selection,
    filter: req.filter,
    deviceCount: req.devices.length,
  });
  const progress = progressWriter(deps.db, id);
  const done = carryOut(deps, req, id, progress.count)
    .finally(() => progress.stop())
    .catch(async (err) => {
      await failBulkAction(deps.db, id, (err as Error).message).catch(() => undefined);
      throw err;
    });
  // The caller may not wait (the web app answers with the progress page): never an unhandled rejection.
  done.catch(() => undefined);
  return { id, done };
}

/** Counts results and writes done/failed to the record every 500 ms while they change (the progress page reads them). */
function progressWriter(db: Knex, id: number): { count: (r: DeviceResult) => void; stop: () => void } {
  let done = 0;
  let failed = 0;
  let written = 0;
  const timer = setInterval(() => {
    if (done === written) return;
    written = done;
    void updateBulkProgress(db, id, done, failed).catch(() => undefined);
  }, 500);
  return {
    count: (r) => {
      done++;
      if (!r.ok) failed++;
    },
    stop: () => clearInterval(timer),
  };
}

async function carryOut(deps: BulkDeps, req: BulkRequest, id: number, progress: (r: DeviceResult) => void): Promise<BulkOutcome> {
  const { db } = deps;
  const started = Date.now();
  const reason = `bulk ${req.action} (#${id}) by ${req.who}`;
  const byId = new Map(req.devices.map((d) => [d.id, d]));
  const ids = req.devices.map((d) => d.id);
  let temporalCalls = 0;
  const session = (op: (d: SelectedDevice) => Promise<DeviceSessionStatus | string | void>) =>
    forEachDevice(
      ids,
      deps.concurrency,
      (deviceId) => {
        temporalCalls++;
        return op(byId.get(deviceId)!);
      },
      progress,
    );
  const needsWorkflow = (d: SelectedDevice) => {
    if (!d.hasWorkflow) throw new Error('no session running');
  };
  const signalled = (signal: (id: number) => Promise<void>, acknowledgedWhere: string) =>
    signalAndAwait(deps.client, ids, {
      concurrency: deps.concurrency,
      signal: async (deviceId) => (needsWorkflow(byId.get(deviceId)!), signal(deviceId)),
      acknowledgedWhere,
      onResult: progress,
      onCall: () => temporalCalls++,
    });

  let results: DeviceResult[];
  switch (req.action) {
    // Signals and one visibility listing a second instead of an update each (ADR 136): an update holds a
    // call open until the session ended (a heartbeat later), which bounded 5,000 pauses to ~47/s.
    case 'pause':
      results = await signalled((deviceId) => signalPause(deps.client, deviceId, reason), `SessionState = 'paused'`);
      break;
    case 'resume':
      results = await signalled((deviceId) => signalResume(deps.client, deviceId, reason), `SessionState != 'paused'`);
      break;
    case 'reconfigure':
      results = await session(async (d) => {
        if (!d.enabled && !d.hasWorkflow) return 'disabled: nothing to reconfigure';
        return d.hasWorkflow ? reconfigureDevice(deps.client, d.id, reason, d.name) : reconfigureOrStart(deps, d, reason);
      });
      break;
    case 'enable':
    case 'disable': {
      const enabled = req.action === 'enable';
      await setDevicesEnabled(db, ids, enabled);
      results = await session(async (d) => {
        if (!enabled && !d.hasWorkflow) return 'disabled (no session was running)';
        return reconfigureOrStart(deps, { ...d, enabled }, reason);
      });
      break;
    }
    case 'attach-profile':
    case 'detach-profile': {
      if (!req.profileId) throw new Error(`${req.action} needs a profile`);
      if (req.action === 'attach-profile') {
        await attachProfileToDevices(db, ids, req.profileId);
      } else {
        await detachProfileFromDevices(db, ids, req.profileId);
      }
      results = await session(async (d) => (d.hasWorkflow ? reconfigureOrStart(deps, d, reason) : 'profiles changed (no session running)'));
      break;
    }
    case 'delete':
      results = await session(async (d) => {
        if (d.hasWorkflow) await stopDeviceSession(deps.client, d.id, reason);
        return 'deleted';
      });
      // Only the devices whose session was told to stop are deleted; a failed stop keeps its device.
      await deleteDevices(
        db,
        results.filter((r) => r.ok).map((r) => r.deviceId),
      );
      break;
  }
  for (const r of results) r.name = byId.get(r.deviceId)?.name;
  // Acknowledged states reach the list at once instead of at the next mirror pass.
  await recordSessionStates(
    db,
    results
      .filter((r) => r.status || r.state || r.note === 'session started')
      .map((r) => ({ deviceId: r.deviceId, state: r.state ?? r.status?.state ?? 'connecting' })),
  ).catch(() => undefined);
  const ok = results.filter((r) => r.ok).length;
  await finishBulkAction(
    db,
    id,
    results.map((r) => ({ id: r.deviceId, name: r.name, ok: r.ok, state: r.state ?? r.status?.state, note: r.note, error: r.error })),
  );
  return { id, results, ok, failed: results.length - ok, ms: Date.now() - started, temporalCalls };
}

/** Mirror the session state of every running session workflow (one visibility listing) into device_session_state. */
export async function syncSessionStates(db: Knex, client: Client): Promise<number> {
  const listedAt = await databaseNow(db);
  const sessions = await listSessions(client);
  await replaceSessionStates(
    db,
    sessions.map((s) => ({ deviceId: s.deviceId, state: s.state ?? 'connecting' })),
    listedAt,
  );
  return sessions.length;
}
