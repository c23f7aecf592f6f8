/**
 * The bulk-actions repository: every statement against bulk_actions, the record of each
 * bulk action (who, when, filter, count, progress, the result per device) that the bulk
 * runner (fleet/bulk.ts) writes and the web app's bulk page reads.
 */
import type { Knex } from 'knex';

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

/** Record a bulk action as begun; returns its id. */
export async function insertBulkAction(db: Knex, a: NewBulkAction): Promise<number> {
  const [{ id }] = await db('bulk_actions')
    .insert({
      user_email: a.who,
      action: a.action,
      profile_id: a.profileId ?? null,
      selection: a.selection,
      filter: a.filter,
      device_count: a.deviceCount,
    })
    .returning('id');
  return Number(id);
}

/** Record progress while a bulk action runs (never over its finished record: a late write is dropped). */
export async function updateBulkProgress(db: Knex, id: number, done: number, failed: number): Promise<void> {
  await db('bulk_actions').where({ id }).whereNull('finished_at').update({ done, failed });
}

/** Record a bulk action as finished, with every device's result. */
export async function finishBulkAction(db: Knex, id: number, results: BulkResultRow[]): Promise<void> {
  await db('bulk_actions')
    .where({ id })
    .update({
      finished_at: db.fn.now(),
      done: results.length,
      failed: results.filter((r) => !r.ok).length,
      results: JSON.stringify(results),
    });
}

/** Record a bulk action as stopped by an error of the whole action (not of one device). */
export async function failBulkAction(db: Knex, id: number, error: string): Promise<void> {
  await db('bulk_actions').where({ id }).update({ finished_at: db.fn.now(), error: error.slice(0, 2000) });
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
