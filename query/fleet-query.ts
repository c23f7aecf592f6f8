/**
 * Fleet-scale queries (issue 17): one aggregated answer over many series, computed in
 * SQL so a total over 10,000 interfaces never leaves the database as 10,000 lines.
 *
 * A query is a path pattern (or a metric such as `interfaces: in-octets`, one model per
 * device: core/path-equivalence.ts), an optional counter `rate`, an aggregation across
 * series (`sum`, `avg`, `min`, `max`, `count`, `last`), an optional group by (`device`,
 * `site`, `protocol`, `series`, or a list key of the path such as `interface[name]`)
 * and an optional top/bottom N of the groups by their mean over the range.
 *
 * The data (raw samples, 1-minute or 1-hour rollups, completed from raw past the
 * rollup's newest bucket and in the bucket holding `to`, up to `to`: ADR 240; past the 1-hour rollup the
 * 1-minute rollup's whole minutes first: ADR 255) and the step are chosen as the query router chooses them
 * (query/router.ts). Per series and step the database takes the step's value — its
 * average (sum, avg, count), min, max or last value; for a rate the non-negative
 * per-second increase of the step's last value over the previous step's, with 32/64-bit
 * wraps followed and resets left out exactly as query/rate.ts does, over the time between
 * the two last samples (at rollup resolution: their rollup buckets) — and only then
 * combines the series of each group. A series' value also stands for the steps since
 * its previous point when they are at most `maxGapMs` apart (a series sampled less
 * often than the step does not make the total dip); further apart, those steps are a
 * gap for that series. A group's step that no series has a value for is a gap (null).
 * Series that start or stop within the range count where they have values. See
 * docs/queries.md and ADR 140.
 *
 * Every value is a bound parameter; the only SQL text spliced in comes from the fixed
 * tables below, chosen by this module from validated enums.
 */
import { z } from 'zod';
import { parsePath } from '../core/path';
import { QueryRefusedError, resolveFleetSeriesSet, type FleetSeries, type FleetSeriesSet } from './fleet-series';
import { chooseResolution, expectedRows, HOUR_MS, MINUTE_MS, rawTailFrom, rollupRowBeforeTo, ROLLUPS, rowsPastRollup, type Queryable, type Resolution } from './router';
import { rankCandidateSeries, rankCandidates, summaryResolution } from './fleet-rank';
import { fleetRateRows } from './fleet-rates-cache';
import { COUNTER_INCREASE_SQL, FLEET_RATE_GAP_MS, SERIES_SHAPE_SQL } from '../storage/storage-mode';

export { QueryRefusedError, resolveFleetSeries, type FleetSeries } from './fleet-series';

/** Aggregations across the series of a group. */
export const FLEET_AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'last'] as const;
export type FleetAggregation = (typeof FLEET_AGGREGATIONS)[number];

/** Most series one fleet query may combine; past it the query is refused, naming what to change. */
export const MAX_FLEET_SERIES = 20_000;
/** Most groups a query without top/bottom N may return. */
export const MAX_FLEET_GROUPS = 200;
/** Shortest step of an aggregated answer: series are combined per step, never per raw sample. */
const MIN_STEP_MS = 1000;
/** Most empty steps one series' value may stand for (maxGapMs / step). */
const MAX_FILL_STEPS = 100;
/** From this many series on, the newest rollup bucket near the end is found by reading the last minutes by time, not per series. */
const BY_TIME_SERIES = 1000;
/** Default silence a series' value may stand for (at least two steps). */
const DEFAULT_MAX_GAP_MS = 30_000;

/** A group-by: a property of the device, each series alone, or a list key of the path (`interface[name]`). */
const GroupBySchema = z.union([
  z.enum(['device', 'site', 'protocol', 'series']),
  z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}\[[A-Za-z][A-Za-z0-9_.:-]{0,63}\]$/, 'device, site, protocol, series or a list key of the path such as interface[name]'),
]);

