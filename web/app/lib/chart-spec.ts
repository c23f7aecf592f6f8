/**
 * Vega-Lite specs for dashboard panels, built by pure functions (tested in
 * test/unit). Data arrive in the named dataset `points` as {t, v, series}
 * rows so live updates can be applied with view.change('points', …). A row
 * with v = null breaks the line (a gap), it is never bridged.
 */
import type { TopLevelSpec } from 'vega-lite';
import { isUtc } from './timezone';

/** Dataset name the live chart updates. */
export const POINTS_DATASET = 'points';
/** Dataset of the open gap band (`{from, to, label}` rows) of a chart with `outageBand`. */
export const OUTAGE_DATASET = 'outage';
/** Dataset of the alert markers (`ChartAlertMarker` rows) of a chart with `alertMarkers`. */
export const ALERTS_DATASET = 'alerts';
/** Vega mark names of the markers' rules and heads (the SVG groups carry them as classes). */
export const ALERT_RULE_MARK = 'alert_rules';
export const ALERT_HEAD_MARK = 'alert_heads';

/** Where an alert fired or resolved, drawn on a chart (issue 18; storage/alerts.ts alertMarkersForDevices). */
export interface ChartAlertMarker {
  t: number;
  transition: 'firing' | 'resolved';
  rule: string;
  instance: string;
  severity: string;
  silenced?: boolean;
}

/** Chart types a widget can have. */
export const CHART_KINDS = ['line', 'area', 'stacked-area', 'bar', 'stat'] as const;
export type ChartKind = (typeof CHART_KINDS)[number];

/** Units the axis and labels know. */
export const UNITS = ['', 'bits/s', 'bytes', '%', '°C', 'pkts/s', '/s'] as const;

/** Options of a time-series panel. */
export interface TimeSeriesOptions {
  title?: string;
  /** Unit shown on the y axis, e.g. "bits/s", "%", "°C". */
  unit?: string;
  kind?: ChartKind;
  height?: number;
  /**
   * Time domain [from, to] in ms: the page's range. It is the value of the signals
   * `x_from`/`x_to`, so a live chart slides its window by setting them (view.signal),
   * without being drawn again; without it the axis follows the data.
   */
  domain?: [number, number];
  /** Length of the time window, to pick readable time labels. */
  windowMs?: number;
  /** Width of the chart's container when it is drawn, to fit the legend (4 columns need ~800 px). */
  widthPx?: number;
  /** Accessible name of the chart (the SVG's aria-label). */
  description?: string;
  /** Draw the rows of the `outage` dataset as a shaded open gap with its label. */
  outageBand?: boolean;
  /** Draw the rows of the `alerts` dataset as vertical rules (red: fired, green: resolved) with a tooltip. */
  alertMarkers?: boolean;
  /** Names of the series drawn: with them, a crosshair tooltip lists every series' value at the pointer. */
  seriesNames?: string[];
  /**
   * The page's time zone (web/app/lib/timezone.ts): 'UTC' (default) draws axes and
   * tooltips in UTC; any other zone is the browser's own, which Vega draws as local time.
   */
  timeZone?: string;
}

/** Name of the legend selection: click a legend entry to isolate its series, shift-click to toggle more. */
export const LEGEND_PARAM = 'pick';
/** Name of the crosshair's nearest-time selection. */
export const HOVER_PARAM = 'hover';
/** Name of the drag-to-zoom interval selection (over the crosshair's time field `tb`). */
export const BRUSH_PARAM = 'brush';
/** Signals holding the time axis' window (ms): a live chart slides it with the clock. */
export const X_FROM = 'x_from';
export const X_TO = 'x_to';

/** Time labels that fit a chart this wide: about one per 110 px (a 1 h chart's "12:34:56" is ~50 px). */
export function timeTickCount(widthPx?: number): number | undefined {
  if (!widthPx || !Number.isFinite(widthPx) || widthPx <= 0) return undefined;
  return Math.max(2, Math.floor(widthPx / 110));
}

/** A field name as Vega-Lite reads it: dots, brackets and backslashes in series names are literal. */
export function fieldRef(name: string): string {
  return name.replace(/([.[\]\\])/g, '\\$1');
}

/** Crosshair time buckets: points of different series within one bucket are read as simultaneous. */
export function crosshairStepMs(windowMs = 3_600_000): number {
  return Math.max(1000, Math.round(windowMs / 400 / 1000) * 1000);
}

