/**
 * Bulk actions over many devices (issue 19), shared by the web app and `ctl`:
 * pause and resume (signals, bounded concurrency, then acknowledged when visibility
 * shows each workflow in the new state: ADR 136), reconfigure (acknowledged workflow
 * updates), enable, disable, attach or detach a profile (one SQL statement, then a
 * reconfigure signal per running session), delete. Every action is recorded in
 * bulk_actions (who, when, filter, count, progress, the result per device) with its plan
 * (the devices), and runs as a workflow on the control worker (ADR 170): startBulkAction
 * records and starts it, prepareBulkAction and carryOutBulkAction are its activities'
 * work — in chunks, each device's result recorded as it comes, so a runner that dies is
 * followed by one that carries on with the devices still without a result.
 * Also the session-state mirror: visibility → device_session_state.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { BulkAction } from '../core/device-filter';
import { bulkActionWorkflowId, deviceSessionWorkflowId, type BulkActionSummary, type DeviceSessionOptions, type DeviceSessionStatus } from '../core/names';
import { databaseNow, recordSessionStates, replaceSessionStates } from '../storage/device-list';
import { attachProfileToDevices, deleteDevices, detachProfileFromDevices, setDevicesEnabled } from '../storage/devices';
import { getProfileRef } from '../storage/profiles';
import { foreignProfilesRefusal } from '../core/profile-protocol';
import {
  askCollectorsToPause,
  bulkActionPlan,
  bulkActionReason,
  bulkDeviceResults,
  giveUpBulkPauseAnswers,
  failBulkAction,
  finishBulkAction,
  insertBulkAction,
  interruptBulkAction,
  markBulkDevicesSent,
  pendingBulkDevices,
  recordBulkResults,
  type BulkResultRow,
  unansweredBulkPauses,
  unfinishedWorkflowBulkActions,
  type PlannedDevice,
} from '../storage/bulk-actions';
import {
  bulkActionResult,
  listSessions,
  reconfigureDevice,
  signalPause,
  signalReconfigure,
  signalResume,
  startBulkActionWorkflow,
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
 * input order, never throwing for a single device's failure. Once `signal` is aborted no
 * further device is begun (those left have no result).
 */
