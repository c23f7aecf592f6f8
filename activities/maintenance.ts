/**
 * Storage maintenance for the native PostgreSQL mode, run by the control worker on
 * the `storage-maintenance` Temporal Schedule (workflows/storage-maintenance.ts):
 * creates daily partitions ahead of time, drops those past retention, and keeps
 * the 1-minute and 1-hour rollup tables current incrementally. With TimescaleDB
 * the extension's own policies do all of this and the activity only reports so.
 *
 * Every identifier interpolated below comes from a fixed list or is derived from a
 * date by this module; every value is bound.
 */
import type { Knex } from 'knex';

export const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** The raw tables, partitioned by day in native mode. */
export const RAW_TABLES = ['samples', 'states'] as const;
export type RawTable = (typeof RAW_TABLES)[number];

/** How the samples table is stored. */
export type StorageMode = 'timescaledb' | 'native' | 'missing';

/** Settings of the maintenance activity (from core/config.ts). */
export interface MaintenanceSettings {
  retentionDays: number;
  rollupRetentionDays: number;
  partitionsAheadDays: number;
  /** Rollup buckets this far behind the watermark are recomputed each run (late points). */
  rollupLookbackMs?: number;
  /** A minute bucket is rolled up once `now` is this far past its end. */
  rollupLagMs?: number;
}

/** What one maintenance run did. */
export interface MaintenanceReport {
  mode: StorageMode;
  partitionsCreated: string[];
  partitionsDropped: string[];
  rows1m: number;
  rows1h: number;
  watermark1m?: string;
  watermark1h?: string;
}

/** Activities registered on the control worker. */
export interface MaintenanceActivities {
  runStorageMaintenance(): Promise<MaintenanceReport>;
}

/** Midnight UTC of the day containing `ms`. */
export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Name of the daily partition of `table` that starts at `dayMs`. */
export function partitionName(table: RawTable, dayMs: number): string {
  return `${table}_p${new Date(dayMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

function dayFromPartition(table: RawTable, name: string): number | undefined {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

/** Detect the storage mode from the catalog. */
export async function storageMode(db: Knex): Promise<StorageMode> {
  const res = await db.raw(`
    SELECT (SELECT count(*) FROM pg_partitioned_table WHERE partrelid = to_regclass('samples'))::int AS partitioned,
           (SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb')::int AS timescale,
           (to_regclass('samples') IS NOT NULL) AS present`);
  const row = res.rows[0] as { partitioned: number; timescale: number; present: boolean };
  if (!row.present) return 'missing';
  if (row.partitioned > 0) return 'native';
  return row.timescale > 0 ? 'timescaledb' : 'native';
}

async function existingPartitions(db: Knex, table: RawTable): Promise<string[]> {
  const res = await db.raw(
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = ?::regclass`,
    [table],
  );
  return (res.rows as Array<{ relname: string }>).map((r) => r.relname);
}

/**
 * Create the daily partitions of `table` for every day in [fromDay, toDay] that has none.
 * Rows that already landed in the default partition for that day are moved into it,
 * in the same transaction, so attaching never fails and nothing is lost.
 */
export async function ensureDailyPartitions(db: Knex, table: RawTable, fromDay: number, toDay: number): Promise<string[]> {
  const have = new Set(await existingPartitions(db, table));
  const created: string[] = [];
  for (let day = startOfUtcDay(fromDay); day <= toDay; day += DAY_MS) {
    const name = partitionName(table, day);
    if (have.has(name)) continue;
    const lo = new Date(day).toISOString();
    const hi = new Date(day + DAY_MS).toISOString();
    const work = async (trx: Knex) => {
      await trx.raw(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS)`);
      await trx.raw(`INSERT INTO ${name} SELECT * FROM ${table}_default WHERE time >= ? AND time < ?`, [lo, hi]);
      await trx.raw(`DELETE FROM ${table}_default WHERE time >= ? AND time < ?`, [lo, hi]);
      await trx.raw(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM ('${lo}') TO ('${hi}')`);
    };
    // Inside a migration `db` already is a transaction; knex nests it as a savepoint.
    await db.transaction(work);
    created.push(name);
  }
  return created;
}

