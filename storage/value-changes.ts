/**
 * A numeric series read as states (a state-timeline widget on a leaf that is a number:
 * a boolean stored as 0/1, an enumeration's code): only the points where the value
 * changes, plus the value each series had when the window starts.
 */
import type { Knex } from 'knex';

/**
 * Per series, its value before `from` (newest one) and every change of value in [from, to],
 * oldest first, as text; at most `limit` rows in all. Same shape as the states of text leaves.
 */
export async function numericChangesInWindow(db: Knex, ids: number[], from: number, to: number, limit = 5000): Promise<Map<number, Array<{ t: number; v: string | null }>>> {
  const out = new Map<number, Array<{ t: number; v: string | null }>>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const { rows } = await db.raw(
    `SELECT s, t, v FROM (
       SELECT s, t, v, lag(v) OVER (PARTITION BY s ORDER BY t) AS before FROM (
         (SELECT ids.id AS s, b.t, b.v FROM unnest(?::bigint[]) AS ids(id)
            CROSS JOIN LATERAL (SELECT (extract(epoch FROM time) * 1000)::float8 AS t, value AS v FROM samples
                                 WHERE series_id = ids.id AND time < to_timestamp(? / 1000.0) ORDER BY time DESC LIMIT 1) b)
         UNION ALL
         (SELECT series_id, (extract(epoch FROM time) * 1000)::float8, value FROM samples
           WHERE series_id = ANY(?::bigint[]) AND time >= to_timestamp(? / 1000.0) AND time <= to_timestamp(? / 1000.0))
       ) w
     ) c
     WHERE before IS DISTINCT FROM v
     ORDER BY s, t
     LIMIT ?`,
    [ids, from, ids, from, to, limit],
  );
  for (const r of rows as Array<{ s: string | number; t: number; v: number | null }>) {
    out.get(Number(r.s))?.push({ t: Number(r.t), v: r.v === null ? null : String(Number(r.v)) });
  }
  return out;
}
