/**
 * The pre-aggregated fleet rates a fleet query read, kept between queries (issue 17, ADR 210).
 * A 24 h fleet total refreshed every few seconds reads the same 1,440 minutes × devices rows of
 * fleet_rates_1m each time (144,000 at 10,000 interfaces on 100 devices: 70–200 ms on the shared
 * machine) although only the newest minutes are new. So the rows of each (devices, shapes,
 * groups) question are kept per connection pool, and each query first reads the change log
 * (`fleet_rates_changes`, written by a trigger on fleet_rates_1m with the writing transaction's
 * id) since the previous read's snapshot xmin: every kept minute a change since then may have
 * touched is dropped and read again, with the minutes past the kept ones. Answers are exactly
 * what the table holds: a transaction not yet committed when the rows were read has an id at or
 * past that xmin, so its change is seen by the next query.
 */
import { MINUTE_MS, type Queryable } from './router';

/** One row of the fleet rates as a query uses them: group, minute (ms), summed rate, series counted. */
export interface FleetRateRow {
  g: number;
  t: number;
  v: number;
  n: number;
}

/** What is kept per question: the rows of the minutes [start, end), and the xmin of the snapshot before they were read. */
interface Kept {
  xmin: string;
  start: number;
  end: number;
  rows: FleetRateRow[];
  readAt: number;
}

/** Questions kept per pool (least recently used beyond this are forgotten). */
const KEPT_PER_POOL = 16;
/** A kept answer idle this long is read afresh (the change log keeps a day). */
const MAX_IDLE_MS = 12 * 3_600_000;

const kept = new WeakMap<object, Map<string, Kept>>();

const TS = (n: number) => `to_timestamp($${n}::float8 / 1000)`;

/** $1 devices, $2 shapes, $3 their group numbers, $4 first minute (ms), $5 first minute not read. */
const FLEET_RATES_SQL = `WITH k AS (SELECT * FROM unnest($1::int[], $2::text[], $3::int[]) AS k(d, sh, g))
  SELECT k.g, round(date_part('epoch', f.bucket) * 1000)::float8 AS t, sum(f.rate_sum) AS v, sum(f.series)::float8 AS n
    FROM fleet_rates_1m f JOIN k ON k.d = f.device_id AND k.sh = f.shape
   WHERE f.bucket >= ${TS(4)} AND f.bucket < ${TS(5)}
   GROUP BY 1, 2`;

/** The snapshot's xmin now, and the minutes changed by transactions at or past `since` (none asked: NULL). */
const CHANGES_SQL = `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, c.from_ms, c.to_ms
  FROM (SELECT 1) one
  LEFT JOIN (SELECT (extract(epoch FROM from_bucket) * 1000)::float8 AS from_ms, (extract(epoch FROM to_bucket) * 1000)::float8 AS to_ms
               FROM fleet_rates_changes WHERE $1::xid8 IS NOT NULL AND txid >= $1::xid8) c ON true`;

async function readRows(db: Queryable, q: { devices: number[]; shapes: string[]; groups: number[] }, from: number, until: number): Promise<FleetRateRow[]> {
  if (!(until > from)) return [];
  const res = await db.query<{ g: number; t: number; v: number; n: number }>(FLEET_RATES_SQL, [q.devices, q.shapes, q.groups, from, until]);
  return res.rows.map((r) => ({ g: Number(r.g), t: Number(r.t), v: Number(r.v), n: Number(r.n) }));
}

/**
 * The fleet rates per group and minute for [from, until) of these devices' shapes (`groups`: each
 * pair's group number), from what was kept where it cannot have changed and from the table otherwise.
 */
export async function fleetRateRows(
  db: Queryable,
  q: { devices: number[]; shapes: string[]; groups: number[] },
  from: number,
  until: number,
  now = Date.now(),
): Promise<FleetRateRow[]> {
  let perPool = kept.get(db);
  if (!perPool) kept.set(db, (perPool = new Map()));
  const key = JSON.stringify([q.devices, q.shapes, q.groups]);
  let prior = perPool.get(key);
  if (prior && (now - prior.readAt > MAX_IDLE_MS || from < prior.start)) prior = undefined;
  // The log first: whatever commits after this snapshot has a transaction id at or past its xmin.
  const changes = await db.query<{ xmin: string; from_ms: number | null; to_ms: number | null }>(CHANGES_SQL, [prior?.xmin ?? null]);
  const xmin = changes.rows[0].xmin;
  // The kept minutes still good: up to the first change since they were read that touches them.
  let keptEnd = prior?.end ?? from;
  for (const c of prior ? changes.rows : []) {
    if (c.from_ms === null || c.to_ms === null) continue;
    if (Number(c.to_ms) >= prior!.start && Number(c.from_ms) < keptEnd) keptEnd = Math.floor(Number(c.from_ms) / MINUTE_MS) * MINUTE_MS;
  }
  keptEnd = Math.max(from, Math.min(keptEnd, until));
  const rows = [...(prior?.rows.filter((r) => r.t >= from && r.t < keptEnd) ?? []), ...(await readRows(db, q, keptEnd, until))];
  perPool.delete(key);
  perPool.set(key, { xmin, start: from, end: until, rows, readAt: now });
  if (perPool.size > KEPT_PER_POOL) perPool.delete(perPool.keys().next().value!);
  return rows;
}
