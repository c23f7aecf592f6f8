/** The legend table's figures: last, min, max and mean per series, from the rows a chart shows (pure, browser-safe). */
import type { Row } from './widget-data';

export interface SeriesStats {
  series: string;
  /** Newest value in the window and its time (ms). */
  last: number | null;
  lastT: number | null;
  min: number | null;
  max: number | null;
  /** Mean of the values shown (each point counts once; gaps count nothing). */
  mean: number | null;
  /** Valid values the figures are computed from. */
  n: number;
}

/**
 * Figures per series over the rows in [from, to] (all rows without bounds). Gaps
 * (v = null) are skipped; a series with no value in the window keeps its row with
 * null figures, so the table lists every series the legend lists. Sorted by name.
 */
export function seriesStats(rows: Iterable<Row>, from = -Infinity, to = Infinity): SeriesStats[] {
  const acc = new Map<string, SeriesStats & { sum: number }>();
  for (const r of rows) {
    let s = acc.get(r.series);
    if (!s) {
      s = { series: r.series, last: null, lastT: null, min: null, max: null, mean: null, n: 0, sum: 0 };
      acc.set(r.series, s);
    }
    if (r.v === null || !Number.isFinite(r.v) || r.t < from || r.t > to) continue;
    s.n++;
    s.sum += r.v;
    s.min = s.min === null ? r.v : Math.min(s.min, r.v);
    s.max = s.max === null ? r.v : Math.max(s.max, r.v);
    if (s.lastT === null || r.t >= s.lastT) {
      s.lastT = r.t;
      s.last = r.v;
    }
  }
  return [...acc.values()]
    .map(({ sum, ...s }) => ({ ...s, mean: s.n > 0 ? sum / s.n : null }))
    .sort((a, b) => a.series.localeCompare(b.series));
}
