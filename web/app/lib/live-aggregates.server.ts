/**
 * Live aggregates (issue 17): the web process combines an aggregated widget's series
 * itself, from the live hub's feed, and a client receives only the aggregated lines — a
 * widget over 10,000 interfaces streams a handful of rows per step, not 10,000 series.
 *
 * Per widget: the fleet query's series (query/fleet-query.ts resolves and groups them, as
 * for history), per-series counter rates first (query/rate.ts, resets give no value), then
 * WidgetRows (web/app/lib/widget-data.ts) combines them per step and group, drawing a step
 * only once every reporting series of its group has reached it (a total never dips). Steps
 * are the history's (the router's step for the window at LIVE_WIDTH_PX), so live rows
 * continue — and replace — the history's last rows. `last` is not computed live (the
 * browser re-asks the server for it).
 */
import type { LiveHub, LivePoint, SharedReadTiming } from './live-hub.server';
import { WidgetRows } from './widget-data';
import type { Knex } from 'knex';
import { MAX_FLEET_SERIES, groupKey, queryFleet, resolveFleetSeries } from '../../../query/fleet-query';
import { listWidgets } from '../../../storage/dashboards';
import { isVegaChart } from './widget-form';
import { chooseResolution, type Queryable } from '../../../query/router';
import { nextRate } from '../../../query/rate';
import { LIVE_COMPLETE_LAG_MS, LIVE_WIDTH_PX, MAX_STREAM_AGGREGATES, groupLabel, isServerAggregated, liveComputable, widgetQuery, type AggregateChanges, type WidgetQuery } from './widget-query';

/** The step of an aggregated chart over a window of this length (the router's choice at LIVE_WIDTH_PX, at least 1 s). */
export function aggregateStepMs(windowMs: number, now = Date.now()): number {
  return Math.max(1000, chooseResolution(now - windowMs, now, LIVE_WIDTH_PX).bucketMs);
}

export type { AggregateChanges };

/**
 * Where the time of one aggregated delivery went (diagnosis: `/api/live?trace=1`, `bench live-aggregate`):
 * the points the hub handed over (their sample times: stamped at the device), when they reached the
 * aggregation and when its changes were ready. Times in ms since the epoch, this process's clock.
 */
export interface AggregateTrace {
  points: number;
  /** Oldest and newest sample time among the points. */
  oldest: number;
  newest: number;
  /** The shared read that brought them (absent for a subscriber's backfill): doorbell heard, read started and done, rows read. */
  heardAt?: number;
  readAt?: number;
  readDoneAt?: number;
  rows?: number;
  /** The hub handed the points over (its read of the doorbell's samples done). */
  hubAt: number;
  /** Rates taken and the steps combined: the changes go to the stream. */
  aggregatedAt: number;
}

/** One aggregated widget fed from the hub. */
export interface AggregateSubscription {
  /** Series combined. */
  seriesCount: number;
  /** Groups computed (all, or the ones asked for). */
  groups: string[];
  stop(): void;
}

/**
 * Compute a widget's aggregates from the hub's feed: resolves its series, subscribes to
 * them from `since` and calls `deliver` with each batch's row changes (unscaled). Only the
 * groups in `onlyGroups` (a top/bottom N the chart drew) are computed when given.
 */
