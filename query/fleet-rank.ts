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
 * Each series' mean counter rate over the named buckets ($6, every k-th: `n` of them, $5 ms apart), read
 * side by side: one row per series with each bucket's last value as a column (a hash aggregate; ordering
 * 140,000 rows per series and bucket for a window function spilled to disk and was most of the summary).
 * Each bucket's increase is taken over the previous bucket the series has, one or two strides before (as
 * the window over the present buckets did): resets give none, 32/64-bit wraps are followed.
 */
function rateSummarySql(table: string, n: number): string {
  const col = (i: number) => `l${i}`;
  const lasts = Array.from({ length: n }, (_, i) => `max(last) FILTER (WHERE bucket = ($6::timestamptz[])[${i + 1}]) AS ${col(i)}`).join(', ');
  const increase = (cur: string, prev: string) => COUNTER_INCREASE_SQL.replace(/\blast\b/g, cur).replace(/\bpl\b/g, prev);
  const incs: string[] = [];
  const secs: string[] = [];
  for (let i = 1; i < n; i++) {
    // Over the bucket one stride before; when the series has none there, over the one two strides before.
    const inc = i >= 2 ? `coalesce(${increase(col(i), col(i - 1))}, CASE WHEN ${col(i - 1)} IS NULL THEN ${increase(col(i), col(i - 2))} END)` : increase(col(i), col(i - 1));
    const span = i >= 2 ? `CASE WHEN ${col(i - 1)} IS NOT NULL THEN 1 WHEN ${col(i - 2)} IS NOT NULL THEN 2 END` : '1';
    incs.push(`coalesce(${inc}, 0)`);
    secs.push(`CASE WHEN (${inc}) IS NOT NULL THEN ${span} ELSE 0 END`);
  }
  return `SELECT s, (${incs.join(' + ')}) / nullif((${secs.join(' + ')}) * $5::float8 / 1000, 0) AS v
            FROM (SELECT series_id AS s, ${lasts}
                    FROM ${table}
                   WHERE series_id = ANY($1::bigint[]) AND bucket >= to_timestamp($2::float8 / 1000) AND bucket <= to_timestamp($3::float8 / 1000)
                     AND bucket = ANY($6::timestamptz[])
                   GROUP BY 1) p`;
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
  const buckets = strideBuckets(readFrom, opts.to, stride * unitMs);
  const summary = opts.rate ? rateSummarySql(table, buckets.length) : `SELECT series_id AS s, sum(avg * count) / sum(count) AS v
         FROM ${table}
        WHERE series_id = ANY($1::bigint[]) AND bucket >= to_timestamp($2::float8 / 1000) AND bucket <= to_timestamp($3::float8 / 1000)
        GROUP BY 1`;
  const res = await db.query<{ s: string }>(
    `WITH sm AS MATERIALIZED (${summary})
     (SELECT s FROM sm WHERE v IS NOT NULL ORDER BY v ${opts.order === 'top' ? 'DESC' : 'ASC'}, s LIMIT $4)
     UNION ALL
     SELECT m.s FROM unnest($1::bigint[]) AS m(s) WHERE NOT EXISTS (SELECT 1 FROM sm WHERE sm.s = m.s AND sm.v IS NOT NULL)`,
    opts.rate ? [ids, readFrom, opts.to, opts.candidates, stride * unitMs, buckets] : [ids, opts.from, opts.to, opts.candidates],
  );
  return res.rows.map((r) => Number(r.s));
}
