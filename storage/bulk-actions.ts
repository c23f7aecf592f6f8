/**
 * The bulk-actions repository: every statement against bulk_actions, the record of each
 * bulk action (who, when, filter, count, progress, the result per device) that the bulk
 * runner (fleet/bulk.ts) writes and the web app's bulk page reads, and bulk_action_devices,
 * its plan: the devices in order, each with its result once it has one (ADR 170: a runner
 * that dies is followed by one that carries on with the devices still without a result).
 */
import type { Knex } from 'knex';
import { announcements, parseDeviceIds } from './collectors';

/** What is recorded when a bulk action begins. */
export interface NewBulkAction {
  who: string;
  action: string;
  profileId?: number;
  selection: 'filter' | 'ids';
  filter: string;
  deviceCount: number;
}

/** One device's recorded result. */
export interface BulkResultRow {
  id: number;
  name?: string;
  ok: boolean;
  state?: string;
  note?: string;
  error?: string;
}

/** A device as a bulk action's plan holds it (what the runner needs, read when the action was confirmed). */
export interface PlannedDevice {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
  enabled: boolean;
  /** Whether a session workflow ran for it when the action was confirmed. */
  hasWorkflow: boolean;
}

/**
 * Record a bulk action as begun, with its plan (the devices, in order) and the id of the
 * workflow that will run it (`workflowIdOf(id)`), in one transaction; returns its id.
 */
export async function insertBulkAction(db: Knex, a: NewBulkAction, devices: PlannedDevice[] = [], workflowIdOf?: (id: number) => string): Promise<number> {
  return db.transaction(async (tx) => {
    const [row] = await tx('bulk_actions')
      .insert({
        user_email: a.who,
        action: a.action,
        profile_id: a.profileId ?? null,
        selection: a.selection,
        filter: a.filter,
        device_count: a.deviceCount,
      })
      .returning('id');
    const id = Number(row.id);
    if (workflowIdOf) await tx('bulk_actions').where({ id }).update({ workflow_id: workflowIdOf(id) });
    if (devices.length > 0) {
      await tx.raw(
        `INSERT INTO bulk_action_devices (bulk_id, position, device_id, name, protocol, enabled, has_workflow)
         SELECT ?, p.ord - 1, p.device_id, p.name, p.protocol, p.enabled, p.has_workflow
           FROM unnest(?::int[], ?::text[], ?::text[], ?::boolean[], ?::boolean[]) WITH ORDINALITY
             AS p(device_id, name, protocol, enabled, has_workflow, ord)`,
        [id, devices.map((d) => d.id), devices.map((d) => d.name), devices.map((d) => d.protocol), devices.map((d) => d.enabled), devices.map((d) => d.hasWorkflow)],
      );
    }
    return id;
  });
}

/** What a runner needs to know about a recorded bulk action, or undefined. */
export async function bulkActionPlan(
  db: Knex,
  id: number,
): Promise<{ id: number; action: string; profileId: number | null; who: string; workflowId: string | null; count: number; finished: boolean } | undefined> {
  const r = await db('bulk_actions').where({ id }).first('id', 'action', 'profile_id', 'user_email', 'workflow_id', 'device_count', 'finished_at');
  if (!r) return undefined;
  return { id: Number(r.id), action: r.action, profileId: r.profile_id, who: r.user_email, workflowId: r.workflow_id, count: r.device_count, finished: r.finished_at !== null };
}

/**
 * The next planned devices of a bulk action without a result, in plan order (at most
 * `limit`); `unsent` leaves out those already signalled (pause, resume: awaiting acknowledgement).
 */
export async function pendingBulkDevices(db: Knex, id: number, opts: { limit: number; unsent?: boolean }): Promise<PlannedDevice[]> {
  const q = db('bulk_action_devices').where({ bulk_id: id }).whereNull('ok');
  if (opts.unsent) q.where({ sent: false });
  const rows = await q.orderBy('position').limit(opts.limit).select('device_id', 'name', 'protocol', 'enabled', 'has_workflow');
  return rows.map((r) => ({ id: r.device_id, name: r.name, protocol: r.protocol, enabled: r.enabled, hasWorkflow: r.has_workflow }));
}

