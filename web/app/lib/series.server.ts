/**
 * The series dictionary as widgets see it: resolve a widget's device and path
 * pattern (query/path-pattern.ts grammar) to series, and suggest patterns for
 * the path picker.
 */
import type { Knex } from 'knex';
import { compilePathPattern } from '../../../query/path-pattern';
import { MAX_SERIES } from '../../../query/router';
import { generalise, seriesLabel } from './path-pattern';
import type { WidgetSeries } from './widget-data';

/** Series of one device (or every device when deviceId is null) whose path matches the pattern. */
export async function resolveWidgetSeries(
  db: Knex,
  deviceId: number | null,
  pattern: string,
  limit = 200,
  /** Numbers (charts) or text leaves (state panels). */
  kind: 'number' | 'text' = 'number',
): Promise<{ series: Array<WidgetSeries & { path: string; deviceId: number }>; truncated: boolean }> {
  const regex = compilePathPattern(pattern).regex;
  const q = db('series as s')
    .join('devices as d', 'd.id', 's.device_id')
    .where('s.kind', kind)
    .andWhere('s.path', '~', regex)
    .orderBy(['d.name', 's.path'])
    .limit(Math.min(limit, MAX_SERIES) + 1)
    .select('s.id', 's.path', 's.device_id', 'd.name as device_name');
  if (deviceId !== null) q.andWhere('s.device_id', deviceId);
  const rows = await q;
  const multiDevice = deviceId === null && new Set(rows.map((r) => r.device_id)).size > 1;
  const series = rows.slice(0, limit).map((r) => {
    const label = seriesLabel(r.path, pattern);
    return { id: Number(r.id), path: r.path, deviceId: r.device_id, deviceName: r.device_name, label: multiDevice ? `${r.device_name} ${label}` : label };
  });
  return { series, truncated: rows.length > limit };
}

/** How many text series (oper-status and other string leaves) of a device, or of every device, match the pattern. */
export async function countTextSeries(db: Knex, deviceId: number | null, pattern: string): Promise<number> {
  const q = db('series').where('kind', 'text').andWhere('path', '~', compilePathPattern(pattern).regex);
  if (deviceId !== null) q.andWhere('device_id', deviceId);
  const [{ n }] = await q.count({ n: '*' });
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
  const out = [...general, ...(opts.deviceId ? paths.filter((p) => !general.includes(p)) : [])];
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
