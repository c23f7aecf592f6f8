/**
 * History of series for charts, through the query router (query/router.ts): raw
 * samples, 1-minute or 1-hour rollups depending on range and width, optionally as
 * counter rates, with gaps as null points.
 */
import type pg from 'pg';
import type { SeriesPoint } from '../../../query/rate';
import { querySeries, type Aggregation } from '../../../query/router';

/** Points of one series in [from, to], oldest first, about one per pixel of `widthPx` (default 1000). */
export async function seriesHistory(
  pool: pg.Pool,
  seriesId: number,
  from: number,
  to: number,
  opts: { rate?: boolean; limit?: number; widthPx?: number; agg?: Aggregation } = {},
): Promise<SeriesPoint[]> {
  if (!(to > from)) return [];
  const widthPx = Math.max(1, Math.min(opts.widthPx ?? 1000, opts.limit ?? 10_000, 10_000));
  const result = await querySeries(pool, { seriesIds: [seriesId], from, to, widthPx, agg: opts.agg ?? 'avg', rate: opts.rate ?? false });
  return result.series[0]?.points ?? [];
}
