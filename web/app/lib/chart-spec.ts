/**
 * Vega-Lite specs for time-series panels, built by pure functions (tested in
 * test/unit). Data arrive in the named dataset `points` as {t, v, series}
 * rows so live updates can be applied with view.change('points', …).
 */
import type { TopLevelSpec } from 'vega-lite';

/** Dataset name the live chart updates. */
export const POINTS_DATASET = 'points';

/** Options of a time-series panel. */
export interface TimeSeriesOptions {
  title?: string;
  /** Unit shown on the y axis, e.g. "bits/s", "%", "°C". */
  unit?: string;
  kind?: 'line' | 'area' | 'stacked-area' | 'bar';
  height?: number;
}

/** Axis label format for a unit: SI prefixes for rates and bytes. */
export function axisFormat(unit?: string): string {
  if (!unit) return '~s';
  if (unit === '%' || unit === '°C') return '.1f';
  return '~s';
}

/** A Vega-Lite spec for one panel of one or more series. */
export function timeSeriesSpec(opts: TimeSeriesOptions = {}): TopLevelSpec {
  const kind = opts.kind ?? 'line';
  const mark =
    kind === 'bar'
      ? { type: 'bar' as const }
      : kind === 'line'
        ? { type: 'line' as const, interpolate: 'monotone' as const, strokeWidth: 1.5 }
        : { type: 'area' as const, interpolate: 'monotone' as const, opacity: 0.7, line: true };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: 'container',
    height: opts.height ?? 260,
    autosize: { type: 'fit', contains: 'padding' },
    data: { name: POINTS_DATASET },
    // Null values (gaps, counter resets) break the line instead of bridging it.
    config: { mark: { invalid: 'break-paths-show-domains' }, legend: { orient: 'bottom' } },
    mark: { ...mark, tooltip: true },
    encoding: {
      x: { field: 't', type: 'temporal', title: null, axis: { format: '%H:%M:%S', labelOverlap: true } },
      y: {
        field: 'v',
        type: 'quantitative',
        title: opts.unit ?? null,
        axis: { format: axisFormat(opts.unit) },
        ...(kind === 'stacked-area' ? { stack: 'zero' as const } : { stack: null }),
      },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}
