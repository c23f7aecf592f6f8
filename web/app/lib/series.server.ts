/**
 * The series dictionary as widgets see it: resolve a widget's device and path
 * pattern (query/path-pattern.ts grammar) to series, and suggest patterns for
 * the path picker. Metrics with equivalents across models (core/path-equivalence.ts)
 * resolve to every model's series.
 */
import type { Knex } from 'knex';
import { compilePathPattern } from '../../../query/path-pattern';
import { METRICS, findMetric, isMetricName, metricOfPattern, modelPaths } from '../../../core/path-equivalence';
import { MAX_SERIES } from '../../../query/router';
import { generalise, seriesLabel } from './path-pattern';
import type { WidgetSeries } from './widget-data';

/** The regular expressions of a widget path's models (one for a plain pattern, one per model for a metric). */
function modelRegexes(pattern: string) {
  if (isMetricName(pattern) && !findMetric(pattern)) throw new Error(`Unknown metric ${pattern}; known: ${[...METRICS.keys()].join(', ')}`);
  return modelPaths(pattern).map((m) => ({ model: m.model, pattern: m.pattern, regex: compilePathPattern(m.pattern).regex }));
}

/**
 * Series of one device (or every device when deviceId is null) whose path matches the
 * pattern. A metric (`interfaces: in-octets`, core/path-equivalence.ts) matches every
 * model's path; each device contributes the series of its first model only.
 */
export async function resolveWidgetSeries(
  db: Knex,
  deviceId: number | null,
  pattern: string,
  limit = 200,
  /** Numbers (charts) or text leaves (state panels). */
  kind: 'number' | 'text' = 'number',
): Promise<{ series: Array<WidgetSeries & { path: string; deviceId: number; model: string }>; truncated: boolean }> {
  const models = modelRegexes(pattern);
  const rows = (await matchingSeries(db, deviceId, models, kind).orderBy(['device_name', 'path']).limit(Math.min(limit, MAX_SERIES) + 1)) as Array<{
    id: number;
    path: string;
    device_id: number;
    device_name: string;
    model: number;
  }>;
  const multiDevice = deviceId === null && new Set(rows.map((r) => r.device_id)).size > 1;
  const series = rows.slice(0, limit).map((r) => {
    const label = seriesLabel(r.path, models[r.model].pattern);
    return { id: Number(r.id), path: r.path, deviceId: r.device_id, deviceName: r.device_name, model: models[r.model].model, label: multiDevice ? `${r.device_name} ${label}` : label };
  });
  return { series, truncated: rows.length > limit };
}

/**
 * The series of the given models with, per device, only its first model (the lowest
 * index in `models` it has series of): columns id, path, device_id, device_name, model.
 */
function matchingSeries(db: Knex, deviceId: number | null, models: Array<{ regex: string }>, kind: 'number' | 'text') {
  const which = models.map(() => 'WHEN s.path ~ ? THEN ?').join(' ');
  const inner = db('series as s')
    .join('devices as d', 'd.id', 's.device_id')
    .where('s.kind', kind)
    .andWhere((q) => {
      for (const m of models) q.orWhere('s.path', '~', m.regex);
    })
    .select('s.id', 's.path', 's.device_id', 'd.name as device_name', db.raw(`CASE ${which} END AS model`, models.flatMap((m, i) => [m.regex, i])));
  if (deviceId !== null) inner.andWhere('s.device_id', deviceId);
  const ranked = db.from(inner.as('m')).select('*', db.raw('min(model) OVER (PARTITION BY device_id) AS first_model'));
  return db.from(ranked.as('r')).whereRaw('model = first_model').select('id', 'path', 'device_id', 'device_name', 'model');
}

/** Which devices a fleet widget covers, by model: `{ devices: 4, byModel: { OpenConfig: 3, 'ietf-interfaces': 1 } }`. */
export async function widgetCoverage(db: Knex, pattern: string, kind: 'number' | 'text' = 'number'): Promise<{ devices: number; byModel: Record<string, number>; fleet: number }> {
  const models = modelRegexes(pattern);
  const rows = (await db
    .from(matchingSeries(db, null, models, kind).as('c'))
    .groupBy('model')
    .select('model', db.raw('count(DISTINCT device_id)::int AS n'))) as Array<{ model: number; n: number }>;
  const byModel: Record<string, number> = {};
  let devices = 0;
  for (const r of rows.sort((a, b) => a.model - b.model)) {
    byModel[models[r.model].model || 'matching'] = r.n;
    devices += r.n;
  }
  const [{ n }] = await db('devices').count({ n: '*' });
  return { devices, byModel, fleet: Number(n) };
}

/** How many text series (oper-status and other string leaves) of a device, or of every device, match the pattern. */
export async function countTextSeries(db: Knex, deviceId: number | null, pattern: string): Promise<number> {
  const [{ n }] = await db.from(matchingSeries(db, deviceId, modelRegexes(pattern), 'text').as('t')).count({ n: '*' });
  return Number(n);
}

/** Patterns for the path picker: every stored numeric path with its keys generalised, plus concrete paths of one device. */
export async function pathSuggestions(db: Knex, opts: { deviceId?: number | null; prefix?: string; limit?: number } = {}): Promise<string[]> {
  const limit = opts.limit ?? 200;
  const q = db('series').where({ kind: 'number' }).distinct('path').orderBy('path').limit(5000);
  if (opts.deviceId) q.andWhere({ device_id: opts.deviceId });
  if (opts.prefix) q.andWhere('path', 'like', `${opts.prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const paths = (await q).map((r: { path: string }) => r.path);
  const general = [...new Set(paths.map(generalise))];
  // Metrics first: the fleet-wide form of a leaf some model of ours has (core/path-equivalence.ts).
  const metrics = [...new Set(general.map((p) => metricOfPattern(p)?.name).filter((m): m is string => m !== undefined))].sort();
  const out = [...metrics, ...general, ...(opts.deviceId ? paths.filter((p) => !general.includes(p)) : [])];
  return out.slice(0, limit);
}

/**
 * The states (text values) of series in [from, to], each with the state it was in at
 * `from` (its newest value before the window), oldest first; at most `limit` rows in all.
 */
export async function statesInWindow(db: Knex, ids: number[], from: number, to: number, limit = 5000): Promise<Map<number, Array<{ t: number; v: string | null }>>> {
  const out = new Map<number, Array<{ t: number; v: string | null }>>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const { rows } = await db.raw(
    `(SELECT ids.id AS s, b.t, b.v FROM unnest(?::bigint[]) AS ids(id)
       CROSS JOIN LATERAL (SELECT (extract(epoch FROM time) * 1000)::float8 AS t, value AS v FROM states
                           WHERE series_id = ids.id AND time < to_timestamp(? / 1000.0) ORDER BY time DESC LIMIT 1) b)
     UNION ALL
     (SELECT series_id AS s, (extract(epoch FROM time) * 1000)::float8 AS t, value AS v FROM states
       WHERE series_id = ANY(?::bigint[]) AND time >= to_timestamp(? / 1000.0) AND time <= to_timestamp(? / 1000.0)
       ORDER BY time LIMIT ?)
     ORDER BY s, t`,
    [ids, from, ids, from, to, limit],
  );
  for (const r of rows as Array<{ s: string | number; t: number; v: string | null }>) out.get(Number(r.s))?.push({ t: Number(r.t), v: r.v });
  return out;
}
