/**
 * The query router: one read path for charts, the API and scripts, over either
 * storage mode (the rollups have the same names and columns as TimescaleDB
 * continuous aggregates and as native tables).
 *
 * Given series (devices + a path pattern, or series ids), a time range and a pixel
 * width, it picks raw samples, the 1-minute or the 1-hour rollup so that each series
 * returns about one point per pixel, aggregates to that step (avg, min, max, last),
 * optionally turns counters into non-negative per-second rates, and returns gaps as
 * null points so lines break. Rollup reads are completed from raw samples past the
 * rollup's newest bucket, so results never depend on how recently rollups were refreshed;
 * the bucket containing `to` is read from raw samples up to `to` too, so no sample after
 * `to` counts (ADR 240; where retention has dropped that bucket's raw samples, its rollup
 * row is the only source and is used whole). Past the 1-hour rollup, the 1-minute rollup
 * answers for whole minutes first, so only the minute holding `to` is read raw (ADR 255).
 *
 * Every value is a bound parameter; the only text spliced into SQL comes from the
 * fixed tables below, chosen by the router, never by the caller.
 */
import { z } from 'zod';
import { counterRate, type SeriesPoint } from './rate';
import { compilePathPattern } from './path-pattern';

/** Anything that runs a parameterised query (a pg Pool, Client or PoolClient). */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** Aggregation of the values within one step. */
export type Aggregation = 'avg' | 'min' | 'max' | 'last';
/** Which data a query read. */
export type Resolution = 'raw' | '1m' | '1h';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Raw samples per second of one series that budgets assume (the densest the collector's profiles produce). */
export const RAW_POINTS_PER_S = 1;
const ROWS_PER_MS: Record<Resolution, number> = { raw: RAW_POINTS_PER_S / 1000, '1m': 1 / MINUTE_MS, '1h': 1 / HOUR_MS };

/** Rows (raw samples or rollup rows) that `series` series over `spanMs` of `resolution` data are expected to hold. */
export function expectedRows(series: number, spanMs: number, resolution: Resolution): number {
  return Math.ceil(series * Math.max(0, spanMs) * ROWS_PER_MS[resolution]);
}
/** Most series one query may return. */
export const MAX_SERIES = 500;
/** Most raw rows read when no aggregation applies. */
const MAX_RAW_ROWS = 200_000;

/** The router's input (validated). */
export const SeriesQuerySchema = z
  .object({
    deviceIds: z.array(z.number().int().positive()).max(1000).optional(),
    /** Path pattern with wildcards (query/path-pattern.ts). */
    path: z.string().min(1).max(1024).optional(),
    seriesIds: z.array(z.number().int().positive()).max(MAX_SERIES).optional(),
    from: z.number().finite(),
    to: z.number().finite(),
    widthPx: z.number().int().min(1).max(10_000),
    agg: z.enum(['avg', 'min', 'max', 'last']).default('avg'),
    rate: z.boolean().default(false),
    /** Force a resolution (benchmarks, scripts); `auto` lets the router choose. */
    resolution: z.enum(['auto', 'raw', '1m', '1h']).default('auto'),
  })
  .refine((q) => q.to > q.from, { message: 'to must be after from', path: ['to'] })
  .refine((q) => (q.deviceIds?.length ?? 0) > 0 || (q.seriesIds?.length ?? 0) > 0, {
    message: 'give deviceIds or seriesIds',
    path: ['deviceIds'],
  });
export type SeriesQuery = z.input<typeof SeriesQuerySchema>;

/** One series in a result. */
export interface SeriesResult {
  seriesId: number;
  deviceId: number;
  path: string;
  points: SeriesPoint[];
}

/** What the router returns. */
export interface QueryResult {
  resolution: Resolution;
  /** Width of one step in ms (0: raw points, not aggregated). */
  bucketMs: number;
  agg: Aggregation;
  rate: boolean;
  series: SeriesResult[];
  /** More series matched than MAX_SERIES; the first ones (by device, path) are returned. */
  truncated: boolean;
}

/**
 * The data and step for a range drawn `widthPx` wide: the coarsest data whose unit
 * still fits in one pixel, aggregated to a whole number of its units per pixel.
 */
export function chooseResolution(from: number, to: number, widthPx: number, forced: Resolution | 'auto' = 'auto'): { resolution: Resolution; bucketMs: number } {
  const step = (to - from) / Math.max(1, widthPx);
  const unitsOf = (unit: number) => Math.max(1, Math.round(step / unit)) * unit;
  if (forced === '1h') return { resolution: '1h', bucketMs: unitsOf(HOUR_MS) };
  if (forced === '1m') return { resolution: '1m', bucketMs: unitsOf(MINUTE_MS) };
  if (forced === 'raw') return { resolution: 'raw', bucketMs: step >= 1000 ? unitsOf(1000) : 0 };
  if (step >= HOUR_MS) return { resolution: '1h', bucketMs: unitsOf(HOUR_MS) };
  if (step >= MINUTE_MS) return { resolution: '1m', bucketMs: unitsOf(MINUTE_MS) };
  if (step >= 1000) return { resolution: 'raw', bucketMs: unitsOf(1000) };
  return { resolution: 'raw', bucketMs: 0 };
}

const RAW_AGG: Record<Aggregation, string> = {
  avg: 'avg(value)',
  min: 'min(value)',
  max: 'max(value)',
  last: '(array_agg(value ORDER BY time DESC))[1]',
};

const ROLLUP_AGG: Record<Aggregation, string> = {
  avg: 'sum(avg * count) / sum(count)',
  min: 'min(min)',
  max: 'max(max)',
  last: '(array_agg(last ORDER BY time DESC))[1]',
};

/** The rollup tables and their units (SQL text chosen by the router, never by a caller). */
export const ROLLUPS = {
  '1m': { table: 'samples_1m', unit: "INTERVAL '1 minute'" },
  '1h': { table: 'samples_1h', unit: "INTERVAL '1 hour'" },
} as const;

const TS = (n: number) => `to_timestamp($${n}::float8 / 1000)`;

/** Start of the rollup bucket (of `unit`) that contains `to`, given as parameter $n (ms). */
const bucketHoldingTo = (unit: string, n: number) => `date_bin(${unit}, ${TS(n)}, TIMESTAMPTZ 'epoch')`;

/**
 * The condition on the rows of rollup `rollup` a read takes: buckets before the one holding `to`
 * ($n, ms), whose samples after `to` must not count — raw samples up to `to` stand in for it
 * (rawTailFrom), so an answer never depends on whether that bucket was rolled up yet. Where none of
 * the series ($1) has a raw sample in that bucket any more (retention drops whole days), its rollup
 * row is the only source and is used whole (ADR 240). The lookup is one InitPlan per statement (the
 * bucket's first raw sample, or that there is none); as an OR beside a known range it leaves the
 * planner's row estimate of the rollup read as it was.
 */
export function rollupRowBeforeTo(rollup: keyof typeof ROLLUPS, n: number): string {
  const { unit } = ROLLUPS[rollup];
  const b = bucketHoldingTo(unit, n);
  return `(bucket < ${b} OR NOT EXISTS (SELECT 1 FROM samples x WHERE x.series_id = ANY($1::bigint[]) AND x.time >= ${b} AND x.time < ${b} + ${unit}))`;
}

/**
 * Where raw samples take over from rollup `rollup` when it ends at `boundary` (SQL, a timestamp; NULL:
 * no rollup rows, raw from the start): there, or at the start of the bucket containing `to` ($n) if
 * that is earlier (ADR 240; where that bucket's raw samples are gone, rollupRowBeforeTo takes its row).
 */
export function rawTailFrom(rollup: keyof typeof ROLLUPS, n: number, boundary: string): string {
  return `least(coalesce(${boundary}, TIMESTAMPTZ '-infinity'), ${bucketHoldingTo(ROLLUPS[rollup].unit, n)})`;
}

/** Columns of a rollup row read as a source: series_id, time (the bucket's start), min, max, avg, last, count. */
const RAW_AS_ROLLUP_ROW = 'series_id, time, value AS min, value AS max, value AS avg, value AS last, 1 AS count';

/**
 * The rows (series_id, time, min, max, avg, last, count) that complete rollup `rollup` from `start`
 * (SQL, a timestamp: where its rows end, rawTailFrom, not before the range's start) up to `to`
 * ($n, ms). Past the 1-minute rollup: raw samples, one row each. Past the 1-hour rollup: first the
 * 1-minute rollup's rows, for whole minutes before the one holding `to` (that minute's row only where
 * retention dropped its raw samples: rollupRowBeforeTo), then raw samples from where those rows end
 * (the newest of them + 1 minute, or `start` when there are none) or from the minute holding `to`,
 * whichever is earlier (ADR 255). So a `to` inside a rolled-up hour reads at most one minute of raw
 * samples per series, not up to an hour of them. Where the hour holding `to` is answered whole by its
 * rollup row (no raw sample of these series in it: retention), its minutes are not read again.
 */
export function rowsPastRollup(rollup: keyof typeof ROLLUPS, n: number, start: string): string {
  if (rollup === '1m') return `SELECT ${RAW_AS_ROLLUP_ROW} FROM samples WHERE series_id = ANY($1::bigint[]) AND time <= ${TS(n)} AND time >= ${start}`;
  const hour = bucketHoldingTo(ROLLUPS['1h'].unit, n);
  return `WITH lo AS (SELECT ${start} AS t),
       m1 AS (SELECT series_id, bucket AS time, min, max, avg, last, count FROM samples_1m
               WHERE series_id = ANY($1::bigint[]) AND bucket >= (SELECT t FROM lo) AND bucket <= ${TS(n)} AND ${rollupRowBeforeTo('1m', n)}
                 AND (bucket < ${hour} OR EXISTS (SELECT 1 FROM samples x WHERE x.series_id = ANY($1::bigint[]) AND x.time >= ${hour} AND x.time < ${hour} + ${ROLLUPS['1h'].unit})))
     SELECT * FROM m1
     UNION ALL
     SELECT ${RAW_AS_ROLLUP_ROW} FROM samples
      WHERE series_id = ANY($1::bigint[]) AND time <= ${TS(n)}
        AND time >= greatest((SELECT t FROM lo), ${rawTailFrom('1m', n, `(SELECT max(time) + ${ROLLUPS['1m'].unit} FROM m1)`)})`;
}

interface Row {
  s: number;
  t: number;
  v: number;
}

async function resolveSeries(db: Queryable, q: z.output<typeof SeriesQuerySchema>) {
  const regex = q.path ? compilePathPattern(q.path).regex : null;
  const res = await db.query<{ id: number; device_id: number; path: string }>(
    `SELECT id, device_id, path FROM series
      WHERE kind = 'number'
        AND (cardinality($1::int[]) = 0 OR device_id = ANY($1::int[]))
        AND (cardinality($2::bigint[]) = 0 OR id = ANY($2::bigint[]))
        AND ($3::text IS NULL OR path ~ $3::text)
      ORDER BY device_id, path
      LIMIT $4`,
    [q.deviceIds ?? [], q.seriesIds ?? [], regex, MAX_SERIES + 1],
  );
  const rows = res.rows.map((r) => ({ seriesId: Number(r.id), deviceId: Number(r.device_id), path: r.path }));
  return { rows: rows.slice(0, MAX_SERIES), truncated: rows.length > MAX_SERIES };
}

async function readPoints(db: Queryable, ids: number[], from: number, to: number, resolution: Resolution, bucketMs: number, agg: Aggregation): Promise<Row[]> {
  if (bucketMs === 0) {
    const res = await db.query<Row>(
      `SELECT series_id AS s, (extract(epoch FROM time) * 1000)::float8 AS t, value AS v
         FROM samples WHERE series_id = ANY($1::bigint[]) AND time >= ${TS(2)} AND time <= ${TS(3)}
        ORDER BY series_id, time LIMIT $4`,
      [ids, from, to, MAX_RAW_ROWS],
    );
    return res.rows;
  }
  // Buckets aligned on the epoch, computed in numeric so boundaries are exact.
  const bucketOf = (col: string) => `(floor(extract(epoch FROM ${col}) * 1000 / $4::numeric) * $4::numeric)::float8`;
  if (resolution === 'raw') {
    const res = await db.query<Row>(
      `SELECT series_id AS s, ${bucketOf('time')} AS t, ${RAW_AGG[agg]} AS v
         FROM samples WHERE series_id = ANY($1::bigint[]) AND time >= ${TS(2)} AND time <= ${TS(3)}
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [ids, from, to, bucketMs],
    );
    return res.rows;
  }
  const { table, unit } = ROLLUPS[resolution];
  const res = await db.query<Row>(
    `WITH r AS (
       SELECT series_id, bucket AS time, min, max, avg, last, count
         FROM ${table} WHERE series_id = ANY($1::bigint[]) AND bucket >= ${TS(2)} AND bucket <= ${TS(3)}
          AND ${rollupRowBeforeTo(resolution, 3)}
       UNION ALL
       SELECT * FROM (${rowsPastRollup(resolution, 3, `greatest(${TS(2)}, ${rawTailFrom(resolution, 3, `(SELECT max(bucket) + ${unit} FROM ${table} WHERE series_id = ANY($1::bigint[]))`)})`)}) past
     )
     SELECT series_id AS s, ${bucketOf('time')} AS t, ${ROLLUP_AGG[agg]}::float8 AS v
       FROM r GROUP BY 1, 2 ORDER BY 1, 2`,
    [ids, from, to, bucketMs],
  );
  return res.rows;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Insert a null wherever consecutive points are further apart than twice the series'
 * usual spacing (at least one step), and at the start of every recorded gap that
 * has data on both sides, so the chart line breaks there.
 */
export function insertGaps(points: SeriesPoint[], stepMs: number, recordedGaps: Array<{ from: number; to: number }> = []): SeriesPoint[] {
  const deltas: number[] = [];
  for (let i = 1; i < points.length; i++) deltas.push(points[i].t - points[i - 1].t);
  const expected = Math.max(stepMs, median(deltas));
  const out: SeriesPoint[] = [];
  for (const p of points) {
    const prev = out[out.length - 1];
    if (prev && prev.v !== null && p.v !== null && p.t - prev.t > 2 * expected) {
      out.push({ t: prev.t + expected, v: null });
    }
    out.push(p);
  }
  if (recordedGaps.length === 0) return out;
  const marks = recordedGaps
    .map((g) => g.from)
    .filter((t) => out.length > 0 && t > out[0].t && t < out[out.length - 1].t)
    .sort((a, b) => a - b);
  if (marks.length === 0) return out;
  const merged: SeriesPoint[] = [];
  let m = 0;
  for (const p of out) {
    while (m < marks.length && marks[m] < p.t) {
      const last = merged[merged.length - 1];
      if (last && last.v !== null) merged.push({ t: marks[m], v: null });
      m++;
    }
    merged.push(p);
  }
  return merged;
}

/** Run a query: see the module comment. Throws a ZodError or PathSyntaxError on bad input. */
export async function querySeries(db: Queryable, input: SeriesQuery): Promise<QueryResult> {
  const q = SeriesQuerySchema.parse(input);
  const { resolution, bucketMs } = chooseResolution(q.from, q.to, q.widthPx, q.resolution);
  const agg: Aggregation = q.rate ? 'last' : q.agg;
  const { rows: series, truncated } = await resolveSeries(db, q);
  const result: QueryResult = { resolution, bucketMs, agg, rate: q.rate, series: [], truncated };
  if (series.length === 0) return result;

  // Align the start on a step so the first bucket is whole; a rate needs one step more before it.
  const alignedFrom = bucketMs > 0 ? Math.floor(q.from / bucketMs) * bucketMs : q.from;
  const readFrom = q.rate ? alignedFrom - Math.max(bucketMs, 1) : alignedFrom;
  const ids = series.map((s) => s.seriesId);
  const rows = await readPoints(db, ids, readFrom, q.to, resolution, bucketMs, agg);

  const gapsRes = await db.query<{ device_id: number; f: number; t: number }>(
    `SELECT device_id, (extract(epoch FROM started_at) * 1000)::float8 AS f, (extract(epoch FROM ended_at) * 1000)::float8 AS t
       FROM gaps WHERE device_id = ANY($1::int[]) AND ended_at >= ${TS(2)} AND started_at <= ${TS(3)}`,
    [[...new Set(series.map((s) => s.deviceId))], readFrom, q.to],
  );
  const gapsByDevice = new Map<number, Array<{ from: number; to: number }>>();
  for (const g of gapsRes.rows) {
    const list = gapsByDevice.get(Number(g.device_id)) ?? [];
    list.push({ from: g.f, to: g.t });
    gapsByDevice.set(Number(g.device_id), list);
  }

  const bySeries = new Map<number, SeriesPoint[]>();
  for (const r of rows) {
    const id = Number(r.s);
    let list = bySeries.get(id);
    if (!list) bySeries.set(id, (list = []));
    list.push({ t: Number(r.t), v: r.v === null ? null : Number(r.v) });
  }
  for (const s of series) {
    let points = insertGaps(bySeries.get(s.seriesId) ?? [], bucketMs, gapsByDevice.get(s.deviceId));
    if (q.rate) points = counterRate(points).filter((p) => p.t >= alignedFrom);
    result.series.push({ ...s, points });
  }
  return result;
}
