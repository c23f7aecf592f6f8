/**
 * The storage mode: everything that differs at run time between TimescaleDB and native
 * PostgreSQL lives here (which mode the database is in, daily partitions, rollups,
 * continuous-aggregate refreshes, retention). The maintenance activity
 * (activities/maintenance.ts, on the `storage-maintenance` Temporal Schedule) calls
 * `runMaintenance`. Migrations never import this module: they carry their own SQL.
 *
 * Native mode: creates daily partitions ahead of time, drops those past retention, and keeps
 * the 1-minute and 1-hour rollup tables current incrementally. With TimescaleDB
 * the extension's own policies do all of this.
 *
 * In both modes it also brings points older than the regular refresh reaches into the
 * rollups: the ingest batcher records their time ranges in storage_rollup_dirty, and
 * each run recomputes those buckets (native) or refreshes the continuous aggregates
 * over them (TimescaleDB), a bounded span per run
 * (docs/decisions/032-late-points-reach-the-rollups.md).
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

/**
 * The BRIN indexes (`i.indexrelid`) of the 1-minute rollup (native mode) and of the raw tables' partitions or
 * chunks (both modes: a chunk inherits from its hypertable; ADRs 271 and 289).
 */
const BRIN_INDEXES = `pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
  WHERE a.amname = 'brin' AND c.relkind = 'i'
    AND (i.indrelid = to_regclass('samples_1m') OR i.indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent IN (to_regclass('samples'), to_regclass('states'))))`;

/**
 * BRIN indexes are not summarized on insert: a bitmap scan reads every block range appended since
 * the last VACUUM whole, and autovacuum comes round only after a fifth of a table is new (hours of
 * raw samples in today's partition or chunk, days of rollup rows). The fleet query reads the newest
 * rollup minutes and raw samples by time through them, and in TimescaleDB mode the continuous
 * aggregates' refresh reads raw samples by time, so each run summarizes the whole ranges appended
 * (ADRs 271, 289). Each table's lock is taken with NOWAIT: a table autovacuum is working on is skipped
 * (its VACUUM summarizes them), never waited for — a waiting lock request cancels an autovacuum.
 */
async function summarizeBrinIndexes(db: Knex): Promise<void> {
  const indexes = (await db.raw(`SELECT i.indexrelid::regclass::text AS index, i.indrelid::regclass::text AS tbl FROM ${BRIN_INDEXES}`)).rows as Array<{ index: string; tbl: string }>;
  for (const { index, tbl } of indexes) {
    try {
      await db.transaction(async (trx) => {
        await trx.raw(`LOCK TABLE ${tbl} IN SHARE UPDATE EXCLUSIVE MODE NOWAIT`);
        await trx.raw(`SELECT brin_summarize_new_values(?::regclass)`, [index]);
      });
    } catch (err) {
      if ((err as { code?: string }).code !== '55P03') throw err; // lock_not_available: next run
    }
  }
}

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
  /** Most minute buckets' time span recomputed for dirty ranges (late points) per run; the rest waits for the next. */
  lateSpanPerRunMs?: number;
}

