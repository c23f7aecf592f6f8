/**
 * History of series for charts: raw samples in a time range, optionally as
 * counter rates. (The query router with rollups replaces the raw read for long ranges.)
 */
import type pg from 'pg';
import { counterRate, type SeriesPoint } from '../../../query/rate';

/** Points of one series in [from, to], oldest first. */
export async function seriesHistory(
  pool: pg.Pool,
  seriesId: number,
  from: number,
  to: number,
  opts: { rate?: boolean; limit?: number } = {},
): Promise<SeriesPoint[]> {
  const res = await pool.query<{ t: number; v: number }>(
    `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, value AS v
       FROM samples
      WHERE series_id = $1 AND time >= to_timestamp($2::float8 / 1000) AND time <= to_timestamp($3::float8 / 1000)
      ORDER BY time
      LIMIT $4`,
    [seriesId, from, to, opts.limit ?? 20_000],
  );
  const points = res.rows.map((r) => ({ t: r.t, v: r.v }));
  return opts.rate ? counterRate(points) : points;
}
