/**
 * Ranking many series cheaply before a top/bottom N (ADR 175). "The ten busiest interfaces
 * over the last hour among 10,000" computed per series and step reads every raw sample of
 * every series (122 s on the shared machine); ranking needs far less. Each series' summary over
 * the range comes from a rollup — its mean counter rate over about a dozen of its buckets (the
 * increase of each one's last value over the previous one's, resets left out and 32/64-bit
 * wraps followed, over the time between them, at most two strides apart) or its mean value —
 * and only the best-ranked candidates, plus every series the rollup has no summary for (new
 * series whose points are not rolled up yet), are then computed exactly, step by step, and
 * ranked by their exact mean as before. The summary is a time-weighted mean where the exact ranking
 * uses the mean of the steps: they agree closely, and the margin of candidates covers where
 * they do not.
 */
import { COUNTER_INCREASE_SQL } from '../storage/storage-mode';
import { HOUR_MS, MINUTE_MS, ROLLUPS, type Queryable } from './router';

/** Buckets per series a rate summary reads at most (every k-th bucket of the rollup: a tenth of the rows to sort over 1 h). */
const SUMMARY_BUCKETS = 12;

/** Candidates computed exactly for a top/bottom N: N twice over and ten more. */
export const rankCandidates = (n: number) => 2 * n + 10;

/** The rollup a range's ranking summary reads: the 1-minute one up to 6 h, the 1-hour one beyond. */
export const summaryResolution = (rangeMs: number): '1m' | '1h' => (rangeMs <= 6 * HOUR_MS ? '1m' : '1h');

/**
 * The buckets a rate summary reads: every multiple of `strideMs` since the epoch within [from, to]. Named as a list
 * (not a modulo on every row) so the bucket index reads only those buckets' rows: a fifth of the range's at 1 h (ADR 210).
 */
export function strideBuckets(from: number, to: number, strideMs: number): string[] {
  const out: string[] = [];
  for (let t = Math.ceil(from / strideMs) * strideMs; t <= to; t += strideMs) out.push(new Date(t).toISOString());
  return out;
}

/**
 * The series to compute exactly for a top (`order` top) or bottom N among `ids`: the
 * `candidates` best by their rollup summary over [from, to], plus every series without one.
 */
export async function rankCandidateSeries(
  db: Queryable,
  ids: number[],
  opts: { from: number; to: number; rate: boolean; order: 'top' | 'bottom'; candidates: number },
): Promise<number[]> {
  const resolution = summaryResolution(opts.to - opts.from);
  const { table } = ROLLUPS[resolution];
  const unitMs = resolution === '1m' ? MINUTE_MS : HOUR_MS;
  // Rates over every k-th bucket (k: the range over SUMMARY_BUCKETS units), each over the previous one read at most 2k units before.
  const stride = Math.max(1, Math.floor((opts.to - opts.from) / unitMs / SUMMARY_BUCKETS));
  // A rate's first bucket needs the one before it, at most two strides earlier.
  const readFrom = opts.from - stride * unitMs;
  const summary = opts.rate
    ? `SELECT s, sum(inc) / sum(secs) AS v
         FROM (SELECT s, (${COUNTER_INCREASE_SQL}) AS inc, date_part('epoch', b - pb) AS secs
                 FROM (SELECT series_id AS s, bucket AS b, last, lag(bucket) OVER w AS pb, lag(last) OVER w AS pl
                         FROM ${table}
                        WHERE series_id = ANY($1::bigint[]) AND bucket >= to_timestamp($2::float8 / 1000) AND bucket <= to_timestamp($3::float8 / 1000)
                          AND bucket = ANY($6::timestamptz[])
                       WINDOW w AS (PARTITION BY series_id ORDER BY bucket)) r
                WHERE pb IS NOT NULL AND b - pb <= $5::float8 * INTERVAL '1 millisecond') x
        WHERE inc IS NOT NULL
        GROUP BY s`
    : `SELECT series_id AS s, sum(avg * count) / sum(count) AS v
         FROM ${table}
        WHERE series_id = ANY($1::bigint[]) AND bucket >= to_timestamp($2::float8 / 1000) AND bucket <= to_timestamp($3::float8 / 1000)
        GROUP BY 1`;
  const res = await db.query<{ s: string }>(
    `WITH sm AS MATERIALIZED (${summary})
     (SELECT s FROM sm WHERE v IS NOT NULL ORDER BY v ${opts.order === 'top' ? 'DESC' : 'ASC'}, s LIMIT $4)
     UNION ALL
     SELECT m.s FROM unnest($1::bigint[]) AS m(s) WHERE NOT EXISTS (SELECT 1 FROM sm WHERE sm.s = m.s AND sm.v IS NOT NULL)`,
    opts.rate ? [ids, readFrom, opts.to, opts.candidates, 2 * stride * unitMs, strideBuckets(readFrom, opts.to, stride * unitMs)] : [ids, opts.from, opts.to, opts.candidates],
  );
  return res.rows.map((r) => Number(r.s));
}