/** Legend columns and label width for a chart this wide: a narrow widget gets fewer, wider columns instead of a clipped fourth one. */
export function legendLayout(widthPx?: number): { columns: number; labelLimit: number } {
  if (!widthPx || !Number.isFinite(widthPx) || widthPx <= 0) return { columns: 4, labelLimit: 260 };
  const columns = Math.max(1, Math.min(4, Math.floor(widthPx / 200)));
  // Each column holds a symbol (~25 px) and padding besides its label.
  const labelLimit = Math.max(60, Math.min(260, Math.floor(widthPx / columns) - 40));
  return { columns, labelLimit };
}

/** Time label format for a window: seconds up to an hour, minutes up to a day, then dates. */
export function timeFormat(windowMs = 3_600_000): string {
  if (windowMs <= 3_600_000) return '%H:%M:%S';
  if (windowMs <= 24 * 3_600_000) return '%H:%M';
  return '%b %d %H:%M';
}

/** Axis label format for a unit: SI prefixes for rates and bytes. */
export function axisFormat(unit?: string): string {
  if (!unit) return '~s';
  if (unit === '%' || unit === '°C') return '.1f';
  return '~s';
}

/** Suffix printed after a number of this unit. */
export function unitSuffix(unit?: string): string {
  switch (unit) {
    case undefined:
    case '':
      return '';
    case 'bits/s':
      return 'bit/s';
    case 'bytes':
      return 'B';
    case '%':
      return ' %';
    case '°C':
      return ' °C';
    default:
      return ` ${unit}`;
  }
}

/** A Vega expression that formats `expr` (a number) with the unit, e.g. "1.2 Gbit/s", "45.0 %". */
export function formatExpr(expr: string, unit?: string): string {
  const suffix = JSON.stringify(unitSuffix(unit));
  if (unit === '%' || unit === '°C') return `format(${expr}, '.1f') + ${suffix}`;
  // Units written after an SI prefix get a space before the prefix: "202 Gbit/s", "512 bit/s".
  const si = unit === 'bits/s' || unit === 'bytes' ? `replace(format(${expr}, '.3~s'), regexp('([0-9])([^0-9]*)$'), '$1 $2')` : `format(${expr}, '.3~s')`;
  return `(abs(${expr}) < 1 ? format(${expr}, '.2~f')${unit === 'bits/s' || unit === 'bytes' ? " + ' '" : ''} : ${si}) + ${suffix}`;
}

/**
 * Autosize of every chart: fill the container's width, axes and legend inside it.
 * Vega lays a chart out once, when it is embedded — before any data, so with no
 * axis labels yet — and by default not again on data changes, so labels drawn later
 * ("1.5Gbit/s", "100.0 %") stuck out of the SVG at the left and were clipped.
 * `resize` lays it out again on every update: as values grow, the plot narrows.
 */
export const AUTOSIZE = { type: 'fit', contains: 'padding', resize: true } as const;

const BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 'container' as const,
  autosize: AUTOSIZE,
  data: { name: POINTS_DATASET },
};