export async function subscribeAggregate(
  hub: LiveHub,
  db: Queryable,
  opts: { query: WidgetQuery; stepMs: number; since: number; onlyGroups?: string[]; deliver: (changes: AggregateChanges, resumeFrom: number, trace: AggregateTrace) => boolean },
): Promise<AggregateSubscription> {
  const { query, stepMs } = opts;
  const agg = query.agg ?? 'sum';
  if (agg === 'last') throw new Error('last is not computed live');
  const only = opts.onlyGroups ? new Set(opts.onlyGroups) : undefined;
  const series = (await resolveFleetSeries(db, query.path, query.deviceIds, MAX_FLEET_SERIES))
    .map((s) => {
      const key = groupKey(s, query.groupBy, agg);
      return { id: s.id, label: key === undefined ? undefined : groupLabel(key, query.groupBy ?? null) };
    })
    .filter((s): s is { id: number; label: string } => s.label !== undefined && (!only || only.has(s.label)));
  // Every series of a group shares a "device name": the group's label.
  const rows = new WidgetRows(
    series.map((s) => ({ id: s.id, label: s.label, deviceName: s.label })),
    { aggregate: agg, groupBy: 'device', bucketMs: stepMs, maxGapMs: Math.max(30_000, 2 * stepMs), scale: 1 },
  );
  const lastRaw = new Map<number, { t: number; v: number | null }>();
  const unsubscribe = await hub.subscribe({
    seriesIds: series.map((s) => s.id),
    since: opts.since,
    deliver(points: LivePoint[], resumeFrom: number, timing?: SharedReadTiming) {
      const hubAt = Date.now();
      let oldest = Infinity;
      let newest = -Infinity;
      const bySeries = new Map<number, Array<{ t: number; v: number | null }>>();
      for (const p of points) {
        if (p.t < oldest) oldest = p.t;
        if (p.t > newest) newest = p.t;
        const prev = lastRaw.get(p.s);
        if (prev && p.t <= prev.t) continue;
        lastRaw.set(p.s, { t: p.t, v: p.v });
        let v: number | null = p.v;
        if (query.rate) {
          const r = nextRate(prev, { t: p.t, v: p.v });
          if (r === undefined) continue;
          v = r;
        }
        const list = bySeries.get(p.s);
        if (list) list.push({ t: p.t, v });
        else bySeries.set(p.s, [{ t: p.t, v }]);
      }
      const changes = rows.addBatch(bySeries);
      rows.prune(Date.now() - 10 * 60_000 - 100 * stepMs);
      if (changes.insert.length === 0 && changes.remove.length === 0) return true;
      return opts.deliver(changes, resumeFrom, { points: points.length, oldest, newest, ...timing, hubAt, aggregatedAt: Date.now() });
    },
  });
  return { seriesCount: series.length, groups: rows.groupNames(), stop: unsubscribe };
}

/**
 * The aggregates of a dashboard's live-computable widgets (aggregated Vega charts, not
 * `last`; at most MAX_STREAM_AGGREGATES): one subscription each, from a little before the
 * history's last complete step, so live rows replace and continue it. A top/bottom N is
 * ranked once, over the window, like its history; only those groups are computed.
 * Returns the widget ids carried and a function that stops them all.
 */
export async function subscribeDashboardAggregates(
  hub: LiveHub,
  db: Knex,
  pool: Queryable,
  opts: { dashboardId: number; windowMs: number; deliver: (widgetId: number, changes: AggregateChanges, trace: AggregateTrace) => boolean },
): Promise<{ widgetIds: number[]; stop: () => void }> {
  const widgets = (await listWidgets(db, opts.dashboardId)).filter((w) => isServerAggregated(w) && isVegaChart(w.chart) && liveComputable(widgetQuery(w))).slice(0, MAX_STREAM_AGGREGATES);
  const stepMs = aggregateStepMs(opts.windowMs);
  const since = Date.now() - LIVE_COMPLETE_LAG_MS - 3 * stepMs;
  const subs: AggregateSubscription[] = [];
  const stop = () => subs.forEach((s) => s.stop());
  try {
    for (const w of widgets) {
      const query = widgetQuery(w);
      let onlyGroups: string[] | undefined;
      if (query.top !== undefined || query.bottom !== undefined) {
        const now = Date.now();
        const ranked = await queryFleet(pool, { ...query, from: now - opts.windowMs, to: now, widthPx: LIVE_WIDTH_PX });
        onlyGroups = ranked.groups.map((g) => groupLabel(g.key, ranked.groupBy));
      }
      subs.push(await subscribeAggregate(hub, pool, { query, stepMs, since, onlyGroups, deliver: (changes, _resumeFrom, trace) => opts.deliver(w.id, changes, trace) }));
    }
  } catch (err) {
    stop();
    throw err;
  }
  return { widgetIds: widgets.map((w) => w.id), stop };
}