/** Mark planned devices as signalled (their acknowledgement is awaited, the signal never sent again). */
export async function markBulkDevicesSent(db: Knex, id: number, deviceIds: number[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await db('bulk_action_devices').where({ bulk_id: id }).whereIn('device_id', deviceIds).update({ sent: true });
}

/**
 * Record devices' results (a device keeps its first result: a retried runner never
 * overwrites one) and the action's done/failed counts from them (the progress page reads those).
 */
export async function recordBulkResults(db: Knex, id: number, results: BulkResultRow[]): Promise<void> {
  if (results.length > 0) {
    await db.raw(
      `UPDATE bulk_action_devices d SET ok = r.ok, state = r.state, note = r.note, error = r.error
         FROM unnest(?::int[], ?::boolean[], ?::text[], ?::text[], ?::text[]) AS r(device_id, ok, state, note, error)
        WHERE d.bulk_id = ? AND d.device_id = r.device_id AND d.ok IS NULL`,
      [results.map((r) => r.id), results.map((r) => r.ok), results.map((r) => r.state ?? null), results.map((r) => r.note ?? null), results.map((r) => r.error?.slice(0, 2000) ?? null), id] as Knex.RawBinding[],
    );
  }
  await db.raw(
    `UPDATE bulk_actions a SET done = c.done, failed = c.failed
       FROM (SELECT count(ok)::int AS done, count(*) FILTER (WHERE NOT ok)::int AS failed FROM bulk_action_devices WHERE bulk_id = ?) c
      WHERE a.id = ? AND a.finished_at IS NULL`,
    [id, id],
  );
}

/** Every planned device of a bulk action with its result (`ok` null: none yet), in plan order. */
export async function bulkDeviceResults(db: Knex, id: number): Promise<Array<Omit<BulkResultRow, 'ok'> & { ok: boolean | null }>> {
  const rows = await db('bulk_action_devices').where({ bulk_id: id }).orderBy('position').select('device_id', 'name', 'ok', 'state', 'note', 'error');
  return rows.map((r) => ({
    id: r.device_id,
    name: r.name,
    ok: r.ok,
    ...(r.state !== null ? { state: r.state } : {}),
    ...(r.note !== null ? { note: r.note } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
  }));
}

/** Record a bulk action as finished, with every device's result (once: a finished record is left as it is). */
export async function finishBulkAction(db: Knex, id: number, results: BulkResultRow[]): Promise<void> {
  await db('bulk_actions')
    .where({ id })
    .whereNull('finished_at')
    .update({
      finished_at: db.fn.now(),
      done: results.length,
      failed: results.filter((r) => !r.ok).length,
      results: JSON.stringify(results),
    });
}

/** Record a bulk action as stopped by an error of the whole action (not of one device). */
export async function failBulkAction(db: Knex, id: number, error: string): Promise<void> {
  await db('bulk_actions').where({ id }).whereNull('finished_at').update({ finished_at: db.fn.now(), error: error.slice(0, 2000) });
}

/** Unfinished bulk actions run by a workflow (all, or those of `ids`): the ones whose workflow may have ended without finishing them. */
export async function unfinishedWorkflowBulkActions(db: Knex, ids?: number[]): Promise<Array<{ id: number; workflowId: string; startedAt: Date }>> {
  const q = db('bulk_actions').whereNull('finished_at').whereNotNull('workflow_id');
  if (ids) q.whereIn('id', ids);
  const rows = await q.orderBy('id').select('id', 'workflow_id', 'started_at');
  return rows.map((r) => ({ id: Number(r.id), workflowId: r.workflow_id, startedAt: r.started_at }));
}

/**
 * Record a bulk action as interrupted (its workflow ended without finishing it): finished with
 * `why` as its error, the counts and results of the devices that had a result (the others were
 * not acted on, or not acknowledged). Once: a finished record is left as it is. True when it marked it.
 */
export async function interruptBulkAction(db: Knex, id: number, why: (counts: { done: number; failed: number; count: number }) => string): Promise<boolean> {
  const [c] = (
    await db.raw(
      `SELECT count(ok)::int AS done, count(*) FILTER (WHERE NOT ok)::int AS failed, count(*)::int AS count FROM bulk_action_devices WHERE bulk_id = ?`,
      [id],
    )
  ).rows as Array<{ done: number; failed: number; count: number }>;
  const { rowCount } = await db.raw(
    `UPDATE bulk_actions a SET finished_at = now(), error = ?, done = ?, failed = ?,
            results = (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', device_id, 'name', name, 'ok', ok, 'state', state, 'note', note, 'error', error))
                                                 ORDER BY position), '[]'::jsonb)
                         FROM bulk_action_devices WHERE bulk_id = a.id AND ok IS NOT NULL)
      WHERE a.id = ? AND a.finished_at IS NULL`,
    [why(c).slice(0, 2000), c.done, c.failed, id],
  );
  return rowCount > 0;
}

/** A recorded bulk action, newest first in listings. */
export interface BulkRecord {
  id: number;
  startedAt: Date;
  finishedAt: Date | null;
  who: string;
  action: string;
  selection: string;
  filter: string;
  count: number;
  done: number;
  failed: number;
  /** Why the whole action stopped, when it did. */
  error: string | null;
  /** The workflow running it (ADR 170); null for an action run inside a web process before that. */
  workflowId: string | null;
  /**
   * Unfinished, and run inside a web process (before ADR 170): nothing carries it on, so it is
   * shown as interrupted rather than running forever.
   */
  interrupted: boolean;
}

/** A bulk_actions row as a record. */
function recordOf(r: Record<string, any>): BulkRecord {
  return {
    id: Number(r.id),
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    who: r.user_email,
    action: r.action,
    selection: r.selection,
    filter: r.filter,
    count: r.device_count,
    done: r.done,
    failed: r.failed,
    error: r.error ?? null,
    workflowId: r.workflow_id ?? null,
    interrupted: r.finished_at === null && !r.workflow_id,
  };
}

/** The newest recorded bulk actions. */
export async function recentBulkActions(db: Knex, limit = 50): Promise<BulkRecord[]> {
  const rows = await db('bulk_actions').orderBy('id', 'desc').limit(limit);
  return rows.map(recordOf);
}

/** One recorded bulk action with its results (null while it runs), or undefined. */
export async function getBulkAction(db: Knex, id: number): Promise<(BulkRecord & { profileId: number | null; results: BulkResultRow[] | null }) | undefined> {
  const r = await db('bulk_actions').where({ id }).first();
  if (!r) return undefined;
  return { ...recordOf(r), profileId: r.profile_id, results: r.results };
}

/** One recorded bulk action's results, or undefined. */
export async function bulkActionResults(db: Knex, id: number): Promise<{ id: number; action: string; results: BulkResultRow[] | null } | undefined> {
  return db('bulk_actions').where({ id }).first('id', 'action', 'results');
}

/** The reason a bulk action gives the sessions it acts on (shown in Temporal Web and the session's detail). */
export function bulkActionReason(action: string, id: number, who: string): string {
  return `bulk ${action} (#${id}) by ${who}`;
}

/** The channel on which a collector hears the devices of a bulk pause it runs (ADR 250); payload `<task queue>|<bulk id>|<device id>,…`. */
export const BULK_PAUSE_CHANNEL = 'bulk_pause';

/**
 * Ask the collectors running the planned devices' attempts to end them as paused (ADR 250): the
 * devices still without a result, not signalled and not asked before, that a live collector last
 * reported running (collectors.running_devices) are marked `asked`, and each collector is told
 * its devices by NOTIFY with the commit (never for a transaction that rolled back). Returns how
 * many were asked.
 */
export async function askCollectorsToPause(db: Knex, id: number): Promise<number> {
  return db.transaction(async (trx) => {
    const { rows } = (await trx.raw(
      `WITH running AS (
         SELECT DISTINCT ON (r.device_id) r.device_id, c.task_queue
           FROM collectors c CROSS JOIN LATERAL unnest(c.running_devices) AS r(device_id)
          WHERE c.lease_until > now()
          ORDER BY r.device_id, c.lease_until DESC)
       UPDATE bulk_action_devices d SET local_stop = 'asked'
         FROM running r
        WHERE d.bulk_id = ? AND d.device_id = r.device_id AND d.ok IS NULL AND NOT d.sent AND d.local_stop IS NULL AND d.has_workflow
       RETURNING d.device_id, r.task_queue`,
      [id],
    )) as { rows: Array<{ device_id: number; task_queue: string }> };
    const byQueue = new Map<string, number[]>();
    for (const r of rows) byQueue.set(r.task_queue, [...(byQueue.get(r.task_queue) ?? []), r.device_id]);
    const payloads = [...byQueue].flatMap(([queue, ids]) => announcements(`${queue}|${id}`, ids));
    if (payloads.length) await trx.raw(`SELECT pg_notify(?, x) FROM unnest(?::text[]) AS x`, [BULK_PAUSE_CHANNEL, payloads]);
    return rows.length;
  });
}

/** Parse a bulk-pause notification, `<task queue>|<bulk id>|<device id>,…` (undefined: not a well-formed one; the queue may hold bars). */
export function parseBulkPause(payload: string): { taskQueue: string; bulkId: number; deviceIds: number[] } | undefined {
  const idsBar = payload.lastIndexOf('|');
  const bulkBar = idsBar > 0 ? payload.lastIndexOf('|', idsBar - 1) : -1;
  if (bulkBar <= 0) return undefined;
  const bulkId = Number(payload.slice(bulkBar + 1, idsBar));
  if (!Number.isInteger(bulkId) || bulkId <= 0) return undefined;
  return { taskQueue: payload.slice(0, bulkBar), bulkId, deviceIds: parseDeviceIds(payload.slice(idsBar + 1)) };
}

/**
 * A collector's answer to a bulk pause (ADR 250): of the devices it was asked about (`asked`),
 * those it runs (`here`) become `ended` and count as signalled (their acknowledgement is awaited),
 * the others `not-running` (they get the signal). Only devices still `asked` are answered, so
 * a collector answering after the runner stopped waiting (`unanswered`) ends nothing. Returns the
 * devices to end here and the pause's reason.
 */
export async function answerBulkPause(db: Knex, id: number, asked: readonly number[], here: ReadonlySet<number>): Promise<{ end: number[]; reason?: string }> {
  if (asked.length === 0) return { end: [] };
  const { rows } = (await db.raw(
    `UPDATE bulk_action_devices d SET local_stop = CASE WHEN n.here THEN 'ended' ELSE 'not-running' END, sent = d.sent OR n.here
       FROM unnest(?::int[], ?::boolean[]) AS n(device_id, here), bulk_actions a
      WHERE d.bulk_id = ? AND a.id = d.bulk_id AND d.device_id = n.device_id AND d.local_stop = 'asked' AND d.ok IS NULL
     RETURNING d.device_id, n.here, a.action, a.user_email`,
    [[...asked], asked.map((d) => here.has(d)), id],
  )) as { rows: Array<{ device_id: number; here: boolean; action: string; user_email: string }> };
  const end = rows.filter((r) => r.here).map((r) => r.device_id);
  return { end, ...(rows[0] ? { reason: bulkActionReason(rows[0].action, id, rows[0].user_email) } : {}) };
}

/** Devices a collector answered `ended` but whose attempt ended otherwise meanwhile: back to the signal (ADR 250). */
export async function unendBulkPause(db: Knex, id: number, deviceIds: readonly number[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await db.raw(
    `UPDATE bulk_action_devices d SET local_stop = 'not-running', sent = false
       FROM unnest(?::int[]) AS n(device_id)
      WHERE d.bulk_id = ? AND d.device_id = n.device_id AND d.local_stop = 'ended' AND d.ok IS NULL`,
    [[...deviceIds], id],
  );
}

/** Devices of a bulk pause whose collector has not answered yet (`asked`). */
export async function unansweredBulkPauses(db: Knex, id: number): Promise<number> {
  const [r] = (await db.raw(`SELECT count(*)::int AS n FROM bulk_action_devices WHERE bulk_id = ? AND local_stop = 'asked'`, [id])).rows as Array<{ n: number }>;
  return r.n;
}

/** Stop waiting for collectors' answers: devices still `asked` become `unanswered` (they get the signal; a late answer ends nothing). */
export async function giveUpBulkPauseAnswers(db: Knex, id: number): Promise<number> {
  const { rowCount } = await db.raw(`UPDATE bulk_action_devices SET local_stop = 'unanswered' WHERE bulk_id = ? AND local_stop = 'asked'`, [id]);
  return rowCount ?? 0;
}

/** How a bulk pause reached its devices: counts by local_stop (`signal`: no collector asked). */
export async function bulkPauseRoutes(db: Knex, id: number): Promise<Record<string, number>> {
  const { rows } = await db.raw(`SELECT coalesce(local_stop, 'signal') AS route, count(*)::int AS n FROM bulk_action_devices WHERE bulk_id = ? GROUP BY 1`, [id]);
  return Object.fromEntries((rows as Array<{ route: string; n: number }>).map((r) => [r.route, r.n]));
}