/** Drop the daily partitions of `table` whose whole day is older than `cutoffMs`, and expired rows of its default partition. */
export async function dropExpiredPartitions(db: Knex, table: RawTable, cutoffMs: number): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of await existingPartitions(db, table)) {
    const day = dayFromPartition(table, name);
    if (day === undefined || day + DAY_MS > cutoffMs) continue;
    await db.raw(`DROP TABLE ${name}`);
    dropped.push(name);
  }
  await db.raw(`DELETE FROM ${table}_default WHERE time < ?`, [new Date(cutoffMs).toISOString()]);
  return dropped;
}

async function readWatermark(db: Knex, name: string): Promise<number | undefined> {
  const res = await db.raw(`SELECT (extract(epoch FROM watermark) * 1000)::float8 AS ms FROM storage_rollup_state WHERE name = ?`, [name]);
  return res.rows[0]?.ms;
}

async function writeWatermark(db: Knex, name: string, ms: number): Promise<void> {
  await db.raw(
    `INSERT INTO storage_rollup_state (name, watermark) VALUES (?, ?)
     ON CONFLICT (name) DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = now()`,
    [name, new Date(ms).toISOString()],
  );
}

async function oldestMs(db: Knex, sql: string): Promise<number | undefined> {
  const res = await db.raw(sql);
  const v = res.rows[0]?.ms;
  return v === null || v === undefined ? undefined : Number(v);
}

/** Step of one rollup statement: bounded work per statement however far behind we are. */
const ROLLUP_STEP_MS = 6 * HOUR_MS;

/**
 * Bring samples_1m and samples_1h up to date: recompute every bucket from
 * (watermark − lookback) to the last complete bucket, upserting, then move the watermark.
 */
export async function refreshRollups(
  db: Knex,
  nowMs: number,
  opts: { lookbackMs?: number; lagMs?: number } = {},
): Promise<{ rows1m: number; rows1h: number; watermark1m?: number; watermark1h?: number }> {
  const lookback = opts.lookbackMs ?? 10 * MINUTE_MS;
  const lag = opts.lagMs ?? 30_000;
  let rows1m = 0;
  let rows1h = 0;

  const upto1m = Math.floor((nowMs - lag) / MINUTE_MS) * MINUTE_MS;
  const wm1m = await readWatermark(db, 'samples_1m');
  const start1m =
    wm1m !== undefined
      ? wm1m - lookback
      : await oldestMs(db, `SELECT (floor(extract(epoch FROM min(time)) / 60) * 60000)::float8 AS ms FROM samples`);
  if (start1m !== undefined && start1m < upto1m) {
    for (let s = start1m; s < upto1m; s += ROLLUP_STEP_MS) {
      const e = Math.min(s + ROLLUP_STEP_MS, upto1m);
      const res = await db.raw(
        `INSERT INTO samples_1m (series_id, bucket, min, max, avg, last, count)
         SELECT series_id, date_bin('1 minute', time, TIMESTAMPTZ 'epoch'), min(value), max(value), avg(value),
                (array_agg(value ORDER BY time DESC))[1], count(*)
           FROM samples WHERE time >= ? AND time < ?
          GROUP BY 1, 2
         ON CONFLICT (series_id, bucket) DO UPDATE
           SET min = EXCLUDED.min, max = EXCLUDED.max, avg = EXCLUDED.avg, last = EXCLUDED.last, count = EXCLUDED.count`,
        [new Date(s).toISOString(), new Date(e).toISOString()],
      );
      rows1m += res.rowCount ?? 0;
    }
  }
  const newWm1m = start1m === undefined ? wm1m : Math.max(upto1m, wm1m ?? upto1m);
  if (newWm1m !== undefined) await writeWatermark(db, 'samples_1m', newWm1m);

  if (newWm1m !== undefined) {
    const upto1h = Math.floor(newWm1m / HOUR_MS) * HOUR_MS;
    const wm1h = await readWatermark(db, 'samples_1h');
    const start1h =
      wm1h !== undefined
        ? wm1h - Math.ceil(lookback / HOUR_MS) * HOUR_MS
        : await oldestMs(db, `SELECT (floor(extract(epoch FROM min(bucket)) / 3600) * 3600000)::float8 AS ms FROM samples_1m`);
    if (start1h !== undefined && start1h < upto1h) {
      for (let s = start1h; s < upto1h; s += 4 * ROLLUP_STEP_MS) {
        const e = Math.min(s + 4 * ROLLUP_STEP_MS, upto1h);
        const res = await db.raw(
          `INSERT INTO samples_1h (series_id, bucket, min, max, avg, last, count)
           SELECT series_id, date_bin('1 hour', bucket, TIMESTAMPTZ 'epoch'), min(min), max(max), sum(avg * count) / sum(count),
                  (array_agg(last ORDER BY bucket DESC))[1], sum(count)
             FROM samples_1m WHERE bucket >= ? AND bucket < ?
            GROUP BY 1, 2
           ON CONFLICT (series_id, bucket) DO UPDATE
             SET min = EXCLUDED.min, max = EXCLUDED.max, avg = EXCLUDED.avg, last = EXCLUDED.last, count = EXCLUDED.count`,
          [new Date(s).toISOString(), new Date(e).toISOString()],
        );
        rows1h += res.rowCount ?? 0;
      }
    }
    if (start1h !== undefined || wm1h !== undefined) {
      const newWm1h = Math.max(upto1h, wm1h ?? upto1h);
      await writeWatermark(db, 'samples_1h', newWm1h);
      return { rows1m, rows1h, watermark1m: newWm1m, watermark1h: newWm1h };
    }
  }
  return { rows1m, rows1h, watermark1m: newWm1m };
}

