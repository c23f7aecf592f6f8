/**
 * The series a fleet query combines (query/fleet-query.ts): a path pattern or metric matched
 * against every numeric series path — the costliest part of a fleet total once the rates are
 * pre-aggregated (10,000 paths: 120–600 ms on the shared machine), and the same on every
 * refresh. So the match is kept per connection pool, pattern and device list, and reused while
 * the series table is unchanged (ADR 175): each query first reads the table's stamp — how many
 * numeric series there are and the sum of their ids — which any new or deleted series changes
 * (ids are never reused, and a series' path and kind never change). Device names, sites and
 * protocols are read afresh each time (a device may be renamed or moved).
 */
import { modelPaths, isMetricName, findMetric, METRICS } from '../core/path-equivalence';
import { compilePathPattern } from './path-pattern';
import type { Queryable } from './router';

/** A matched series with what grouping needs. */
export interface FleetSeries {
  id: number;
  deviceId: number;
  deviceName: string;
  site: string | null;
  protocol: string;
  path: string;
}

/** A query the model accepts but the budgets do not: the message names what to change. */
export class QueryRefusedError extends Error {
  readonly code = 'QUERY_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'QueryRefusedError';
  }
}

/** Patterns remembered per pool (least recently used beyond this are forgotten). */
const MATCHES_PER_POOL = 64;

interface Match {
  stamp: string;
  /** Matched series in device-name order, each device's in path order (the database's collation). */
  rows: Array<{ id: number; deviceId: number; path: string }>;
  /** Per-query facts that depend only on the matched series (e.g. the fleet rates' shape check), under the same stamp. */
  derived: Map<string, unknown>;
}

const matches = new WeakMap<object, Map<string, Match>>();

/** What changes whenever a numeric series is added or removed. */
async function seriesStamp(db: Queryable): Promise<string> {
  const res = await db.query<{ n: string; s: string }>(`SELECT count(*)::text AS n, coalesce(sum(id), 0)::text AS s FROM series WHERE kind = 'number'`);
  return `${res.rows[0].n}:${res.rows[0].s}`;
}

/** Match the pattern against every numeric series path (per device only its first model), ordered by device name and path. */
async function matchSeries(db: Queryable, path: string, deviceIds: number[] | undefined, limit: number): Promise<Match['rows']> {
  const regexes = modelPaths(path).map((m) => compilePathPattern(m.pattern).regex);
  const res = await db.query<{ id: string; device_id: number; path: string }>(
    // MATERIALIZED: each path is matched once (inlined, the patterns were matched again for the window function).
    `WITH m AS MATERIALIZED (
       SELECT s.id, s.device_id, s.path, d.name,
              (SELECT min(r.i) FROM unnest($1::text[]) WITH ORDINALITY AS r(re, i) WHERE s.path ~ r.re) AS model
         FROM series s JOIN devices d ON d.id = s.device_id
        WHERE s.kind = 'number' AND (cardinality($2::int[]) = 0 OR s.device_id = ANY($2::int[]))
     )
     SELECT id, device_id, path FROM (SELECT *, min(model) OVER (PARTITION BY device_id) AS first FROM m WHERE model IS NOT NULL) x
      WHERE model = first
      ORDER BY name, path LIMIT $3`,
    [regexes, deviceIds ?? [], limit],
  );
  return res.rows.map((r) => ({ id: Number(r.id), deviceId: Number(r.device_id), path: r.path }));
}

/** The cached match of this query, current with the series table (matched again when it changed). */
async function currentMatch(db: Queryable, path: string, deviceIds: number[] | undefined, limit: number): Promise<Match> {
  if (isMetricName(path) && !findMetric(path)) throw new QueryRefusedError(`Unknown metric ${path}; known: ${[...METRICS.keys()].join(', ')}`);
  let perPool = matches.get(db);
  if (!perPool) matches.set(db, (perPool = new Map()));
  const key = JSON.stringify([path, deviceIds ? [...deviceIds].sort((a, b) => a - b) : null, limit]);
  // The stamp is read before matching: a series added meanwhile changes the next stamp, so it is matched then.
  const stamp = await seriesStamp(db);
  let match = perPool.get(key);
  if (match?.stamp !== stamp) match = { stamp, rows: await matchSeries(db, path, deviceIds, limit), derived: new Map() };
  perPool.delete(key);
  perPool.set(key, match);
  if (perPool.size > MATCHES_PER_POOL) perPool.delete(perPool.keys().next().value!);
  return match;
}

/** Matched series, and facts derived from them alone (not from samples) kept with the match while the series table is unchanged. */
export interface FleetSeriesSet {
  series: FleetSeries[];
  /** `compute()` once per match (recomputed whenever the series table changed); `name` tells facts apart. */
  derive<T>(name: string, compute: () => Promise<T>): Promise<T>;
}

/** Series matching a pattern or metric (per device only its first model), ordered by device name and path; `limit` rows at most. */
export async function resolveFleetSeriesSet(db: Queryable, path: string, deviceIds: number[] | undefined, limit: number): Promise<FleetSeriesSet> {
  const match = await currentMatch(db, path, deviceIds, limit);
  const derive = async <T>(name: string, compute: () => Promise<T>): Promise<T> => {
    if (!match.derived.has(name)) match.derived.set(name, await compute());
    return match.derived.get(name) as T;
  };
  if (match.rows.length === 0) return { series: [], derive };
  // Devices afresh (renamed or moved since the match), in name order; each device's series in the match's path order.
  const devices = await db.query<{ id: number; name: string; site: string | null; protocol: string }>(
    `SELECT id, name, site, protocol FROM devices WHERE id = ANY($1::int[]) ORDER BY name`,
    [[...new Set(match.rows.map((r) => r.deviceId))]],
  );
  const byDevice = new Map<number, Match['rows']>();
  for (const r of match.rows) {
    const list = byDevice.get(r.deviceId);
    if (list) list.push(r);
    else byDevice.set(r.deviceId, [r]);
  }
  const series = devices.rows.flatMap((d) =>
    (byDevice.get(Number(d.id)) ?? []).map((r) => ({ id: r.id, deviceId: r.deviceId, deviceName: d.name, site: d.site, protocol: d.protocol, path: r.path })),
  );
  return { series, derive };
}

/** Series matching a pattern or metric (per device only its first model), ordered by device name and path; `limit` rows at most. */
export async function resolveFleetSeries(db: Queryable, path: string, deviceIds: number[] | undefined, limit: number): Promise<FleetSeries[]> {
  return (await resolveFleetSeriesSet(db, path, deviceIds, limit)).series;
}