/** What one maintenance run did. */
export interface MaintenanceReport {
  mode: StorageMode;
  partitionsCreated: string[];
  partitionsDropped: string[];
  rows1m: number;
  rows1h: number;
  /** Minute buckets recomputed (native) or refreshed (TimescaleDB) for points older than the regular refresh reaches. */
  lateBuckets1m: number;
  /** Hour buckets recomputed or refreshed for such points. */
  lateBuckets1h: number;
  /** Dirty ranges waiting for the next run (beyond the per-run bound). */
  lateRangesLeft: number;
  watermark1m?: string;
  watermark1h?: string;
  /** fleet_rates_1m holds every minute before this (ADR 145). */
  watermarkFleetRates?: string;
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

/**
 * The storage mode the database was created in, read from the catalog. One rule: the samples
 * migration decides the mode once (installed and preloaded TimescaleDB, or native); afterwards
 * everything (the rollups migration, maintenance) follows what it created — a partitioned
 * `samples` is native, a plain one with the extension present is a hypertable.
 */
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
/** Default look-back of the incremental rollup step (INGEST_LATE_AFTER_MS must stay at or below it). */
export const ROLLUP_LOOKBACK_MS = 10 * MINUTE_MS;
/** Default span of dirty minute buckets recomputed per run; the rest waits for the next run. */
const LATE_SPAN_PER_RUN_MS = 2 * HOUR_MS;
/** Dirty rows read per run at most (one per late flush). */
const DIRTY_ROWS_PER_RUN = 10_000;
/** TimescaleDB: the continuous aggregates refreshed over dirty ranges, finest first (1 h is built on 1 m). */
const CAGGS = [
  { view: 'samples_1m', unit: MINUTE_MS },
  { view: 'samples_1h', unit: HOUR_MS },
] as const;

/**
 * Pre-aggregated fleet rates (ADR 145): per device, series shape and minute, the sum of the
 * series' per-second counter rates over the 1-minute rollup and how many series had one —
 * exactly what query/fleet-query.ts computes per series at 1-minute steps with the default
 * maxGapMs (FLEET_RATE_GAP_MS), summed over whole devices.
 */
export const FLEET_RATE_GAP_MS = 2 * MINUTE_MS;
/** Most minutes of fleet rates computed per run (a first run over a long history catches up over several). */
const FLEET_RATES_SPAN_PER_RUN_MS = DAY_MS;

/** The shape of a series path: every key value replaced by `*` (the grouping key of fleet_rates_1m). */
export const SERIES_SHAPE_SQL = (col: string) => `regexp_replace(${col}, '=[^]]*\\]', '=*]', 'g')`;

/** Increase of a counter from `pl` to `last` (SQL), as counterIncrease in query/rate.ts: null on a reset, 32/64-bit wraps followed. */
export const COUNTER_INCREASE_SQL = (() => {
  const wrap = (w: string) => `WHEN pl >= 0.9::float8 * ${w} AND pl < ${w} AND last < 0.1::float8 * ${w} THEN (${w} - pl) + last`;
  return `CASE WHEN last >= pl THEN last - pl ${wrap('4294967296::float8')} ${wrap('18446744073709551616::float8')} END`;
})();

/**
 * Recompute fleet_rates_1m for the minutes [fromMs, toMs) from samples_1m: per series the rate
 * of each bucket over its previous one (at most FLEET_RATE_GAP_MS before), standing also for
 * the empty minutes since that one, summed per device and shape. Reads the rollup rows up to
 * FLEET_RATE_GAP_MS past `toMs` (a later bucket's rate stands for minutes before it).
 */
async function upsertFleetRates(db: Knex, fromMs: number, toMs: number): Promise<number> {
  return inSteps(fromMs, toMs, ROLLUP_STEP_MS, (from, to) =>
    db.transaction(async (trx) => {
      await trx.raw(`DELETE FROM fleet_rates_1m WHERE bucket >= ? AND bucket < ?`, [from, to]);
      const gap = `INTERVAL '${FLEET_RATE_GAP_MS / 1000} seconds'`;
      const res = await trx.raw(
        `WITH r AS (
           SELECT series_id AS s, bucket AS b, last, lag(bucket) OVER w AS pb, lag(last) OVER w AS pl
             FROM samples_1m WHERE bucket >= ?::timestamptz - ${gap} AND bucket < ?::timestamptz + ${gap}
           WINDOW w AS (PARTITION BY series_id ORDER BY bucket)),
         v AS (SELECT s, b, pb, (${COUNTER_INCREASE_SQL}) / date_part('epoch', b - pb) AS v
                 FROM r WHERE b >= ?::timestamptz AND pb IS NOT NULL AND b - pb <= ${gap}),
         f AS (SELECT s, b - k.i * INTERVAL '1 minute' AS step, v
                 FROM v CROSS JOIN generate_series(0, ${FLEET_RATE_GAP_MS / MINUTE_MS}) AS k(i)
                WHERE v IS NOT NULL AND (k.i = 0 OR k.i * INTERVAL '1 minute' < b - pb))
         INSERT INTO fleet_rates_1m (bucket, device_id, shape, rate_sum, series)
         SELECT f.step, se.device_id, ${SERIES_SHAPE_SQL('se.path')}, sum(f.v), count(*)
           FROM f JOIN series se ON se.id = f.s
          WHERE f.step >= ?::timestamptz AND f.step < ?::timestamptz
          GROUP BY 1, 2, 3`,
        [from, to, from, from, to],
      );
      return res.rowCount ?? 0;
    }),
  );
}

/**
 * Move fleet_rates_1m forward to the minutes whose rollup input is complete: every minute
 * before `complete1mMs` − FLEET_RATE_GAP_MS, recomputing `lookbackMs` behind its watermark.
 * TimescaleDB (`refreshFirst`): the 1-minute continuous aggregate is refreshed over the
 * window first, so the rates read what the rollup will keep. Returns the new watermark.
 */
async function advanceFleetRates(db: Knex, complete1mMs: number, lookbackMs: number, refreshFirst: boolean): Promise<number | undefined> {
  const wm = await readWatermark(db, 'fleet_rates_1m');
  const start =
    wm !== undefined
      ? wm - Math.ceil(lookbackMs / MINUTE_MS) * MINUTE_MS
      : await oldestMs(
          db,
          `SELECT (floor(extract(epoch FROM least((SELECT min(bucket) FROM samples_1m), (SELECT min(time) FROM samples))) / 60) * 60000)::float8 AS ms`,
        );
  if (start === undefined) return wm;
  const upto = Math.min(complete1mMs - FLEET_RATE_GAP_MS, start + FLEET_RATES_SPAN_PER_RUN_MS);
  if (upto <= start) return wm;
  if (refreshFirst) {
    await db.raw(`CALL refresh_continuous_aggregate('samples_1m'::regclass, ?::timestamptz, ?::timestamptz)`, [
      new Date(start - FLEET_RATE_GAP_MS).toISOString(),
      new Date(upto + FLEET_RATE_GAP_MS).toISOString(),
    ]);
  }
  await upsertFleetRates(db, start, upto);
  const next = Math.max(upto, wm ?? upto);
  await writeWatermark(db, 'fleet_rates_1m', next);
  return next;
}

/** Fleet-rate minutes a change of the 1-minute rollup over [from, to) reaches (a later bucket's rate and what it stands for), below `wm`. */
function fleetRangesOf(ranges: Range[], wm: number | undefined): Range[] {
  if (wm === undefined) return [];
  return planRanges(mergeRanges(ranges.map(([f, t]) => [f, t + FLEET_RATE_GAP_MS])), -Infinity, wm, Infinity).now;
}

/** Run `step` over [fromMs, toMs) in slices of `stepMs` (bounded statements), summing the rows it reports. */
async function inSteps(fromMs: number, toMs: number, stepMs: number, step: (fromIso: string, toIso: string) => Promise<number>): Promise<number> {
  let rows = 0;
  for (let s = fromMs; s < toMs; s += stepMs) rows += await step(new Date(s).toISOString(), new Date(Math.min(s + stepMs, toMs)).toISOString());
  return rows;
}

/** Recompute the 1-minute rollup rows in [fromMs, toMs) (whole minutes) from raw samples; returns the rows written. */
async function upsert1m(db: Knex, fromMs: number, toMs: number): Promise<number> {
  return inSteps(fromMs, toMs, ROLLUP_STEP_MS, async (from, to) => {
    const res = await db.raw(
      `INSERT INTO samples_1m (series_id, bucket, min, max, avg, last, count)
       SELECT series_id, date_bin('1 minute', time, TIMESTAMPTZ 'epoch'), min(value), max(value), avg(value),
              (array_agg(value ORDER BY time DESC))[1], count(*)
         FROM samples WHERE time >= ? AND time < ?
        GROUP BY 1, 2
       ON CONFLICT (series_id, bucket) DO UPDATE
         SET min = EXCLUDED.min, max = EXCLUDED.max, avg = EXCLUDED.avg, last = EXCLUDED.last, count = EXCLUDED.count`,
      [from, to],
    );
    return res.rowCount ?? 0;
  });
}

/** Recompute the 1-hour rollup rows in [fromMs, toMs) (whole hours) from the 1-minute rollup; returns the rows written. */
async function upsert1h(db: Knex, fromMs: number, toMs: number): Promise<number> {
  return inSteps(fromMs, toMs, 4 * ROLLUP_STEP_MS, async (from, to) => {
    const res = await db.raw(
      `INSERT INTO samples_1h (series_id, bucket, min, max, avg, last, count)
       SELECT series_id, date_bin('1 hour', bucket, TIMESTAMPTZ 'epoch'), min(min), max(max), sum(avg * count) / sum(count),
              (array_agg(last ORDER BY bucket DESC))[1], sum(count)
         FROM samples_1m WHERE bucket >= ? AND bucket < ?
        GROUP BY 1, 2
       ON CONFLICT (series_id, bucket) DO UPDATE
         SET min = EXCLUDED.min, max = EXCLUDED.max, avg = EXCLUDED.avg, last = EXCLUDED.last, count = EXCLUDED.count`,
      [from, to],
    );
    return res.rowCount ?? 0;
  });
}

/** A time range [from, to) in ms. */
type Range = [number, number];

/** Sort ranges and merge those that overlap or touch. */
function mergeRanges(ranges: Range[]): Range[] {
  const out: Range[] = [];
  for (const [from, to] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** Ranges widened to whole `unit` buckets, merged. */
function toBuckets(ranges: Range[], unit: number): Range[] {
  return mergeRanges(ranges.map(([from, to]) => [Math.floor(from / unit) * unit, Math.ceil(to / unit) * unit]));
}

/** Clip merged ranges to [lo, hi) and take at most `budget` ms of them now; the rest is left for later. */
function planRanges(ranges: Range[], lo: number, hi: number, budget: number): { now: Range[]; later: Range[] } {
  const now: Range[] = [];
  const later: Range[] = [];
  for (const [f, t] of ranges) {
    const from = Math.max(f, lo);
    const to = Math.min(t, hi);
    if (from >= to) continue;
    const take = Math.min(to - from, budget);
    if (take > 0) now.push([from, from + take]);
    if (from + take < to) later.push([from + take, to]);
    budget -= take;
  }
  return { now, later };
}

/** Dirty rows, oldest recorded first, as minute-aligned ranges [from, to). */
async function readDirty(db: Knex): Promise<{ ids: number[]; ranges: Range[] }> {
  const res = await db.raw(
    `SELECT id, (floor(extract(epoch FROM from_time) / 60) * 60000)::float8 AS f,
            ((floor(extract(epoch FROM to_time) / 60) + 1) * 60000)::float8 AS t
       FROM storage_rollup_dirty ORDER BY id LIMIT ?`,
    [DIRTY_ROWS_PER_RUN],
  );
  const rows = res.rows as Array<{ id: number | string; f: number; t: number }>;
  return { ids: rows.map((r) => Number(r.id)), ranges: rows.map((r) => [Number(r.f), Number(r.t)]) };
}

/** Delete the dirty rows processed; record what was left of them for the next run. Returns the rows now waiting. */
async function replaceDirty(db: Knex, ids: number[], later: Range[]): Promise<number> {
  await db.raw(`DELETE FROM storage_rollup_dirty WHERE id = ANY(?::bigint[])`, [ids]);
  if (later.length > 0) {
    // to_time is the last instant of the range (inclusive, as the batcher records it).
    await db.raw(
      `INSERT INTO storage_rollup_dirty (from_time, to_time)
       SELECT to_timestamp(f / 1000), to_timestamp((t - 1) / 1000) FROM unnest(?::float8[], ?::float8[]) AS u(f, t)`,
      [later.map((r) => r[0]), later.map((r) => r[1])],
    );
  }
  const res = await db.raw(`SELECT count(*)::int AS n FROM storage_rollup_dirty`);
  return res.rows[0].n as number;
}

/** What recomputing dirty ranges did. */
export interface LateWork {
  /** Minute buckets recomputed (or refreshed), across all series. */
  buckets1m: number;
  /** Hour buckets recomputed (or refreshed). */
  buckets1h: number;
  /** Dirty ranges left for the next run (beyond the per-run bound). */
  rangesLeft: number;
}

const span = (ranges: Range[]) => ranges.reduce((n, [f, t]) => n + (t - f), 0);

/**
 * Native mode: recompute the rollup buckets of the dirty ranges the batcher recorded for late
 * points, with the same upserts as the incremental step, and delete the rows processed — one
 * transaction, so a range is either done and gone or still there. Only buckets below the
 * watermarks: newer ones are the incremental step's. At most `budgetMs` of minute buckets.
 */
async function recomputeDirty(
  db: Knex,
  wm1m: number | undefined,
  wm1h: number | undefined,
  opts: { budgetMs: number; notBeforeMs: number; fleetWm?: number },
): Promise<LateWork & { rows1m: number; rows1h: number }> {
  return db.transaction(async (trx) => {
    const work = { buckets1m: 0, buckets1h: 0, rangesLeft: 0, rows1m: 0, rows1h: 0 };
    const dirty = await readDirty(trx);
    if (dirty.ids.length === 0) return work;
    // Without a watermark nothing was rolled up yet: the first incremental run starts at the oldest sample anyway.
    const { now, later } = planRanges(mergeRanges(dirty.ranges), opts.notBeforeMs, wm1m ?? -Infinity, opts.budgetMs);
    for (const [from, to] of now) work.rows1m += await upsert1m(trx, from, to);
    work.buckets1m = span(now) / MINUTE_MS;
    for (const [from, to] of fleetRangesOf(now, opts.fleetWm)) await upsertFleetRates(trx, from, to);
    if (wm1h !== undefined) {
      const hours = planRanges(toBuckets(now, HOUR_MS), -Infinity, wm1h, Infinity).now;
      for (const [from, to] of hours) work.rows1h += await upsert1h(trx, from, to);
      work.buckets1h = span(hours) / HOUR_MS;
    }
    work.rangesLeft = await replaceDirty(trx, dirty.ids, later);
    return work;
  });
}

/**
 * TimescaleDB mode: the refresh policies only look `start_offset` back (3 h for 1 m, 3 days
 * for 1 h), so refresh the continuous aggregates over the dirty ranges the batcher recorded.
 * `CALL refresh_continuous_aggregate` cannot run in a transaction: the rows are deleted after
 * the refreshes, so a run that fails between the two only refreshes the same ranges again.
 */
export async function refreshDirtyAggregates(
  db: Knex,
  nowMs: number,
  opts: { budgetMs?: number; lagMs?: number } = {},
): Promise<LateWork> {
  const dirty = await readDirty(db);
  if (dirty.ids.length === 0) return { buckets1m: 0, buckets1h: 0, rangesLeft: 0 };
  // Complete buckets only; the policies cover the newest ones.
  const complete1m = Math.floor((nowMs - (opts.lagMs ?? 30_000)) / MINUTE_MS) * MINUTE_MS;
  const { now, later } = planRanges(mergeRanges(dirty.ranges), -Infinity, complete1m, opts.budgetMs ?? LATE_SPAN_PER_RUN_MS);
  const buckets = [0, 0];
  for (const [i, { view, unit }] of CAGGS.entries()) {
    const windows = planRanges(toBuckets(now, unit), -Infinity, Math.floor(complete1m / unit) * unit, Infinity).now;
    for (const [from, to] of windows) {
      await db.raw(`CALL refresh_continuous_aggregate(?::regclass, ?::timestamptz, ?::timestamptz)`, [
        view,
        new Date(from).toISOString(),
        new Date(to).toISOString(),
      ]);
      buckets[i] += (to - from) / unit;
    }
  }
  for (const [from, to] of fleetRangesOf(now, await readWatermark(db, 'fleet_rates_1m'))) await upsertFleetRates(db, from, to);
  const rangesLeft = await db.transaction((trx) => replaceDirty(trx, dirty.ids, later));
  return { buckets1m: buckets[0], buckets1h: buckets[1], rangesLeft };
}

/**
 * Bring samples_1m and samples_1h up to date: recompute every bucket from
 * (watermark − lookback) to the last complete bucket, upserting, then move the watermark.
 * Then recompute the buckets of the dirty ranges recorded for points older than that
 * (at most `lateBudgetMs` of minute buckets per call).
 */
export async function refreshRollups(
  db: Knex,
  nowMs: number,
  opts: { lookbackMs?: number; lagMs?: number; lateBudgetMs?: number; notBeforeMs?: number } = {},
): Promise<{ rows1m: number; rows1h: number; watermark1m?: number; watermark1h?: number; watermarkFleetRates?: number; late: LateWork }> {
  const lookback = opts.lookbackMs ?? ROLLUP_LOOKBACK_MS;
  const lag = opts.lagMs ?? 30_000;
  let rows1m = 0;
  let rows1h = 0;

  const upto1m = Math.floor((nowMs - lag) / MINUTE_MS) * MINUTE_MS;
  const wm1m = await readWatermark(db, 'samples_1m');
  const start1m =
    wm1m !== undefined
      ? wm1m - lookback
      : await oldestMs(db, `SELECT (floor(extract(epoch FROM min(time)) / 60) * 60000)::float8 AS ms FROM samples`);
  if (start1m !== undefined && start1m < upto1m) rows1m += await upsert1m(db, start1m, upto1m);
  const newWm1m = start1m === undefined ? wm1m : Math.max(upto1m, wm1m ?? upto1m);
  if (newWm1m !== undefined) await writeWatermark(db, 'samples_1m', newWm1m);

  let newWm1h: number | undefined;
  if (newWm1m !== undefined) {
    const upto1h = Math.floor(newWm1m / HOUR_MS) * HOUR_MS;
    const wm1h = await readWatermark(db, 'samples_1h');
    const start1h =
      wm1h !== undefined
        ? wm1h - Math.ceil(lookback / HOUR_MS) * HOUR_MS
        : await oldestMs(db, `SELECT (floor(extract(epoch FROM min(bucket)) / 3600) * 3600000)::float8 AS ms FROM samples_1m`);
    if (start1h !== undefined && start1h < upto1h) rows1h += await upsert1h(db, start1h, upto1h);
    if (start1h !== undefined || wm1h !== undefined) {
      newWm1h = Math.max(upto1h, wm1h ?? upto1h);
      await writeWatermark(db, 'samples_1h', newWm1h);
    }
  }

  const late = await recomputeDirty(db, newWm1m, newWm1h, {
    budgetMs: opts.lateBudgetMs ?? LATE_SPAN_PER_RUN_MS,
    notBeforeMs: opts.notBeforeMs ?? -Infinity,
    fleetWm: await readWatermark(db, 'fleet_rates_1m'),
  });
  const fleetRates = newWm1m === undefined ? undefined : await advanceFleetRates(db, newWm1m, lookback, false);
  return {
    rows1m: rows1m + late.rows1m,
    rows1h: rows1h + late.rows1h,
    watermark1m: newWm1m,
    watermark1h: newWm1h,
    watermarkFleetRates: fleetRates,
    late: { buckets1m: late.buckets1m, buckets1h: late.buckets1h, rangesLeft: late.rangesLeft },
  };
}

/** One full maintenance pass at time `nowMs`. */
export async function runMaintenance(db: Knex, settings: MaintenanceSettings, nowMs = Date.now()): Promise<MaintenanceReport> {
  const mode = await storageMode(db);
  const report: MaintenanceReport = {
    mode,
    partitionsCreated: [],
    partitionsDropped: [],
    rows1m: 0,
    rows1h: 0,
    lateBuckets1m: 0,
    lateBuckets1h: 0,
    lateRangesLeft: 0,
  };
  if (mode === 'missing') return report;
  if (mode === 'timescaledb') {
    // The policies do everything else; points older than their refresh windows need this.
    const late = await refreshDirtyAggregates(db, nowMs, { budgetMs: settings.lateSpanPerRunMs, lagMs: settings.rollupLagMs });
    const complete1m = Math.floor((nowMs - (settings.rollupLagMs ?? 30_000)) / MINUTE_MS) * MINUTE_MS;
    const fleetWm = await advanceFleetRates(db, complete1m, settings.rollupLookbackMs ?? ROLLUP_LOOKBACK_MS, true);
    await db.raw(`DELETE FROM fleet_rates_1m WHERE bucket < ?`, [new Date(nowMs - settings.rollupRetentionDays * DAY_MS).toISOString()]);
    await summarizeBrinIndexes(db);
    return {
      ...report,
      lateBuckets1m: late.buckets1m,
      lateBuckets1h: late.buckets1h,
      lateRangesLeft: late.rangesLeft,
      ...(fleetWm !== undefined ? { watermarkFleetRates: new Date(fleetWm).toISOString() } : {}),
    };
  }
  const rollupCutoffMs = nowMs - settings.rollupRetentionDays * DAY_MS;
  // Rollups first, so raw data about to expire is summarised before its partition goes.
  const rollups = await refreshRollups(db, nowMs, {
    lookbackMs: settings.rollupLookbackMs,
    lagMs: settings.rollupLagMs,
    lateBudgetMs: settings.lateSpanPerRunMs,
    notBeforeMs: rollupCutoffMs,
  });
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
  const rollupCutoff = new Date(rollupCutoffMs).toISOString();
  await db.raw(`DELETE FROM samples_1m WHERE bucket < ?`, [rollupCutoff]);
  await db.raw(`DELETE FROM samples_1h WHERE bucket < ?`, [rollupCutoff]);
  await db.raw(`DELETE FROM fleet_rates_1m WHERE bucket < ?`, [rollupCutoff]);
  await summarizeBrinIndexes(db);
  report.rows1m = rollups.rows1m;
  report.rows1h = rollups.rows1h;
  report.lateBuckets1m = rollups.late.buckets1m;
  report.lateBuckets1h = rollups.late.buckets1h;
  report.lateRangesLeft = rollups.late.rangesLeft;
  if (rollups.watermark1m !== undefined) report.watermark1m = new Date(rollups.watermark1m).toISOString();
  if (rollups.watermarkFleetRates !== undefined) report.watermarkFleetRates = new Date(rollups.watermarkFleetRates).toISOString();
  if (rollups.watermark1h !== undefined) report.watermark1h = new Date(rollups.watermark1h).toISOString();
  return report;
}