/** One full maintenance pass at time `nowMs`. */
export async function runMaintenance(db: Knex, settings: MaintenanceSettings, nowMs = Date.now()): Promise<MaintenanceReport> {
  const mode = await storageMode(db);
  const report: MaintenanceReport = { mode, partitionsCreated: [], partitionsDropped: [], rows1m: 0, rows1h: 0 };
  if (mode !== 'native') return report; // TimescaleDB policies do the work; nothing to do when not migrated.
  // Rollups first, so raw data about to expire is summarised before its partition goes.
  const rollups = await refreshRollups(db, nowMs, { lookbackMs: settings.rollupLookbackMs, lagMs: settings.rollupLagMs });
  const today = startOfUtcDay(nowMs);
  const cutoff = today - settings.retentionDays * DAY_MS;
  for (const table of RAW_TABLES) {
    const from = Math.max(today - DAY_MS, cutoff);
    report.partitionsCreated.push(...(await ensureDailyPartitions(db, table, from, today + settings.partitionsAheadDays * DAY_MS)));
    // Older rows that landed in the default partition (late or back-filled data) get their own day too.
    const strays = await db.raw(
      `SELECT DISTINCT (extract(epoch FROM date_trunc('day', time, 'UTC')) * 1000)::float8 AS day FROM ${table}_default WHERE time >= ?`,
      [new Date(cutoff).toISOString()],
    );
    for (const { day } of strays.rows as Array<{ day: number }>) {
      report.partitionsCreated.push(...(await ensureDailyPartitions(db, table, day, day)));
    }
    report.partitionsDropped.push(...(await dropExpiredPartitions(db, table, cutoff)));
  }
  const rollupCutoff = new Date(nowMs - settings.rollupRetentionDays * DAY_MS).toISOString();
  await db.raw(`DELETE FROM samples_1m WHERE bucket < ?`, [rollupCutoff]);
  await db.raw(`DELETE FROM samples_1h WHERE bucket < ?`, [rollupCutoff]);
  report.rows1m = rollups.rows1m;
  report.rows1h = rollups.rows1h;
  if (rollups.watermark1m !== undefined) report.watermark1m = new Date(rollups.watermark1m).toISOString();
  if (rollups.watermark1h !== undefined) report.watermark1h = new Date(rollups.watermark1h).toISOString();
  return report;
}

/** Build the maintenance activities (the control worker wires them). */
export function createMaintenanceActivities(deps: { db: Knex; settings: MaintenanceSettings; now?: () => number }): MaintenanceActivities {
  return {
    async runStorageMaintenance() {
      return runMaintenance(deps.db, deps.settings, deps.now?.() ?? Date.now());
    },
  };
}