export async function forEachDevice(
  ids: number[],
  concurrency: number,
  op: (id: number) => Promise<DeviceSessionStatus | string | void>,
  onResult?: (r: DeviceResult) => void,
  signal?: AbortSignal,
): Promise<DeviceResult[]> {
  const results: DeviceResult[] = new Array(ids.length);
  let next = 0;
  const lane = async () => {
    while (next < ids.length && !signal?.aborted) {
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

/** What a bulk action's runner needs (the control worker's activities). */
export interface BulkDeps {
  db: Knex;
  client: Client;
  sessionOptions: DeviceSessionOptions;
  concurrency: number;
}

/** A bulk action request. */
export interface BulkRequest {
  action: BulkAction;
  /** The devices, in order (the devices view's selection: SelectedDevice). */
  devices: PlannedDevice[];
  /** attach-profile, detach-profile. */
  profileId?: number;
  /** Who asked (recorded, and the workflows' reason). */
  who: string;
  /** `filter` (every device the filter matches) or `ids` (rows picked). */
  selection: 'filter' | 'ids';
  /** The filter as URL parameters, e.g. `site=lab-a&state=streaming`. */
  filter: string;
  /** Devices driven through Temporal at once; the control worker's BULK_CONCURRENCY when absent. */
  concurrency?: number;
}

/** The recorded bulk action and its per-device results. */
export interface BulkOutcome {
  id: number;
  results: DeviceResult[];
  ok: number;
  failed: number;
  ms: number;
  /** Calls made to Temporal by the runner's last attempt (signals, updates, starts, visibility pages). */
  temporalCalls: number;
}

/**
 * How long a signalled pause or resume may go without any device acknowledging before the
 * devices still waiting count as failed (a slow fleet that keeps acknowledging is waited for).
 */
export const BULK_ACK_TIMEOUT_MS = 120_000;

/** Devices a runner takes from the plan at a time (results recorded and progress heartbeated per chunk and every 500 ms). */
export const BULK_CHUNK = 500;

/**
 * Devices asked about per visibility listing while acknowledgements are awaited: their workflow
 * ids are in the query, so a listing returns only devices still waiting that now match, never
 * the ones acknowledged before (listing those every second grew with the fleet: 5,000 rows a
 * second at the end of a 5,000-device pause).
 */
export const BULK_ACK_LIST_CHUNK = 200;

/**
 * Read visibility every second — listings of the devices still waiting whose workflows match
 * `acknowledgedWhere`, BULK_ACK_LIST_CHUNK devices a listing — until each of `ids` (signalled)
 * appears (acknowledged with its state), or `timeoutMs` passes without one more
 * acknowledgement (those left fail). Reports each result as it happens; `onRead` after every round.
 */
export async function awaitAcknowledged(
  client: Client,
  ids: number[],
  opts: {
    acknowledgedWhere: string;
    timeoutMs?: number;
    onResult?: (r: DeviceResult) => void;
    onCall?: () => void;
    onRead?: (pending: number) => void;
    /** Aborted: stop reading and leave the devices still waiting without a result. */
    abort?: AbortSignal;
  },
): Promise<DeviceResult[]> {
  const pending = new Set(ids);
  const byId = new Map<number, DeviceResult>();
  const timeoutMs = opts.timeoutMs ?? BULK_ACK_TIMEOUT_MS;
  let deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    const waiting = [...pending];
    for (let i = 0; i < waiting.length; i += BULK_ACK_LIST_CHUNK) {
      const workflowIds = waiting.slice(i, i + BULK_ACK_LIST_CHUNK).map((id) => `'${deviceSessionWorkflowId(id)}'`);
      const listed = await listSessions(client, `(${opts.acknowledgedWhere}) AND WorkflowId IN (${workflowIds.join(', ')})`).catch(() => []);
      opts.onCall?.();
      for (const s of listed) {
        if (!pending.delete(s.deviceId)) continue;
        deadline = Date.now() + timeoutMs;
        const r: DeviceResult = { deviceId: s.deviceId, ok: true, state: s.state };
        byId.set(s.deviceId, r);
        opts.onResult?.(r);
      }
    }
    opts.onRead?.(pending.size);
    if (opts.abort?.aborted) return ids.map((id) => byId.get(id)).filter((r): r is DeviceResult => r !== undefined);
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

/**
 * Send `signal` to every device (`concurrency` calls at a time), then await each one's
 * acknowledgement through visibility (awaitAcknowledged). A rejected signal (no workflow)
 * fails at once. Returns one result per id, in order.
 */
export async function signalAndAwait(
  client: Client,
  ids: number[],
  opts: { concurrency: number; signal: (id: number) => Promise<void>; acknowledgedWhere: string; timeoutMs?: number; onResult?: (r: DeviceResult) => void; onCall?: () => void },
): Promise<DeviceResult[]> {
  const sent = await forEachDevice(ids, opts.concurrency, async (id) => {
    opts.onCall?.();
    await opts.signal(id);
  });
  const byId = new Map<number, DeviceResult>();
  for (const r of sent) {
    if (r.ok) continue;
    byId.set(r.deviceId, r);
    opts.onResult?.(r);
  }
  const acked = await awaitAcknowledged(
    client,
    sent.filter((r) => r.ok).map((r) => r.deviceId),
    opts,
  );
  for (const r of acked) byId.set(r.deviceId, r);
  return ids.map((id) => byId.get(id)!);
}

/** Reconfigure a running session by signal, or start one when none runs (as the single-device path does). */
async function reconfigureOrStart(deps: BulkDeps, d: PlannedDevice, reason: string): Promise<string> {
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

/**
 * Record a bulk action with its plan and start its workflow on the control worker (ADR 170);
 * the caller may wait for it (runBulkAction) or not (the web app answers with the progress
 * page). A workflow that cannot be started is recorded as the action's error.
 */
export async function startBulkAction(deps: { db: Knex; client: Client }, req: BulkRequest): Promise<{ id: number; workflowId: string }> {
  const startedAtMs = Date.now();
  const id = await insertBulkAction(
    deps.db,
    { who: req.who, action: req.action, profileId: req.profileId, selection: req.selection, filter: req.filter, deviceCount: req.devices.length },
    req.devices,
    (bulkId) => bulkActionWorkflowId(bulkId, startedAtMs),
  );
  const workflowId = bulkActionWorkflowId(id, startedAtMs);
  const n = req.devices.length;
  try {
    await startBulkActionWorkflow(deps.client, workflowId, { bulkId: id, concurrency: req.concurrency }, `Bulk ${req.action} (#${id}) of ${n} device${n === 1 ? '' : 's'} by ${req.who}`);
  } catch (err) {
    await failBulkAction(deps.db, id, `could not start its workflow: ${(err as Error).message}`).catch(() => undefined);
    throw err;
  }
  return { id, workflowId };
}

/** Run a bulk action to its end (its workflow's result), then read its per-device results (ctl). */
export async function runBulkAction(deps: { db: Knex; client: Client }, req: BulkRequest): Promise<BulkOutcome> {
  const started = Date.now();
  const { id, workflowId } = await startBulkAction(deps, req);
  const summary = await bulkActionResult(deps.client, workflowId);
  const rows = await bulkDeviceResults(deps.db, id);
  const results: DeviceResult[] = rows.map((r) => ({
    deviceId: r.id,
    name: r.name,
    ok: r.ok === true,
    ...(r.state ? { state: r.state } : {}),
    ...(r.note ? { note: r.note } : {}),
    ...(r.error ? { error: r.error } : {}),
  }));
  return { id, results, ok: summary.ok, failed: summary.failed, ms: Date.now() - started, temporalCalls: summary.temporalCalls };
}

/** A device's result as the record keeps it. */
function resultRow(r: DeviceResult, name: string | undefined): BulkResultRow {
  return { id: r.deviceId, name, ok: r.ok, state: r.state ?? r.status?.state, note: r.note, error: r.error };
}

/**
 * Results written to the plan as they come, every 500 ms (and heartbeated: `onTick`), and at
 * `flush()`; a failed write fails the next `flush()`, so the runner's attempt fails and its
 * retry redoes the devices left without a result.
 */
function resultRecorder(db: Knex, id: number, names: Map<number, string>, onTick: () => void) {
  let buffer: BulkResultRow[] = [];
  let chain: Promise<void> = Promise.resolve();
  let failure: Error | undefined;
  const write = () => {
    const rows = buffer;
    buffer = [];
    if (rows.length > 0) {
      chain = chain.then(() => recordBulkResults(db, id, rows)).catch((err) => void (failure ??= err as Error));
    }
    return chain;
  };
  const timer = setInterval(() => {
    void write();
    onTick();
  }, 500);
  return {
    add: (r: DeviceResult) => void buffer.push(resultRow(r, names.get(r.deviceId))),
    async flush() {
      await write();
      if (failure) throw failure;
      onTick();
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * How long a bulk pause waits for the collectors asked to end their running attempts (ADR 250) to
 * answer before it signals those devices instead (a collector answers in milliseconds; a dead or
 * hung one never does, and its lease lapses within seconds).
 */
export const BULK_LOCAL_PAUSE_WAIT_MS = 10_000;

/**
 * The first step of a bulk action's workflow: check the record is this workflow's, and make
 * the one SQL change of enable, disable, attach-profile and detach-profile for every planned
 * device (idempotent: a retry sets what is set, attaches what is attached); for a pause, ask
 * the collectors running planned devices' attempts to end them as paused (ADR 250). Returns the action.
 */
export async function prepareBulkAction(db: Knex, id: number, workflowId: string): Promise<{ action: BulkAction; count: number; finished: boolean }> {
  const plan = await bulkActionPlan(db, id);
  if (!plan) throw new BulkRecordError(`no bulk action #${id} in this database`);
  if (plan.workflowId !== workflowId) throw new BulkRecordError(`bulk action #${id} belongs to workflow ${plan.workflowId ?? '(none)'}, not ${workflowId}`);
  const action = plan.action as BulkAction;
  if (plan.finished) return { action, count: plan.count, finished: true };
  const pending = await pendingBulkDevices(db, id, { limit: plan.count });
  const ids = pending.map((d) => d.id);
  if (ids.length > 0) {
    if (action === 'enable' || action === 'disable') await setDevicesEnabled(db, ids, action === 'enable');
    if (action === 'attach-profile' || action === 'detach-profile') {
      if (!plan.profileId) throw new BulkRecordError(`${action} needs a profile`);
      if (action === 'attach-profile') {
        // A profile attaches only to devices of its protocol; the others are refused by carryOutBulkAction, naming it (issue 21).
        const profile = await getProfileRef(db, plan.profileId);
        const fitting = profile ? pending.filter((d) => d.protocol === profile.protocol).map((d) => d.id) : [];
        if (fitting.length > 0) await attachProfileToDevices(db, fitting, plan.profileId);
      } else await detachProfileFromDevices(db, ids, plan.profileId);
    }
    if (action === 'pause') await askCollectorsToPause(db, id);
  }
  return { action, count: plan.count, finished: false };
}

/** A bulk action's record is missing or not the caller's (retrying cannot help). */
export class BulkRecordError extends Error {
  override name = 'BulkRecordError';
}

/**
 * The work of a bulk action's workflow: every planned device still without a result, in
 * chunks of BULK_CHUNK (pause and resume: signal the unsent, then await every signalled
 * device's acknowledgement), each result recorded as it comes; then the record finished with
 * every result. Safe to run again after a runner died: devices with a result are skipped, a
 * signal is never sent twice once recorded as sent, a delete or a stop of a gone device is
 * a no-op. `heartbeat` is called with the progress at least every 500 ms.
 */
export async function carryOutBulkAction(
  deps: BulkDeps,
  id: number,
  opts: { workflowId: string; heartbeat: (progress: { done: number; pending: number }) => void; chunk?: number; signal?: AbortSignal },
): Promise<BulkActionSummary> {
  const { db } = deps;
  const plan = await bulkActionPlan(db, id);
  if (!plan) throw new BulkRecordError(`no bulk action #${id} in this database`);
  if (plan.workflowId !== opts.workflowId) throw new BulkRecordError(`bulk action #${id} belongs to workflow ${plan.workflowId ?? '(none)'}`);
  const chunk = opts.chunk ?? BULK_CHUNK;
  const action = plan.action as BulkAction;
  const reason = bulkActionReason(action, id, plan.who);
  let temporalCalls = 0;
  let done = 0;
  let pending = plan.count;
  // Cancelled (the workflow was terminated or cancelled: the next heartbeat says so): no further device is acted on.
  const { signal } = opts;
  const stopIfCancelled = () => {
    if (signal?.aborted) throw new Error(`bulk action #${id} cancelled: its workflow ended`);
  };
  if (!plan.finished) {
    const planned = await pendingBulkDevices(db, id, { limit: plan.count });
    const names = new Map(planned.map((d) => [d.id, d.name]));
    pending = planned.length;
    done = plan.count - pending;
    const recorder = resultRecorder(db, id, names, () => opts.heartbeat({ done, pending }));
    const record = (r: DeviceResult) => {
      done++;
      pending--;
      recorder.add(r);
    };
    try {
      if (action === 'pause' || action === 'resume') {
        // Devices whose collector ends their attempt as paused (ADR 250) count as signalled; wait for those answers first.
        if (action === 'pause') await awaitLocalPauses(db, id, signal);
        const sendSignal = action === 'pause' ? signalPause : signalResume;
        for (let unsent = await pendingBulkDevices(db, id, { limit: chunk, unsent: true }); unsent.length > 0; unsent = await pendingBulkDevices(db, id, { limit: chunk, unsent: true })) {
          const running = new Set(unsent.filter((d) => d.hasWorkflow).map((d) => d.id));
          const sent = await forEachDevice(
            unsent.map((d) => d.id),
            deps.concurrency,
            async (deviceId) => {
              if (!running.has(deviceId)) throw new Error('no session running');
              temporalCalls++;
              await sendSignal(deps.client, deviceId, reason);
            },
            undefined,
            signal,
          );
          stopIfCancelled();
          for (const r of sent) if (!r.ok) record(r);
          await recorder.flush();
          await markBulkDevicesSent(db, id, sent.filter((r) => r.ok).map((r) => r.deviceId));
        }
        const awaiting = await pendingBulkDevices(db, id, { limit: plan.count });
        // Signals and one visibility listing a second instead of an update each (ADR 136): an update holds a
        // call open until the session ended (a heartbeat later), which bounded 5,000 pauses to ~47/s.
        await awaitAcknowledged(
          deps.client,
          awaiting.map((d) => d.id),
          {
            acknowledgedWhere: action === 'pause' ? `SessionState = 'paused'` : `SessionState != 'paused'`,
            onResult: record,
            onCall: () => temporalCalls++,
            abort: signal,
          },
        );
        stopIfCancelled();
        await recorder.flush();
      } else {
        const profile = action === 'attach-profile' && plan.profileId ? await getProfileRef(db, plan.profileId) : undefined;
        const op = sessionOp(deps, action, reason, profile);
        let previous = '';
        for (let next = await pendingBulkDevices(db, id, { limit: chunk }); next.length > 0; next = await pendingBulkDevices(db, id, { limit: chunk })) {
          // Never loop on devices whose results cannot be recorded.
          const key = next.map((d) => d.id).join(',');
          if (key === previous) throw new Error('bulk action: results of a chunk were not recorded');
          previous = key;
          const byId = new Map(next.map((d) => [d.id, d]));
          const results = await forEachDevice(
            next.map((d) => d.id),
            deps.concurrency,
            (deviceId) => {
              temporalCalls++;
              return op(byId.get(deviceId)!);
            },
            action === 'delete' ? undefined : record,
            signal,
          );
          stopIfCancelled();
          if (action === 'delete') {
            // Only the devices whose session was told to stop are deleted; a failed stop keeps its device.
            await deleteDevices(db, results.filter((r) => r.ok).map((r) => r.deviceId));
            for (const r of results) record(r);
          }
          await recorder.flush();
        }
      }
    } finally {
      recorder.stop();
    }
  }
  return finishRecorded(db, id, temporalCalls);
}

/**
 * Wait until every collector asked to end planned devices' attempts (askCollectorsToPause) has
 * answered, at most BULK_LOCAL_PAUSE_WAIT_MS; the devices still unanswered then get the signal.
 */
async function awaitLocalPauses(db: Knex, id: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + BULK_LOCAL_PAUSE_WAIT_MS;
  while (!signal?.aborted && (await unansweredBulkPauses(db, id)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await giveUpBulkPauseAnswers(db, id);
}

/** One device's session operation of a non-signal bulk action. */
function sessionOp(
  deps: BulkDeps,
  action: BulkAction,
  reason: string,
  profile?: { name: string; protocol: 'gnmi' | 'netconf' },
): (d: PlannedDevice) => Promise<DeviceSessionStatus | string | void> {
  switch (action) {
    case 'reconfigure':
      return async (d) => {
        if (!d.enabled && !d.hasWorkflow) return 'disabled: nothing to reconfigure';
        return d.hasWorkflow ? reconfigureDevice(deps.client, d.id, reason, d.name) : reconfigureOrStart(deps, d, reason);
      };
    case 'enable':
    case 'disable': {
      const enabled = action === 'enable';
      return async (d) => {
        if (!enabled && !d.hasWorkflow) return 'disabled (no session was running)';
        return reconfigureOrStart(deps, { ...d, enabled }, reason);
      };
    }
    case 'attach-profile':
    case 'detach-profile':
      return async (d) => {
        // Not attached by prepareBulkAction: a device of the other protocol would skip the profile without a word.
        const refused = profile && foreignProfilesRefusal(d.protocol, [profile]);
        if (refused) throw new Error(refused);
        return d.hasWorkflow ? reconfigureOrStart(deps, d, reason) : 'profiles changed (no session running)';
      };
    case 'delete':
      return async (d) => {
        if (d.hasWorkflow) await stopDeviceSession(deps.client, d.id, reason);
        return 'deleted';
      };
    default:
      throw new BulkRecordError(`not a session action: ${action}`);
  }
}

/** Finish the record with every device's result (once) and mirror the acknowledged states; the summary. */
async function finishRecorded(db: Knex, id: number, temporalCalls: number): Promise<BulkActionSummary> {
  const rows = await bulkDeviceResults(db, id);
  const missing = rows.filter((r) => r.ok === null).length;
  if (missing > 0) throw new Error(`bulk action #${id}: ${missing} devices still without a result`);
  const results = rows as BulkResultRow[];
  // Acknowledged states reach the list at once instead of at the next mirror pass.
  await recordSessionStates(
    db,
    results.filter((r) => r.state || r.note === 'session started').map((r) => ({ deviceId: r.id, state: r.state ?? 'connecting' })),
  ).catch(() => undefined);
  await finishBulkAction(db, id, results);
  const ok = results.filter((r) => r.ok).length;
  return { bulkId: id, count: results.length, ok, failed: results.length - ok, temporalCalls };
}

/** How long after its start a bulk action's workflow may still be missing (the record is written just before the start). */
const BULK_START_GRACE_MS = 60_000;

/**
 * Bulk actions whose workflow ended without finishing their record — terminated by hand
 * (`temporal workflow terminate`), cancelled, timed out, or missing — are recorded as
 * interrupted: finished, with why and how far they got as their error (interruptBulkAction).
 * All unfinished ones, or those of `ids`; one DescribeWorkflowExecution each (the pages ask
 * for the records they show, the fleet reconciliation for all). Returns the ids marked.
 */
export async function settleEndedBulkActions(db: Knex, client: Client, ids?: number[]): Promise<number[]> {
  const marked: number[] = [];
  for (const a of await unfinishedWorkflowBulkActions(db, ids)) {
    let ended: string;
    try {
      const handle = client.workflow.getHandle(a.workflowId);
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') continue;
      ended = status.name.toLowerCase().replace(/_/g, ' ');
      if (status.name === 'TERMINATED') {
        const history = await handle.fetchHistory();
        const reason = history.events?.at(-1)?.workflowExecutionTerminatedEventAttributes?.reason;
        if (reason) ended += ` (${reason})`;
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || Date.now() - a.startedAt.getTime() < BULK_START_GRACE_MS) continue;
      ended = 'not found';
    }
    const n = (x: number) => x.toLocaleString('en');
    const did = await interruptBulkAction(
      db,
      a.id,
      (c) => `interrupted: its workflow ${a.workflowId} was ${ended} with ${n(c.done)} of ${n(c.count)} devices done (${n(c.failed)} failed); the others were not acted on or not acknowledged`,
    );
    if (did) marked.push(a.id);
  }
  return marked;
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
