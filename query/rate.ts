/**
 * Rates of monotonically increasing counters: a non-negative derivative per
 * second. A drop in value is a counter reset (or wrap): that interval yields no
 * rate, never a negative spike. Pure: used by the query router and the live hub.
 */

/** A point of a series: time in ms, value or null (a gap). */
export interface SeriesPoint {
  t: number;
  v: number | null;
}

/** Counter widths whose wrap-around is recognised (32- and 64-bit interface counters). */
const COUNTER_WIDTHS = [2 ** 32, 2 ** 64];

/**
 * Increase of a counter from `prev` to `next`, or undefined when it went down.
 * A drop from the top tenth of a 32- or 64-bit range into its bottom tenth is a
 * wrap (the increase continues past the top); any other drop is a reset.
 */
export function counterIncrease(prev: number, next: number, opts: { wrap?: boolean } = {}): number | undefined {
  if (next >= prev) return next - prev;
  if (opts.wrap === false) return undefined;
  for (const width of COUNTER_WIDTHS) {
    if (prev < width && prev >= width * 0.9 && next < width * 0.1) return width - prev + next;
  }
  return undefined;
}

/**
 * Per-second rate between consecutive points. The first point has no rate (it is
 * omitted); resets give null (the line breaks), as do gaps longer than `maxGapMs`;
 * wraps of 32/64-bit counters continue the line (unless `wrap: false`).
 */
export function counterRate(points: SeriesPoint[], opts: { maxGapMs?: number; wrap?: boolean } = {}): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  let prev: SeriesPoint | undefined;
  for (const p of points) {
    if (p.v === null) {
      out.push({ t: p.t, v: null });
      prev = undefined;
      continue;
    }
    if (prev && prev.v !== null) {
      const dt = p.t - prev.t;
      if (dt <= 0) continue;
      const increase = counterIncrease(prev.v, p.v, opts);
      if (opts.maxGapMs !== undefined && dt > opts.maxGapMs) out.push({ t: p.t, v: null });
      else if (increase === undefined) out.push({ t: p.t, v: null });
      else out.push({ t: p.t, v: (increase * 1000) / dt });
    }
    prev = p;
  }
  return out;
}

/** Rate of one new point against the previous one (live updates); undefined when not computable. */
export function nextRate(prev: SeriesPoint | undefined, p: SeriesPoint): number | null | undefined {
  if (!prev || prev.v === null || p.v === null) return undefined;
  const dt = p.t - prev.t;
  if (dt <= 0) return undefined;
  const increase = counterIncrease(prev.v, p.v);
  if (increase === undefined) return null;
  return (increase * 1000) / dt;
}