/** A Vega-Lite spec for a time-series panel of one or more series (line, area, stacked area, bar). */
export function timeSeriesSpec(opts: TimeSeriesOptions = {}): TopLevelSpec {
  const kind = opts.kind ?? 'line';
  if (kind === 'stat') return singleStatSpec(opts);
  const mark =
    kind === 'bar'
      ? { type: 'bar' as const, opacity: 0.85 }
      : kind === 'line'
        ? { type: 'line' as const, interpolate: 'linear' as const, strokeWidth: 1.5 }
        : { type: 'area' as const, interpolate: 'linear' as const, opacity: kind === 'stacked-area' ? 0.85 : 0.35, line: kind === 'area' };
  // Bars of several series at one time are stacked: side by side they would hide each other.
  const stacked = kind === 'stacked-area' || kind === 'bar';
  const utc = !opts.timeZone || isUtc(opts.timeZone);
  const scaleType = utc ? ('utc' as const) : ('time' as const);
  const fmt = utc ? 'utcFormat' : 'timeFormat';
  const timeTitle = `time (${utc ? 'UTC' : opts.timeZone})`;
  const windowParams = opts.domain ? [{ name: X_FROM, value: opts.domain[0] }, { name: X_TO, value: opts.domain[1] }] : [];
  const spec = {
    ...BASE,
    title: opts.title,
    description: opts.description ?? opts.title,
    height: opts.height ?? 220,
    // Null values (gaps, counter resets) break the line instead of bridging it.
    config: {
      mark: { invalid: 'break-paths-show-domains' },
      // Lines get a stroke swatch; bars and areas a filled square in their colour.
      legend: { orient: 'bottom', ...legendLayout(opts.widthPx), symbolType: kind === 'line' ? 'stroke' : 'square' },
      axis: { labelFontSize: 11, titleFontSize: 11 },
    },
    mark: { ...mark, tooltip: true },
    transform: [{ calculate: `${fmt}(datum.t, '%H:%M:%S')`, as: 'time' }],
    // Click a legend entry to isolate it, shift-click to add or remove more (Vega-Lite's point toggle).
    params: [{ name: LEGEND_PARAM, select: { type: 'point', fields: ['series'] }, bind: 'legend' }],
    encoding: {
      opacity: { condition: { param: LEGEND_PARAM, value: kind === 'line' ? 1 : mark.opacity }, value: 0.08 },
      x: {
        field: 't',
        type: 'temporal',
        title: null,
        axis: {
          labelOverlap: 'greedy' as const,
          labelSeparation: 8,
          labelFlush: 50,
          grid: false,
          format: timeFormat(opts.windowMs ?? (opts.domain ? opts.domain[1] - opts.domain[0] : undefined)),
          ...(timeTickCount(opts.widthPx) ? { tickCount: timeTickCount(opts.widthPx) } : {}),
        },
        // The page's zone (UTC unless switched to the browser's); the range bar says which. The window is the page's range.
        scale: { type: scaleType, ...(opts.domain ? { domain: [{ expr: X_FROM }, { expr: X_TO }] } : {}) },
      },
      y: {
        field: 'v',
        type: 'quantitative',
        title: opts.unit || null,
        axis: { labelExpr: formatExpr('datum.value', opts.unit), tickCount: 5 },
        ...(stacked ? { stack: 'zero' as const } : { stack: null }),
      },
      color: { field: 'series', type: 'nominal', title: null },
      tooltip: [
        { field: 'series', type: 'nominal', title: 'series' },
        { field: 'time', type: 'nominal', title: timeTitle },
        { field: 'v', type: 'quantitative', title: opts.unit || 'value', format: axisFormat(opts.unit) },
      ],
    },
  };
  const names = opts.seriesNames ?? [];
  if (!opts.outageBand && !opts.alertMarkers && names.length === 0) return { ...spec, params: [...windowParams, ...spec.params] } as TopLevelSpec;
  const { mark: lineMark, encoding, params, transform, ...rest } = spec;
  const top = windowParams.length > 0 ? { ...rest, params: windowParams } : rest;
  const brush = { name: BRUSH_PARAM, select: { type: 'interval', encodings: ['x'], mark: { fill: '#2f5bd3', fillOpacity: 0.12, stroke: '#2f5bd3' } } };
  // Drag across the chart to zoom (with the crosshair: a chart worth exploring): the page makes the interval its range.
  const layer: unknown[] = [{ mark: lineMark, encoding, params: names.length > 0 ? [...params, brush] : params, transform }];
  if (names.length > 0) {
    // The crosshair: a vertical rule at the nearest time, its tooltip every series' value there.
    const step = crosshairStepMs(opts.windowMs ?? (opts.domain ? opts.domain[1] - opts.domain[0] : undefined));
    const unitTitle = opts.unit ? ` (${unitSuffix(opts.unit).trim()})` : '';
    layer.push({
      transform: [
        { filter: 'isValid(datum.v)' },
        { calculate: `round(datum.t / ${step}) * ${step}`, as: 'tb' },
        { pivot: 'series', value: 'v', groupby: ['tb'], op: 'mean' },
        { calculate: `${fmt}(datum.tb, '%Y-%m-%d %H:%M:%S')`, as: 'time' },
      ],
      mark: { type: 'rule', color: '#5b6472', strokeWidth: 1 },
      encoding: {
        x: { field: 'tb', type: 'temporal', scale: { type: scaleType } },
        opacity: { condition: { param: HOVER_PARAM, value: 0.7, empty: false }, value: 0 },
        tooltip: [
          { field: 'time', type: 'nominal', title: timeTitle },
          ...names.map((n) => ({ field: fieldRef(n), type: 'quantitative', title: `${n}${unitTitle}`, format: axisFormat(opts.unit) })),
        ],
      },
      params: [{ name: HOVER_PARAM, select: { type: 'point', fields: ['tb'], nearest: true, on: 'pointerover', clear: 'pointerout' } }],
    });
  }
  if (kind === 'line' || kind === 'area') {
    // A point with no valid neighbour draws no line (e.g. one sample between gaps on a 7 d
    // range): it is drawn as a dot so it is not invisible.
    layer.push({
      transform: [
        ...transform,
        { window: [{ op: 'lag', field: 'v', as: 'prev' }, { op: 'lead', field: 'v', as: 'next' }], groupby: ['series'], sort: [{ field: 't', order: 'ascending' }] },
        { filter: 'isValid(datum.v) && !isValid(datum.prev) && !isValid(datum.next)' },
      ],
      mark: { type: 'point', filled: true, size: 28, tooltip: true },
      encoding: { x: encoding.x, y: encoding.y, color: encoding.color, opacity: encoding.opacity, tooltip: encoding.tooltip },
    });
  }
  if (opts.alertMarkers) layer.push(...alertMarkerLayers(scaleType, fmt, timeTitle));
  if (!opts.outageBand) return { ...top, layer } as TopLevelSpec;
  // An ongoing outage as an open gap: a shaded band from the last point to now, labelled.
  return {
    ...top,
    layer: [
      ...layer,
      {
        data: { name: OUTAGE_DATASET },
        mark: { type: 'rect', color: '#b0b7c3', opacity: 0.25 },
        encoding: { x: { field: 'from', type: 'temporal', scale: { type: scaleType } }, x2: { field: 'to' } },
      },
      {
        data: { name: OUTAGE_DATASET },
        // Clipped to the plot: a long error must not run past the chart.
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 4, color: '#5b6472', fontSize: 11, clip: true },
        encoding: { x: { field: 'from', type: 'temporal', scale: { type: scaleType } }, y: { value: 0 }, text: { field: 'label' } },
      },
    ],
  } as TopLevelSpec;
}

