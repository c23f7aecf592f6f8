/**
 * The table widget on numeric series: each series' newest value (or its rate over the
 * last two points), with the time it was true and whether it is stale by the device
 * page's rule (older than three of its sample intervals). Pure, browser-safe.
 */
import { isStale } from './freshness';

/** One row of the table. */
export interface LastValue {
  /** The value in the widget's unit (scaled), or null when there is none (no point, counter reset). */
  value: number | null;
  /** When the newest point was taken (ms), or null. */
  at: number | null;
  /** The spacing of the last two points (ms), when there are two. */
  intervalMs?: number;
  stale: boolean;
}

/**
 * From a series' newest points (newest first, as storage/newest-points.ts's newestValues
 * gives them): the value, or with `rate` the per-second increase between the last two
 * points (a decrease — a counter reset — gives no value rather than a negative rate).
 */
export function lastValue(points: Array<{ t: number; v: number | null }>, opts: { rate: boolean; scale: number; now: number }): LastValue {
  const [newest, before] = points;
  if (!newest) return { value: null, at: null, stale: true };
  const intervalMs = before && newest.t > before.t ? newest.t - before.t : undefined;
  let value: number | null = newest.v === null ? null : newest.v * opts.scale;
  if (opts.rate) {
    value = intervalMs && newest.v !== null && before.v !== null && newest.v >= before.v ? ((newest.v - before.v) / (intervalMs / 1000)) * opts.scale : null;
  }
  return { value, at: newest.t, intervalMs, stale: isStale(newest.t, opts.now, intervalMs) };
}
