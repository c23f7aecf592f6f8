/**
 * Reads of the newest stored points (samples and states through the series dictionary) that
 * pages and live streams need, as opposed to history over a range (query/): a device's
 * newest point (the devices list's points/s and last seen: device-list.ts), an interface table's newest
 * values, a chart's last raw sample, and the live stream's samples since a time.
 */
import type { Knex } from 'knex';
import type pg from 'pg';

/**
 * Time of the newest stored sample or state of a device within the last day (ms), or undefined.
 * One index probe per series (series_id, time); older points are the workflow's lastPointAt's job.
 */
export async function newestStoredPointAt(db: Knex, deviceId: number): Promise<number | undefined> {
  const { rows } = await db.raw(
    `SELECT (extract(epoch FROM max(l.t)) * 1000)::float8 AS newest
       FROM series se
       CROSS JOIN LATERAL (
         SELECT time AS t FROM samples WHERE series_id = se.id AND time > now() - interval '1 day' ORDER BY time DESC LIMIT 1
       ) l
      WHERE se.device_id = ? AND se.kind <> 'text'`,
    [deviceId],
  );
  const { rows: text } = await db.raw(
    `SELECT (extract(epoch FROM max(l.t)) * 1000)::float8 AS newest
       FROM series se
       CROSS JOIN LATERAL (
         SELECT time AS t FROM states WHERE series_id = se.id AND time > now() - interval '1 day' ORDER BY time DESC LIMIT 1
       ) l
      WHERE se.device_id = ? AND se.kind = 'text'`,
    [deviceId],
  );
  const t = Math.max(Number(rows[0]?.newest ?? 0), Number(text[0]?.newest ?? 0));
  return t > 0 ? t : undefined;
}

/** A device's series under the interfaces trees (OpenConfig, ietf-interfaces legacy and NMDA). */
export async function interfaceSeries(db: Knex, deviceId: number): Promise<Array<{ id: number; path: string; kind: 'number' | 'text' }>> {
  return db('series')
    .where({ device_id: deviceId })
    .andWhere((q) => q.where('path', 'like', '/interfaces/interface[%').orWhere('path', 'like', '/interfaces-state/interface[%'))
    .select('id', 'path', 'kind');
}

/** The `limit` newest values of each series (t in ms), from samples or states, in one query. */
export async function newestValues(db: Knex, table: 'samples' | 'states', ids: number[], limit: number): Promise<{ rows: unknown[] }> {
  if (ids.length === 0) return { rows: [] };
  return db.raw(
    `SELECT ids.id AS s, l.t, l.v FROM unnest(?::bigint[]) AS ids(id)
       CROSS JOIN LATERAL (SELECT (extract(epoch FROM time) * 1000)::float8 AS t, value AS v FROM ${table}
                            WHERE series_id = ids.id ORDER BY time DESC LIMIT ?) l`,
    [ids, limit],
  );
}

/** The newest raw sample of each series at or before `to` (ms). */
export async function lastSamplesAtOrBefore(pool: pg.Pool, series: number[], to: number): Promise<Array<{ s: number; t: number; v: number }>> {
  const last = await pool.query<{ s: number; t: number; v: number }>(
    `SELECT l.s, l.t, l.v FROM unnest($1::bigint[]) AS ids(id)
       CROSS JOIN LATERAL (
         SELECT series_id AS s, (extract(epoch FROM time) * 1000)::float8 AS t, value AS v
           FROM samples WHERE series_id = ids.id AND time <= to_timestamp($2::float8 / 1000)
          ORDER BY time DESC LIMIT 1) l`,
    [series, to],
  );
  return last.rows;
}

/** One sample of the live stream: series id, time (ms), value. */
export type LiveSampleRow = { s: number; t: number; v: number };

const SAMPLES_SINCE = `SELECT series_id AS s, (extract(epoch FROM time) * 1000)::float8 AS t, value AS v
   FROM samples
  WHERE series_id = ANY($1::bigint[]) AND time > to_timestamp($2::float8 / 1000)
  ORDER BY time
  LIMIT $3`;

/** Samples of these series after `since` (ms), oldest first, at most `limit` rows. */
export async function samplesSince(pool: pg.Pool, ids: number[], since: number, limit: number): Promise<LiveSampleRow[]> {
  return (await pool.query<LiveSampleRow>(SAMPLES_SINCE, [ids, since, limit])).rows;
}

const SAMPLES_SINCE_EACH = `SELECT l.s, l.t, l.v
   FROM unnest($1::bigint[], $2::float8[]) AS w(id, since)
   CROSS JOIN LATERAL (
     SELECT series_id AS s, (extract(epoch FROM time) * 1000)::float8 AS t, value AS v
       FROM samples WHERE series_id = w.id AND time > to_timestamp(w.since / 1000)
      ORDER BY time LIMIT $3) l
  ORDER BY l.t
  LIMIT $3`;

/** Samples of each series `ids[i]` after its own `sinces[i]` (ms), oldest first, at most `limit` rows. */
export async function samplesSinceEach(pool: pg.Pool, ids: number[], sinces: number[], limit: number): Promise<LiveSampleRow[]> {
  return (await pool.query<LiveSampleRow>(SAMPLES_SINCE_EACH, [ids, sinces, limit])).rows;
}

