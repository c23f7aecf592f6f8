/**
 * A widget on the fleet query model (issue 17): a widget that aggregates or groups its
 * series is computed on the server by query/fleet-query.ts (POST /api/query for its
 * history and refreshes, the dashboard loader for a top-N table), never summed in the
 * browser over raw series — so a total over thousands of interfaces is one line, not
 * thousands. Pure and browser-safe: the widget's fields → the query, the answer → chart rows.
 */
import type { FleetAggregation, FleetQuery, FleetResult } from '../../../query/fleet-query';
import type { Row } from './widget-data';

/** The widget fields the query is built from (a stored widget row has them). */
export interface WidgetQueryFields {
  device_id: number | null;
  path: string;
  aggregate: 'none' | 'sum' | 'avg' | 'max' | 'min' | 'count' | 'last';
  group_by: string;
  rate: boolean;
  top_n: number | null;
  top_order: 'top' | 'bottom';
}

/** The query of a widget without its time window (what a chart re-asks with a new window). */
export type WidgetQuery = Omit<FleetQuery, 'from' | 'to' | 'widthPx'>;

/** Whether a widget combines or ranks series (so the server computes it): an aggregation, any grouping but one line per series, or a top/bottom N. */
export function isServerAggregated(w: Pick<WidgetQueryFields, 'aggregate' | 'group_by' | 'top_n'>): boolean {
  return w.aggregate !== 'none' || w.group_by !== 'series' || w.top_n !== null;
}

/**
 * The fleet query of an aggregated widget: `none` with a grouping sums (as charts always
 * did), `all` is no group by (one line named after the aggregation), the other groupings
 * and top/bottom N pass through.
 */
export function widgetQuery(w: WidgetQueryFields): WidgetQuery {
  const agg: FleetAggregation = w.aggregate === 'none' ? 'sum' : w.aggregate;
  const q: WidgetQuery = { path: w.path, rate: w.rate, agg };
  if (w.device_id !== null) q.deviceIds = [w.device_id];
  if (w.group_by !== 'all') q.groupBy = w.group_by;
  if (w.top_n !== null && w.group_by !== 'all') q[w.top_order] = w.top_n;
  return q;
}

/**
 * A group's label as charts and tables show it: a series (`<device> <path>`) becomes its
 * device and the path's key values (`sw-1 Ethernet1`; the path when it has none), other
 * groups keep their key.
 */
export function groupLabel(key: string, groupBy: string | null): string {
  if (groupBy !== 'series') return key;
  const space = key.indexOf(' ');
  if (space < 0) return key;
  const values = [...key.slice(space + 1).matchAll(/\[[^=\]]+=([^\]]*)\]/g)].map((m) => m[1]);
  return values.length > 0 ? `${key.slice(0, space)} ${values.join(' ')}` : key;
}

/** Aggregated widgets one live stream carries (the first of the dashboard's live-computable ones). */
export const MAX_STREAM_AGGREGATES = 16;

/** Whether the server computes a query's new steps live (`last` needs each series' newest time: re-asked instead). */
export const liveComputable = (q: WidgetQuery): boolean => q.agg !== 'last';

/** The width aggregated charts ask their history for, so that the live aggregates computed on the server use the same steps. */
export const LIVE_WIDTH_PX = 600;

/** Row changes of one aggregated widget, as the live stream carries them (values unscaled). */
export interface AggregateChanges {
  /** Rows to drop (by group and step) before inserting. */
  remove: Array<{ series: string; t: number }>;
  insert: Row[];
}

/** How far behind now an aggregated live chart draws: steps newer than this may still miss series that report every 10 s. */
export const LIVE_COMPLETE_LAG_MS = 15_000;

/**
 * Chart rows of a fleet answer: one line per group (its key), values scaled to the
 * widget's unit, a run of empty steps as one null row (a gap), steps at or after
 * `completeBefore` left out (not every series has reported them yet: a total would dip).
 */
export function fleetRows(result: Pick<FleetResult, 'groups' | 'groupBy'>, scale: number, completeBefore = Infinity): Row[] {
  const rows: Row[] = [];
  for (const group of result.groups) {
    const g = { ...group, key: groupLabel(group.key, result.groupBy) };
    let gap = false;
    for (const p of g.points) {
      if (p.t >= completeBefore) break;
      if (p.v === null) {
        if (!gap) rows.push({ t: p.t, v: null, series: g.key });
        gap = true;
        continue;
      }
      gap = false;
      rows.push({ t: p.t, v: p.v * scale, series: g.key });
    }
  }
  return rows;
}

/** Each group's newest value before `completeBefore` (scaled) with its time: a top-N table's rows, in the answer's order. */
export function fleetLastValues(result: Pick<FleetResult, 'groups' | 'groupBy'>, scale: number, completeBefore = Infinity): Array<{ label: string; value: number | null; at: number | null; mean: number | null }> {
  return result.groups.map((g) => {
    let last: { t: number; v: number } | undefined;
    for (const p of g.points) if (p.t < completeBefore && p.v !== null) last = { t: p.t, v: p.v };
    return { label: groupLabel(g.key, result.groupBy), value: last ? last.v * scale : null, at: last?.t ?? null, mean: g.mean === null ? null : g.mean * scale };
  });
}

/** The list keys of paths (`interface[name]`, `component[name]`), each once, in first-seen order: the editor's group-by suggestions. */
export function listKeysOf(paths: string[]): string[] {
  const keys = new Set<string>();
  for (const p of paths) for (const m of p.matchAll(/([A-Za-z][A-Za-z0-9_.:-]*)\[([A-Za-z][A-Za-z0-9_.:-]*)=/g)) keys.add(`${m[1]}[${m[2]}]`);
  return [...keys];
}
