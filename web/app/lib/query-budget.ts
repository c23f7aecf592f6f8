/**
 * Budgets of history queries (issue 14, item 7): before /api/series runs, the
 * points it would scan are estimated from the router's choice of resolution and
 * the number of series; a request over budget is refused with a message naming
 * ranges that fit. Raw data is assumed at one sample per second per series (the
 * densest the collector's profiles produce; measured 1.73 M rows for 20 series
 * over 24 h), rollups at one row per minute or hour.
 */
import { HOUR_MS, MINUTE_MS, chooseResolution, expectedRows, type Resolution } from '../../../query/router';

/** Points a history request is expected to scan. */
export function estimatePoints(seriesCount: number, from: number, to: number, widthPx: number): { points: number; resolution: Resolution } {
  const { resolution } = chooseResolution(from, to, widthPx);
  return { points: expectedRows(seriesCount, to - from, resolution), resolution };
}

/** A duration as people read it: 2 h 46 min, 6 d 22 h, 45 s. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

const NAMES: Record<Resolution, string> = { raw: 'raw samples', '1m': '1-minute rollups', '1h': '1-hour rollups' };

/**
 * Undefined when the request fits the budget; otherwise a message naming a
 * shorter range at this resolution and, where one fits, the coarser range that
 * makes the router read rollups instead. `rowsRead`: what the chosen data sources
 * actually read when the caller knows it (a fleet query's pre-aggregated rates or
 * ranked candidates, ADR 175) instead of series × range.
 */
export function overBudget(seriesCount: number, from: number, to: number, widthPx: number, maxPoints: number, rowsRead?: number): string | undefined {
  const estimate = estimatePoints(seriesCount, from, to, widthPx);
  const { resolution } = estimate;
  const points = rowsRead ?? estimate.points;
  if (points <= maxPoints) return undefined;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const shorter = Math.floor((maxPoints / points) * (to - from));
  const hints = [`a range of at most ${humanDuration(shorter)} at this resolution`];
  // The router switches to rollups once a pixel spans a minute (an hour).
  const coarser: Array<[Resolution, number]> = resolution === 'raw' ? [['1m', widthPx * MINUTE_MS], ['1h', widthPx * HOUR_MS]] : resolution === '1m' ? [['1h', widthPx * HOUR_MS]] : [];
  for (const [res, minRange] of coarser) {
    const range = Math.max(minRange, to - from);
    if (expectedRows(seriesCount, range, res) <= maxPoints) {
      hints.push(`a range of ${humanDuration(range)} or more (read from ${NAMES[res]})`);
      break;
    }
  }
  hints.push('or fewer series');
  const what = rowsRead === undefined ? `points of ${NAMES[resolution]}` : `rows (pre-aggregated rates, ${NAMES[resolution]})`;
  return (
    `This request would scan about ${fmt(points)} ${what} (${seriesCount} series over ${humanDuration(to - from)}; ` +
    `the limit is ${fmt(maxPoints)}). Ask for ${hints.join(', ')}.`
  );
}

export { ConcurrencyLimit } from '../../../core/concurrency-limit';