/** The query model (validated): see the module comment. */
export const FleetQuerySchema = z
  .object({
    /** Path pattern (query/path-pattern.ts grammar) or a metric name (`interfaces: in-octets`). */
    path: z.string().min(1).max(1024),
    /** Only these devices (default: every device). */
    deviceIds: z.array(z.number().int().positive()).max(10_000).optional(),
    from: z.number().finite(),
    to: z.number().finite(),
    widthPx: z.number().int().min(1).max(4000).default(1000),
    rate: z.boolean().default(false),
    agg: z.enum(FLEET_AGGREGATIONS).default('sum'),
    groupBy: GroupBySchema.optional(),
    /** The N groups with the highest (`top`) or lowest (`bottom`) mean over the range. */
    top: z.number().int().min(1).max(100).optional(),
    bottom: z.number().int().min(1).max(100).optional(),
    /** Longest interval between two points of a series whose value stands for the steps between them. */
    maxGapMs: z.number().int().min(0).max(86_400_000).optional(),
    /** Force a resolution (benchmarks, scripts); `auto` lets the router choose. */
    resolution: z.enum(['auto', 'raw', '1m', '1h']).default('auto'),
  })
  .strict()
  .refine((q) => q.to > q.from, { message: 'to must be after from', path: ['to'] })
  .refine((q) => q.top === undefined || q.bottom === undefined, { message: 'give top or bottom, not both', path: ['bottom'] })
  .refine((q) => (q.top === undefined && q.bottom === undefined) || q.groupBy !== undefined, {
    message: 'top/bottom rank groups: give groupBy too (e.g. "series" for the busiest series)',
    path: ['groupBy'],
  });
export type FleetQuery = z.input<typeof FleetQuerySchema>;
type ParsedQuery = z.output<typeof FleetQuerySchema>;

/** One aggregated line. */
export interface FleetGroup {
  /** Label: device name, site, protocol, key value, `<device> <path>` or the aggregation's name. */
  key: string;
  /** Series combined in it. */
  series: number;
  /** Its mean over the range (the top/bottom ranking value); null when it has no value at all. */
  mean: number | null;
  /** One point per step from `from` (step-aligned) to `to`; null where no series had a value. */
  points: Array<{ t: number; v: number | null }>;
}

/** What a fleet query returns. */
export interface FleetResult {
  resolution: Resolution;
  bucketMs: number;
  /** Start of the first step (from aligned down to a step). */
  from: number;
  to: number;
  agg: FleetAggregation;
  rate: boolean;
  groupBy: string | null;
  /** Series matched and combined. */
  seriesCount: number;
  /** Groups before top/bottom N. */
  groupCount: number;
  groups: FleetGroup[];
}

