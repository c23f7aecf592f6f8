/**
 * A dashboard: a grid of widgets over one time window. Live dashboards open
 * ONE EventSource for every series of every widget; each chart first draws
 * its history and then continues it with live points, as one line. When not
 * live, the page can refresh itself on an interval.
 */
import { Link, data, useLoaderData, useNavigate, useRevalidator } from 'react-router';
import { useEffect } from 'react';
import type { Route } from './+types/dashboard';
import { requireUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { getDashboard, listWidgets } from '../../../storage/dashboards';
import { countTextSeries, resolveWidgetSeries, widgetCoverage } from '../lib/series.server';
import { statesInWindow } from '../../../storage/series-reads';
import { coverageWords } from '../lib/widget-data';
import { isCounterPath } from '../lib/path-pattern';
import { capSeries, resolveWindow, unitScale, type Aggregate, type GroupBy, type RangeKey } from '../lib/widget-data';
import { parseDuration } from '../lib/forms';
import { LiveChart } from '../components/LiveChart';
import { StatePanel, type StateSeries } from '../components/StatePanel';
import { LastValuesTable } from '../components/LastValuesTable';
import { lastValue, type LastValue } from '../lib/last-values';
import { isVegaChart } from '../lib/widget-form';
import { newestValues } from '../../../storage/newest-points';
import { numericChangesInWindow } from '../../../storage/value-changes';
import { LiveStreamProvider } from '../components/LiveStream';
import { RangeNav, RangePicker, customRangeSearch } from '../components/RangePicker';
import { LIVE_COMPLETE_LAG_MS, MAX_STREAM_AGGREGATES, fleetLastValues, isServerAggregated, liveComputable, widgetQuery, type WidgetQuery } from '../lib/widget-query';
import { queryFleet } from '../../../query/fleet-query';
import { overBudget } from '../lib/query-budget';

export function meta({ data }: Route.MetaArgs) {
  return [{ title: `${data?.dashboard.name ?? 'Dashboard'} · switch-telemetry` }];
}

export async function loader({ request, params }: Route.LoaderArgs) {
  const user = await requireUser(request);
  const { db, pool, config } = ctx();
  const dashboard = await getDashboard(db, Number(params.dashboardId));
  if (!dashboard) throw data('No such dashboard', { status: 404 });
  const url = new URL(request.url);
  const search = new URLSearchParams(url.search);
  const liveValues = search.getAll('live');
  search.set('live', liveValues.length === 0 ? (dashboard.live ? '1' : '0') : liveValues.includes('1') ? '1' : '0');
  const window = resolveWindow(search, (dashboard.time_range as RangeKey) ?? '1h');
  const refresh = search.get('refresh') ?? 'off';
  const widgets = await listWidgets(db, dashboard.id);
  const resolved = await Promise.all(
    widgets.map(async (w) => {
      try {
        const { series, truncated } = await resolveWidgetSeries(db, w.device_id, w.path);
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
        let lastValues: Array<LastValue & { id: number; label: string }> = [];
        // Aggregations, groupings and top/bottom N are computed on the server over every matching series (issue 17).
        const aggregated = isServerAggregated(w);
        const query: WidgetQuery | null = aggregated ? widgetQuery(w) : null;
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
        // A fleet widget says which devices (and models) it covers.
        const coverage = w.device_id === null ? coverageWords(await widgetCoverage(db, w.path, series.length === 0 && textSeries > 0 ? 'text' : 'number')) : null;
        // An aggregated widget's series never reach the browser: its stream carries none of them.
        const shown = query ? [] : series.map(({ id, label, deviceName }) => ({ id, label, deviceName }));
        return { ...w, series: shown, matched: series.length, query, truncated: query ? false : truncated, scale: unitScale(w.unit, w.path), problem: null as string | null, textSeries, states, lastValues, coverage };
      } catch (err) {
        return { ...w, series: [], matched: 0, query: null as WidgetQuery | null, truncated: false, scale: 1, problem: (err as Error).message, textSeries: 0, states: [] as StateSeries[], lastValues: [] as Array<LastValue & { id: number; label: string }>, coverage: null as string | null };
      }
    }),
  );
  return { dashboard, widgets: capSeries(resolved), window, refresh, canEdit: user.role === 'admin', now: Date.now() };
}

export default function Dashboard() {
  const { dashboard, widgets, window, refresh, canEdit, now } = useLoaderData<typeof loader>();
  const revalidator = useRevalidator();
  const navigate = useNavigate();
  const zoom = (from: number, to: number) => navigate(customRangeSearch(from, to));
  const refreshMs = parseDuration(refresh) ?? 0;
  // Server-rendered widgets (state timelines, tables) have no live stream: a live dashboard refreshes them every 10 s.
  const serverDrawn = widgets.some((w) => w.textSeries > 0 || !isVegaChart(w.chart));
  const every = window.live ? (serverDrawn ? 10_000 : 0) : refreshMs;
  useEffect(() => {
    if (every <= 0) return;
    const t = setInterval(() => revalidator.state === 'idle' && revalidator.revalidate(), every);
    return () => clearInterval(t);
  }, [every, revalidator]);
  const allIds = widgets.flatMap((w) => w.series.map((s) => s.id));
  // Aggregated charts the stream carries, computed in the web process (api.live, live-aggregates.server.ts); `last` is re-asked.
  const liveAggregated = widgets
    .filter((w) => w.query !== null && liveComputable(w.query) && isVegaChart(w.chart))
    .slice(0, MAX_STREAM_AGGREGATES)
    .map((w) => w.id);
  return (
    <section>
      <div className="page-head">
        <h1>{dashboard.name}</h1>
        {canEdit ? (
          <div className="actions">
            <Link to={`/dashboards/${dashboard.id}/widgets/new`} className="button">
              Add widget
            </Link>
            <Link to={`/dashboards/${dashboard.id}/edit`} className="button secondary">
              Edit dashboard
            </Link>
          </div>
        ) : null}
      </div>
      {dashboard.description ? <p className="muted">{dashboard.description}</p> : null}
      <RangePicker window={window} refresh={refresh} />
      <RangeNav window={window} now={window.to} />
      {widgets.length === 0 ? <p className="muted">This dashboard has no widgets yet.</p> : null}
      <LiveStreamProvider seriesIds={allIds} live={window.live} aggregates={liveAggregated.length > 0 ? { dashboardId: dashboard.id, windowMs: window.to - window.from } : undefined}>
        <div className="grid">
          {widgets.map((w) => (
            <div key={w.id} className={`card widget span-${w.width}`} data-testid={`widget-${w.id}`}>
              <div className="widget-head">
                <h2>{w.title}</h2>
                {canEdit ? (
                  <Link to={`/dashboards/${dashboard.id}/widgets/${w.id}`} className="small">
                    edit
                  </Link>
                ) : null}
              </div>
              {w.problem ? (
                <p className="error-text">{w.problem}</p>
              ) : w.matched === 0 && w.textSeries > 0 ? (
                <>
                  <p className="muted small" data-testid={`widget-text-${w.id}`}>
                    {w.path} matches {w.textSeries} text {w.textSeries === 1 ? 'leaf' : 'leaves'} (states such as oper-status), not numbers: shown as{' '}
                    {w.chart === 'state-timeline' ? 'a state timeline' : w.chart === 'table' ? 'a table of current states' : 'a state timeline and table'}
                    {w.states.length < w.textSeries ? ` (the first ${w.states.length})` : ''}.
                  </p>
                  <StatePanel
                    series={w.states}
                    from={window.from}
                    to={window.to}
                    now={now}
                    testId={`widget-states-${w.id}`}
                    show={w.chart === 'state-timeline' ? 'timeline' : w.chart === 'table' ? 'table' : 'both'}
                  />
                </>
              ) : w.matched === 0 ? (
                <p className="muted">No series match {w.path} yet.</p>
              ) : w.chart === 'state-timeline' ? (
                <StatePanel series={w.states} from={window.from} to={window.to} now={now} testId={`widget-states-${w.id}`} show="timeline" />
              ) : w.chart === 'table' ? (
                <>
                  {w.query ? (
                    <p className="muted small" data-testid={`widget-table-note-${w.id}`}>
                      {w.top_n ? `${w.top_order === 'bottom' ? 'Bottom' : 'Top'} ${w.top_n} by mean over the range, ` : ''}
                      {w.query.agg} of {w.matched}
                      {w.truncated ? '+' : ''} series{w.query.groupBy ? ` by ${w.query.groupBy}` : ''}, computed on the server.
                    </p>
                  ) : null}
                  <LastValuesTable rows={w.lastValues} unit={w.unit} rate={w.rate} now={now} testId={`widget-table-${w.id}`} />
                </>
              ) : (
                <LiveChart
                  series={w.series}
                  rate={w.rate}
                  scale={w.scale}
                  aggregate={w.aggregate as Aggregate}
                  groupBy={w.group_by as GroupBy}
                  query={w.query ?? undefined}
                  aggregateId={liveAggregated.includes(w.id) ? w.id : undefined}
                  kind={w.chart}
                  unit={w.unit}
                  height={w.chart === 'stat' ? 110 : 220}
                  from={window.from}
                  to={window.to}
                  live={window.live}
                  onZoom={zoom}
                  testId={`widget-chart-${w.id}`}
                />
              )}
              {!w.rate && isCounterPath(w.path) && w.matched > 0 ? (
                <p className="muted small" data-testid={`widget-raw-counter-${w.id}`}>
                  Raw counter: the running total since the device last reset it, not a rate. Edit the widget and tick “Rate per second” to chart it per second.
                </p>
              ) : null}
              {w.coverage ? (
                <p className="muted small" data-testid={`widget-coverage-${w.id}`}>
                  {w.coverage}
                </p>
              ) : null}
              {w.truncated ? <p className="muted small">Showing the first {w.series.length} matching series.</p> : null}
            </div>
          ))}
        </div>
      </LiveStreamProvider>
    </section>
  );
}
