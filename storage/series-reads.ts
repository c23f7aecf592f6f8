/**
 * Reads of the series dictionary that widgets and the path picker need: series whose path
 * matches one of several models' regular expressions (one model per device), how many
 * devices each model covers, stored numeric paths, and the text states of series in a
 * window. The patterns are compiled by the caller (query/path-pattern.ts); this module only
 * runs the statements.
 */
import type { Knex } from 'knex';
import { countDevices } from './devices';

/** A series matching one of the models: `model` is the index of the model it matched. */
export interface MatchingSeriesRow {
  id: number;
  path: string;
  device_id: number;
  device_name: string;
  model: number;
}

/**
 * The series whose path matches one of `regexes` (PostgreSQL `~`) with, per device, only
 * its first model (the lowest index it has series of): columns id, path, device_id,
 * device_name, model.
 */
function matchingSeries(db: Knex, deviceId: number | null, regexes: string[], kind: 'number' | 'text') {
  const which = regexes.map(() => 'WHEN s.path ~ ? THEN ?').join(' ');
  const inner = db('series as s')
    .join('devices as d', 'd.id', 's.device_id')
    .where('s.kind', kind)
    .andWhere((q) => {
      for (const r of regexes) q.orWhere('s.path', '~', r);
    })
    .select('s.id', 's.path', 's.device_id', 'd.name as device_name', db.raw(`CASE ${which} END AS model`, regexes.flatMap((r, i) => [r, i])));
  if (deviceId !== null) inner.andWhere('s.device_id', deviceId);
  const ranked = db.from(inner.as('m')).select('*', db.raw('min(model) OVER (PARTITION BY device_id) AS first_model'));
  return db.from(ranked.as('r')).whereRaw('model = first_model').select('id', 'path', 'device_id', 'device_name', 'model');
}

/** At most `limit` matching series of one device (or every device when null), by device name and path. */
export async function matchingSeriesRows(db: Knex, deviceId: number | null, regexes: string[], kind: 'number' | 'text', limit: number): Promise<MatchingSeriesRow[]> {
  return (await matchingSeries(db, deviceId, regexes, kind).orderBy(['device_name', 'path']).limit(limit)) as MatchingSeriesRow[];
}

/** Devices with matching series, per model index; and how many devices there are in all. */
export async function devicesPerModel(db: Knex, regexes: string[], kind: 'number' | 'text'): Promise<{ byModel: Array<{ model: number; n: number }>; fleet: number }> {
  const byModel = (await db
    .from(matchingSeries(db, null, regexes, kind).as('c'))
    .groupBy('model')
    .select('model', db.raw('count(DISTINCT device_id)::int AS n'))) as Array<{ model: number; n: number }>;
  return { byModel, fleet: await countDevices(db) };
}

/** How many matching series one device (or every device when null) has. */
export async function countMatchingSeries(db: Knex, deviceId: number | null, regexes: string[], kind: 'number' | 'text'): Promise<number> {
  const [{ n }] = await db.from(matchingSeries(db, deviceId, regexes, kind).as('t')).count({ n: '*' });
  return Number(n);
}

/** Distinct stored numeric paths (at most 5000, sorted), of one device when given, starting with `prefix` when given. */
export async function numericPaths(db: Knex, opts: { deviceId?: number | null; prefix?: string } = {}): Promise<string[]> {
  const q = db('series').where({ kind: 'number' }).distinct('path').orderBy('path').limit(5000);
  if (opts.deviceId) q.andWhere({ device_id: opts.deviceId });
  if (opts.prefix) q.andWhere('path', 'like', `${opts.prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  return (await q).map((r: { path: string }) => r.path);
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