/**
 * The alert markers: a dashed vertical rule at each transition across the plot, red where an
 * alert fired and green where it resolved, with a small head at the top; both carry the tooltip
 * (rule, instance, severity, transition, time). Clipped to the plot: the window may slide past them.
 */
function alertMarkerLayers(scaleType: 'utc' | 'time', fmt: string, timeTitle: string): unknown[] {
  const transform = [
    { calculate: `${fmt}(datum.t, '%Y-%m-%d %H:%M:%S')`, as: 'time' },
    { calculate: "datum.transition + (datum.silenced ? ' (silenced)' : '')", as: 'what' },
  ];
  const color = { condition: { test: "datum.transition === 'firing'", value: '#c62828' }, value: '#2e7d32' };
  const encoding = {
    x: { field: 't', type: 'temporal', scale: { type: scaleType } },
    color,
    tooltip: [
      { field: 'rule', type: 'nominal', title: 'alert rule' },
      { field: 'instance', type: 'nominal', title: 'instance' },
      { field: 'severity', type: 'nominal', title: 'severity' },
      { field: 'what', type: 'nominal', title: 'transition' },
      { field: 'time', type: 'nominal', title: timeTitle },
    ],
  };
  return [
    { name: ALERT_RULE_MARK, data: { name: ALERTS_DATASET }, transform, mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5, clip: true }, encoding },
    { name: ALERT_HEAD_MARK, data: { name: ALERTS_DATASET }, transform, mark: { type: 'point', shape: 'triangle-down', filled: true, size: 60, opacity: 1, clip: true }, encoding: { ...encoding, y: { value: 0 } } },
  ];
}

/**
 * A single-stat panel: the newest value of every series, summed (one series
 * when the widget aggregates), in large type with its unit, over a faint sparkline.
 */
export function singleStatSpec(opts: TimeSeriesOptions = {}): TopLevelSpec {
  return {
    ...BASE,
    title: opts.title,
    description: opts.description ?? opts.title,
    height: opts.height ?? 120,
    config: { view: { stroke: null }, mark: { invalid: 'break-paths-show-domains' } },
    layer: [
      {
        // Summed per time with the nulls kept: a time where no series has a value stays a gap
        // (the line charts break there too), instead of a slope drawn across the outage.
        transform: [
          {
            aggregate: [
              { op: 'sum', field: 'v', as: 'sum' },
              { op: 'valid', field: 'v', as: 'n' },
            ],
            groupby: ['t'],
          },
          { calculate: 'datum.n > 0 ? datum.sum : null', as: 'v' },
        ],
        mark: { type: 'area', opacity: 0.15, interpolate: 'linear' },
        encoding: {
          x: { field: 't', type: 'temporal', axis: null },
          y: { field: 'v', type: 'quantitative', axis: null, stack: null },
        },
      },
      {
        transform: [
          { filter: 'isValid(datum.v)' },
          { joinaggregate: [{ op: 'max', field: 't', as: 'newest' }], groupby: ['series'] },
          { filter: 'datum.t === datum.newest' },
          { aggregate: [{ op: 'sum', field: 'v', as: 'total' }] },
          { calculate: formatExpr('datum.total', opts.unit), as: 'label' },
        ],
        mark: { type: 'text', fontSize: 40, fontWeight: 600, color: '#1d2330' },
        encoding: { text: { field: 'label', type: 'nominal' } },
      },
    ],
  } as TopLevelSpec;
}
