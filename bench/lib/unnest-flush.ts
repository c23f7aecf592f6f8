/**
 * The flush method the batcher used before binary COPY (ADR 100), kept for the benchmarks that
 * compare against it: one `INSERT … SELECT … FROM unnest(…) ON CONFLICT DO NOTHING` of a batch
 * of samples. Returns the rows inserted.
 */
import type pg from 'pg';

export async function insertSamplesByUnnest(c: pg.ClientBase, timeMs: ArrayLike<number>, series: ArrayLike<number>, value: ArrayLike<number>): Promise<number> {
  const res = await c.query(
    `INSERT INTO samples (time, series_id, value)
     SELECT to_timestamp(t), s, v FROM unnest($1::float8[], $2::bigint[], $3::float8[]) AS u(t, s, v)
     ON CONFLICT DO NOTHING`,
    [Array.from(timeMs, (t) => t / 1000), Array.from(series), Array.from(value)],
  );
  return res.rowCount ?? 0;
}
