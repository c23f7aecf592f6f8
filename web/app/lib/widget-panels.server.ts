/**
 * What the server draws for a widget instead of a chart (issue 21): the state panel of
 * text leaves, the `state-timeline` kind on numbers (changes of value as states), and the
 * `table` kind (each series' last value or rate, or each group's last value when the
 * widget aggregates). One function for the dashboard's loader and the widget editor's
 * preview (GET /api/widget-panel), so both draw the same thing.
 */
import { ctx } from './context.server';
import { countTextSeries, resolveWidgetSeries } from './series.server';
import { statesInWindow } from '../../../storage/series-reads';
import { newestValues } from '../../../storage/newest-points';
import { numericChangesInWindow } from '../../../storage/value-changes';
import { queryFleet } from '../../../query/fleet-query';
import { overBudget } from './query-budget';
import { lastValue, type LastValue } from './last-values';
import { unitScale } from './widget-data';
import { LIVE_COMPLETE_LAG_MS, fleetLastValues, isServerAggregated, widgetQuery, type WidgetQuery, type WidgetQueryFields } from './widget-query';
import type { StateSeries } from '../components/StatePanel';

/** The widget fields the panels depend on (a stored widget row has them). */
export type PanelWidget = WidgetQueryFields & { chart: string; unit: string };

export type LastValueRow = LastValue & { id: number; label: string };

export interface WidgetPanels {
  /** Text leaves the path matches when it matches no numbers (they get a state panel). */
  textSeries: number;
  states: StateSeries[];
  lastValues: LastValueRow[];
  /** The fleet query when the widget aggregates, groups or ranks. */
  query: WidgetQuery | null;
}

/** The server-drawn parts of a widget over [from, to], given the numeric series its path matches. */
export async function widgetPanels(w: PanelWidget, series: Array<{ id: number; label: string }>, window: { from: number; to: number }): Promise<WidgetPanels> {
  const { db, pool, config } = ctx();
  // "No series match … yet" only when nothing was collected: a text leaf is said to be one.
  const textSeries = series.length === 0 ? await countTextSeries(db, w.device_id, w.path) : 0;
  // Text leaves get a state panel (timeline and table) instead of a chart.
  let states: StateSeries[] = [];
  if (textSeries > 0) {
    const text = await resolveWidgetSeries(db, w.device_id, w.path, 50, 'text');
    const byId = await statesInWindow(db, text.series.map((s) => s.id), window.from, window.to);
    states = text.series.map((s) => ({ id: s.id, label: s.label, states: byId.get(s.id) ?? [] }));
  }
  // The state-timeline and table chart kinds on numbers: changes of value as states, or each series' last value.
  let lastValues: LastValueRow[] = [];
  // Aggregations, groupings and top/bottom N are computed on the server over every matching series (issue 17).
  const query: WidgetQuery | null = isServerAggregated(w) ? widgetQuery(w) : null;
  if (series.length > 0 && query && w.chart === 'table') {
    const answer = await queryFleet(pool, { ...query, from: window.from, to: window.to, widthPx: 600 }, { budget: (c) => overBudget(c.seriesCount, c.from, c.to, c.widthPx, config.WEB_QUERY_MAX_POINTS) });
    lastValues = fleetLastValues(answer, unitScale(w.unit, w.path), Date.now() - LIVE_COMPLETE_LAG_MS).map((r, i) => ({ id: i, label: r.label, value: r.value, at: r.at, stale: r.at === null }));
  }
  if (series.length > 0 && w.chart === 'state-timeline') {
    // At most 50 rows of bands, as for text leaves.
    const shown = series.slice(0, 50);
    const byId = await numericChangesInWindow(db, shown.map((s) => s.id), window.from, window.to);
    states = shown.map((s) => ({ id: s.id, label: s.label, states: byId.get(s.id) ?? [] }));
  }
  if (series.length > 0 && !query && w.chart === 'table') {
    const { rows } = await newestValues(db, 'samples', series.map((s) => s.id), 2);
    const bySeries = new Map<number, Array<{ t: number; v: number | null }>>();
    for (const r of rows as Array<{ s: string | number; t: number; v: number | null }>) bySeries.set(Number(r.s), [...(bySeries.get(Number(r.s)) ?? []), { t: Number(r.t), v: r.v === null ? null : Number(r.v) }]);
    const scale = unitScale(w.unit, w.path);
    lastValues = series.map((s) => ({ id: s.id, label: s.label, ...lastValue(bySeries.get(s.id) ?? [], { rate: w.rate, scale, now: Date.now() }) }));
  }
  return { textSeries, states, lastValues, query };
}