/** The group label of a series, or undefined when the series has no such key (it is left out). */
export function groupKey(s: FleetSeries, groupBy: string | undefined, agg: FleetAggregation): string | undefined {
  switch (groupBy) {
    case undefined:
      return agg;
    case 'device':
      return s.deviceName;
    case 'site':
      return s.site ?? '(no site)';
    case 'protocol':
      return s.protocol;
    case 'series':
      return `${s.deviceName} ${s.path}`;
  }
  const [, elem, key] = /^(.*)\[(.*)\]$/.exec(groupBy)!;
  const elems = parsePath(s.path).elems;
  for (let i = elems.length - 1; i >= 0; i--) {
    const value = elems[i].name === elem ? elems[i].keys?.[key] : undefined;
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Per series and step, the value the series contributes (before a rate). */
const STEP_VALUE: Record<FleetAggregation, string> = { sum: 'avg', avg: 'avg', count: 'avg', min: 'min', max: 'max', last: 'last' };

/** Combining the series' values of a step. */
const ACROSS: Record<FleetAggregation, string> = {
  sum: 'sum(f.v)',
  avg: 'avg(f.v)',
  min: 'min(f.v)',
  max: 'max(f.v)',
  count: 'count(*)::float8',
  last: '(array_agg(f.v ORDER BY f.lt DESC, f.s DESC))[1]',
};

const TS = (n: number) => `to_timestamp($${n}::float8 / 1000)`;
/** Times stay timestamps inside the statement (date_bin, interval arithmetic: cheap per row); milliseconds only in the answer. */
const MS = (n: number) => `($${n}::float8 * INTERVAL '1 millisecond')`;
const STEP_OF = (col: string) => `date_bin(${MS(5)}, ${col}, TIMESTAMPTZ 'epoch')`;

/**
 * Per series and step: avg, min, max, last and the time of the last — from raw samples, or a
 * rollup completed from raw. When the step is the rollup's own unit its rows are used as
 * they are (no regrouping); the raw part past the rollup's newest bucket is grouped. That
 * boundary is $9 (ms) when the caller has read it already (the fleet rates' plan): the
 * rollup's rows before it, raw samples from it — one snapshot of the boundary, so a bucket
 * rolled up meanwhile is not read twice, and no second probe of the newest bucket per series
 * (ADR 210). NULL: the statement looks it up itself. Either form folds at planning (custom plans).
 */
function stepSource(resolution: Resolution, stepIsUnit: boolean): string {
  const last = (col: string, order: string) => `(array_agg(${col} ORDER BY ${order} DESC))[1]`;
  if (resolution === 'raw') {
    return `SELECT series_id AS s, ${STEP_OF('time')} AS b, avg(value) AS avg, min(value) AS min, max(value) AS max,
                   ${last('value', 'time')} AS last, max(time) AS lt
              FROM samples WHERE series_id = ANY($1::bigint[]) AND time >= ${TS(3)} AND time <= ${TS(4)}
             GROUP BY 1, 2`;
  }
  const { table, unit } = ROLLUPS[resolution];
  const rolled = `SELECT series_id, bucket AS time, min, max, avg, last, count
                    FROM ${table} WHERE series_id = ANY($1::bigint[]) AND bucket >= ${TS(3)} AND bucket <= ${TS(4)}
                     AND ($9::float8 IS NULL OR bucket < ${TS(9)}) AND ${rollupRowBeforeTo(resolution, 4)}`;
  // A sample past the rollup's newest bucket, or in the bucket holding `to` (read up to `to`: ADR 240), counts at its rollup bucket's start, like a rolled-up one.
  const newest = `coalesce(${TS(9)}, (SELECT max(bucket) + ${unit} FROM ${table} WHERE series_id = ANY($1::bigint[]) AND bucket >= ${TS(3)}))`;
  // Past the 1-hour rollup, the 1-minute rollup's whole minutes first, raw samples for the minute holding `to` (ADR 255).
  const tail = `SELECT * FROM (${rowsPastRollup(resolution, 4, `greatest(${TS(3)}, ${rawTailFrom(resolution, 4, newest)})`)}) past`;
  const grouped = (rows: string) => `SELECT series_id AS s, ${STEP_OF('time')} AS b, sum(avg * count) / sum(count) AS avg, min(min) AS min, max(max) AS max,
                 ${last('last', 'time')} AS last, max(date_bin(${unit}, time, TIMESTAMPTZ 'epoch')) AS lt
            FROM (${rows}) r GROUP BY 1, 2`;
  if (!stepIsUnit) return grouped(`${rolled} UNION ALL ${tail}`);
  return `SELECT series_id AS s, time AS b, avg, min, max, last, time AS lt FROM (${rolled}) r UNION ALL ${grouped(tail)}`;
}

/**
 * The statement: $1 series ids, $2 their group numbers, $3 read-from (ms), $4 to, $5 step,
 * $6 max gap, $7 first step, $8 N groups kept (top/bottom; NULL: all), $9 where raw samples
 * take over from the rollup (ms; NULL: past its newest bucket of these series, looked up). `fillSteps` (the most
 * empty steps one value may stand for) is a whole number computed here, written as a literal.
 */
function fleetSql(resolution: Resolution, stepIsUnit: boolean, fillSteps: number, agg: FleetAggregation, rate: boolean, order: 'top' | 'bottom' | undefined): string {
  if (!Number.isSafeInteger(fillSteps) || fillSteps < 0) throw new Error('fillSteps: a whole number');
  const value = rate ? `CASE WHEN pb IS NULL OR b - pb > ${MS(6)} THEN NULL ELSE (${COUNTER_INCREASE_SQL}) / date_part('epoch', lt - plt) END` : STEP_VALUE[agg];
  const rank = order === 'bottom' ? 'ASC' : 'DESC';
  // Each value stands for its own step (k = 0) and, within maxGapMs of the series' previous point, for
  // the empty steps before it (k = 1…fillSteps). A small constant range keeps the planner's estimate
  // honest (a per-row generate_series is guessed at hundreds of rows and buys a costly JIT compile).
  const fillStep = `CASE WHEN k.i = 0 THEN val.b ELSE val.b - k.i * ${MS(5)} END`;
  return `WITH m AS (SELECT * FROM unnest($1::bigint[], $2::int[]) AS m(s, g)),
     src AS (${stepSource(resolution, stepIsUnit)}),
     seq AS (SELECT s, b, avg, min, max, last, lt, lag(b) OVER w AS pb, lag(last) OVER w AS pl, lag(lt) OVER w AS plt
               FROM src WINDOW w AS (PARTITION BY s ORDER BY b)),
     val AS (SELECT s, b, pb, lt, ${value} AS v FROM seq),
     filled AS (
       SELECT val.s, ${fillStep} AS b, val.v, CASE WHEN k.i = 0 THEN val.lt ELSE ${fillStep} END AS lt
         FROM val CROSS JOIN generate_series(0, ${fillSteps}) AS k(i)
        WHERE val.v IS NOT NULL AND ${fillStep} >= ${TS(7)}
          AND (k.i = 0 OR (val.b - val.pb <= ${MS(6)} AND k.i * ${MS(5)} < val.b - val.pb))
     ),
     agg AS (SELECT m.g, f.b, ${ACROSS[agg]} AS v FROM filled f JOIN m ON m.s = f.s GROUP BY 1, 2),
     ranked AS (SELECT g, avg(v) AS mean FROM agg GROUP BY g ORDER BY mean ${rank} NULLS LAST, g LIMIT $8)
   SELECT a.g, round(date_part('epoch', a.b) * 1000)::float8 AS t, a.v, r.mean FROM agg a JOIN ranked r ON r.g = a.g ORDER BY a.g, a.b`;
}

/**
 * Whether fleet_rates_1m answers this query's steps before some time exactly, and with what:
 * a per-second rate summed, averaged or counted across series (1-minute steps, the default
 * maxGapMs: checked by the caller), grouped by a property of the device, where the matched
 * series of each device are every numeric series of their shapes (a pattern such as
 * `[name=Eth1*]` selects part of a shape: the statement over the rollup answers). The fast
 * part ends at the fleet rates' watermark, at the minute holding `to` and FLEET_RATE_GAP_MS before the rollup's newest
 * bucket of these series (the raw samples after it are read as the statement over the
 * rollup reads them, and a later point's rate stands for the minutes before it).
 */
async function fleetRatesPlan(
  db: Queryable,
  q: ParsedQuery,
  matched: FleetSeriesSet,
  ids: number[],
  groups: number[],
  from: number,
): Promise<
  | {
      until: number;
      /** Where the rollup's rows end and raw samples take over (its newest bucket of these series + 1 minute). */ tailFrom: number;
      devices: number[];
      shapes: string[];
      groups: number[];
    }
  | undefined
> {
  if (!q.rate || !['sum', 'avg', 'count'].includes(q.agg)) return undefined;
  if (q.groupBy !== undefined && !['device', 'site', 'protocol'].includes(q.groupBy)) return undefined;
  if (ids.length !== matched.series.length) return undefined;
  const wm = await db.query<{ ms: number | null }>(`SELECT (extract(epoch FROM watermark) * 1000)::float8 AS ms FROM storage_rollup_state WHERE name = 'fleet_rates_1m'`);
  // The minute holding `to` is the statement's: its fleet rate would count the samples after `to` in it (ADR 240).
  const lastStep = Math.floor(q.to / MINUTE_MS) * MINUTE_MS;
  let until = Math.min(Number(wm.rows[0]?.ms ?? -Infinity), lastStep);
  if (!(until > from)) return undefined;
  const deviceOf = new Map(matched.series.map((s) => [s.id, s.deviceId]));
  const groupOfDevice = new Map<number, number>();
  ids.forEach((id, i) => groupOfDevice.set(deviceOf.get(id)!, groups[i]));
  // Depends on the series alone: kept with the match while the series table is unchanged (every matched series is in ids here).
  const shapes = await matched.derive('fleet-rate shapes', () =>
    db.query<{ device_id: number; shape: string; total: number; matched: number }>(
      `WITH m AS (SELECT unnest($1::bigint[]) AS id)
       SELECT s.device_id, ${SERIES_SHAPE_SQL('s.path')} AS shape, count(*)::int AS total, count(m.id)::int AS matched
         FROM series s LEFT JOIN m ON m.id = s.id
        WHERE s.kind = 'number' AND s.device_id = ANY($2::int[])
        GROUP BY 1, 2 HAVING count(m.id) > 0`,
      [ids, [...groupOfDevice.keys()]],
    ),
  );
  if (shapes.rows.some((r) => r.total !== r.matched)) return undefined;
  // The rollup's newest bucket of these series, looked for near the end of the fast part first (rows past it are raw samples to the statement).
  // Near the end, many series are read by time (the bucket index: a few minutes of the rollup) rather than probed one by one on
  // (series_id, bucket): `series_id + 0` keeps the planner off the latter (10,000 probes were 75-200 ms, ADR 210).
  let newest: number | null = null;
  for (const [since, byTime] of [
    [until - FLEET_RATE_GAP_MS - MINUTE_MS, ids.length >= BY_TIME_SERIES],
    [from - FLEET_RATE_GAP_MS, false],
  ] as const) {
    const res = await db.query<{ ms: number | null }>(
      `SELECT (extract(epoch FROM max(bucket)) * 1000)::float8 AS ms FROM samples_1m WHERE series_id${byTime ? ' + 0' : ''} = ANY($1::bigint[]) AND bucket >= ${TS(2)}`,
      [ids, since],
    );
    newest = res.rows[0]?.ms ?? null;
    if (newest !== null) break;
  }
  const tailFrom = newest === null ? -Infinity : Number(newest) + MINUTE_MS;
  until = Math.min(until, tailFrom - FLEET_RATE_GAP_MS);
  if (!(until > from)) return undefined;
  return {
    until,
    tailFrom,
    devices: shapes.rows.map((r) => Number(r.device_id)),
    shapes: shapes.rows.map((r) => r.shape),
    groups: shapes.rows.map((r) => groupOfDevice.get(Number(r.device_id))!),
  };
}

/** What a caller's budget sees once the series are known, before any sample is read. */
export interface FleetQueryCost {
  seriesCount: number;
  resolution: Resolution;
  from: number;
  to: number;
  widthPx: number;
  /**
   * Rows the chosen sources are expected to read (ADR 175): pre-aggregated fleet rates (devices ×
   * shapes × minutes) plus the per-series tail, or the ranking summary plus the ranked candidates'
   * rows, or series × range at the chosen resolution (raw samples assumed one a second).
   */
  rowsRead: number;
}

/**
 * Run a fleet query: see the module comment. Throws a ZodError, PathSyntaxError or
 * QueryRefusedError on bad input; `budget` may refuse the query (returning the message)
 * once the series are matched, before samples are read.
 */
export async function queryFleet(
  db: Queryable,
  input: FleetQuery,
  opts: { budget?: (cost: FleetQueryCost) => string | undefined; /** Series computed exactly for a top/bottom N (tests); default rankCandidates(N). */ candidates?: number } = {},
): Promise<FleetResult> {
  const q: ParsedQuery = FleetQuerySchema.parse(input);
  const chosen = chooseResolution(q.from, q.to, q.widthPx, q.resolution);
  const bucketMs = Math.max(MIN_STEP_MS, chosen.bucketMs);
  const maxGapMs = q.maxGapMs ?? Math.max(2 * bucketMs, DEFAULT_MAX_GAP_MS);
  const from = Math.floor(q.from / bucketMs) * bucketMs;
  const result: FleetResult = {
    resolution: chosen.resolution,
    bucketMs,
    from,
    to: q.to,
    agg: q.agg,
    rate: q.rate,
    groupBy: q.groupBy ?? null,
    seriesCount: 0,
    groupCount: 0,
    groups: [],
  };

  const matched = await resolveFleetSeriesSet(db, q.path, q.deviceIds, MAX_FLEET_SERIES + 1);
  const series = matched.series;
  if (series.length > MAX_FLEET_SERIES) {
    throw new QueryRefusedError(`The path matches more than ${MAX_FLEET_SERIES.toLocaleString('en-US')} series; narrow the pattern (e.g. a key value such as [name=Ethernet*]) or choose devices.`);
  }
  const labels: string[] = [];
  const groupOf = new Map<string, number>();
  const members = new Map<number, number>();
  const ids: number[] = [];
  const groups: number[] = [];
  for (const s of series) {
    const key = groupKey(s, q.groupBy, q.agg);
    if (key === undefined) continue;
    let g = groupOf.get(key);
    if (g === undefined) {
      groupOf.set(key, (g = labels.length));
      labels.push(key);
    }
    ids.push(s.id);
    groups.push(g);
    members.set(g, (members.get(g) ?? 0) + 1);
  }
  result.seriesCount = ids.length;
  result.groupCount = labels.length;
  const order = q.top !== undefined ? 'top' : q.bottom !== undefined ? 'bottom' : undefined;
  if (order === undefined && labels.length > MAX_FLEET_GROUPS) {
    throw new QueryRefusedError(
      `Grouping by ${q.groupBy} gives ${labels.length} groups (at most ${MAX_FLEET_GROUPS} are drawn); ask for the top or bottom N, a coarser group by, or a narrower pattern.`,
    );
  }
  if (ids.length === 0) return result;

  if (maxGapMs > MAX_FILL_STEPS * bucketMs) {
    throw new QueryRefusedError(
      `maxGapMs may span at most ${MAX_FILL_STEPS} steps: ${MAX_FILL_STEPS * bucketMs} ms at this range and width (steps of ${bucketMs} ms); ask for less or a longer range.`,
    );
  }
  const stepIsUnit = chosen.resolution !== 'raw' && bucketMs === (chosen.resolution === '1m' ? MINUTE_MS : HOUR_MS);
  // Steps before `fastUntil` come from the pre-aggregated fleet rates when they answer exactly (ADR 145).
  const fast = stepIsUnit && chosen.resolution === '1m' && maxGapMs === FLEET_RATE_GAP_MS ? await fleetRatesPlan(db, q, matched, ids, groups, from) : undefined;
  const fastUntil = fast?.until ?? from;
  // A top/bottom N of single series among many ranks them on a rollup summary first and computes only the best exactly (ADR 175).
  const n = q.top ?? q.bottom;
  const candidates = n === undefined ? undefined : (opts.candidates ?? rankCandidates(n));
  const preRank = order !== undefined && candidates !== undefined && q.groupBy === 'series' && (q.rate || q.agg === 'sum' || q.agg === 'avg') && ids.length > candidates;
  const range = q.to - q.from;
  const readFrom = fastUntil - Math.max(bucketMs, maxGapMs);
  const rowsRead = fast
    ? expectedRows(fast.devices.length, fastUntil - from, '1m') + expectedRows(ids.length, q.to - readFrom, chosen.resolution)
    : preRank
      ? expectedRows(ids.length, range, summaryResolution(range)) + expectedRows(candidates, range, chosen.resolution)
      : expectedRows(ids.length, range, chosen.resolution);
  const refused = opts.budget?.({ seriesCount: ids.length, resolution: chosen.resolution, from: q.from, to: q.to, widthPx: q.widthPx, rowsRead });
  if (refused !== undefined) throw new QueryRefusedError(refused);
  if (preRank) {
    const kept = new Set(await rankCandidateSeries(db, ids, { from: q.from, to: q.to, rate: q.rate, order, candidates }));
    for (let i = ids.length - 1; i >= 0; i--) {
      if (kept.has(ids[i])) continue;
      ids.splice(i, 1);
      groups.splice(i, 1);
    }
  }
  const byGroup = new Map<number, { mean: number | null; values: Map<number, number | null> }>();
  const put = (g: number, t: number, v: number | null, mean: number | null) => {
    let entry = byGroup.get(g);
    if (!entry) byGroup.set(g, (entry = { mean, values: new Map() }));
    entry.values.set(t, v);
  };
  if (fast) {
    // The pre-aggregated fleet rates (ADR 145), the minutes read by earlier queries kept while unchanged (ADR 210).
    for (const r of await fleetRateRows(db, fast, from, fastUntil)) put(r.g, r.t, q.agg === 'count' ? r.n : q.agg === 'avg' ? r.v / r.n : r.v, null);
  }
  if (fastUntil <= q.to) {
    // A rate needs the value before the first step (readFrom); a value standing for earlier steps needs its point up to maxGapMs later.
    // With a fast part the ranking needs every group's tail: it is ranked below, over both parts.
    const params: unknown[] = [ids, groups, readFrom, q.to, bucketMs, maxGapMs, fastUntil, fast ? null : (q.top ?? q.bottom ?? null)];
    if (chosen.resolution !== 'raw') params.push(fast?.tailFrom ?? null);
    const res = await db.query<{ g: number; t: number; v: number | null; mean: number | null }>(fleetSql(chosen.resolution, stepIsUnit, Math.floor(maxGapMs / bucketMs), q.agg, q.rate, order), params);
    for (const r of res.rows) put(Number(r.g), Number(r.t), r.v === null ? null : Number(r.v), r.mean === null ? null : Number(r.mean));
  }
  if (fast) {
    for (const entry of byGroup.values()) {
      const vs = [...entry.values.values()].filter((v): v is number => v !== null);
      entry.mean = vs.length === 0 ? null : vs.reduce((a, b) => a + b, 0) / vs.length;
    }
    if (order !== undefined) {
      // As the statement ranks: by mean, nulls last, ties by group number.
      const sign = order === 'top' ? -1 : 1;
      const kept = [...byGroup.entries()]
        .sort(([ga, a], [gb, b]) => (a.mean === null ? 1 : 0) - (b.mean === null ? 1 : 0) || sign * ((a.mean ?? 0) - (b.mean ?? 0)) || ga - gb)
        .slice(0, q.top ?? q.bottom);
      for (const g of [...byGroup.keys()]) if (!kept.some(([k]) => k === g)) byGroup.delete(g);
    }
  }

  const steps: number[] = [];
  for (let t = from; t <= q.to; t += bucketMs) steps.push(t);
  const chosenGroups = order === undefined ? labels.map((_, g) => g) : [...byGroup.keys()];
  for (const g of chosenGroups) {
    const entry = byGroup.get(g);
    result.groups.push({
      key: labels[g],
      series: members.get(g) ?? 0,
      mean: entry?.mean ?? null,
      points: steps.map((t) => ({ t, v: entry?.values.get(t) ?? null })),
    });
  }
  if (order === undefined) result.groups.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  else result.groups.sort((a, b) => (order === 'top' ? (b.mean ?? -Infinity) - (a.mean ?? -Infinity) : (a.mean ?? Infinity) - (b.mean ?? Infinity)) || (a.key < b.key ? -1 : 1));
  return result;
}
