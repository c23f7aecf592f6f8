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

/**
 * Per-second rate between consecutive points. The first point has no rate (it is
 * omitted); resets give null (the line breaks), as do gaps longer than `maxGapMs`.
 */
export function counterRate(points: SeriesPoint[], opts: { maxGapMs?: number } = {}): SeriesPoint[] {
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
      if (opts.maxGapMs !== undefined && dt > opts.maxGapMs) out.push({ t: p.t, v: null });
      else if (p.v < prev.v) out.push({ t: p.t, v: null });
      else out.push({ t: p.t, v: ((p.v - prev.v) * 1000) / dt });
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
  if (p.v < prev.v) return null;
  return ((p.v - prev.v) * 1000) / dt;
}
