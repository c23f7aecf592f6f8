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
import { alertMarkersForDevices } from '../../../storage/alerts';
import { resolveWidgetSeries, widgetCoverage } from '../lib/series.server';
import { widgetPanels, type LastValueRow } from '../lib/widget-panels.server';
import { coverageWords } from '../lib/widget-data';
import { isCounterPath } from '../lib/path-pattern';
import { capSeries, resolveWindow, unitScale, type Aggregate, type GroupBy, type RangeKey } from '../lib/widget-data';
import { parseDuration } from '../lib/forms';
import { LiveChart } from '../components/LiveChart';
import { StatePanel, type StateSeries } from '../components/StatePanel';
import { LastValuesTable } from '../components/LastValuesTable';
import { isVegaChart } from '../lib/widget-form';
import { LiveStreamProvider } from '../components/LiveStream';
import { RangeNav, RangePicker, customRangeSearch } from '../components/RangePicker';
import { MAX_STREAM_AGGREGATES, liveComputable, type WidgetQuery } from '../lib/widget-query';

export function meta({ data }: Route.MetaArgs) {
  return [{ title: `${data?.dashboard.name ?? 'Dashboard'} · switch-telemetry` }];
}

/** A chart over at most this many devices' series shows their alert markers. */
const MARKED_DEVICES_PER_CHART = 10;

export async function loader({ request, params }: Route.LoaderArgs) {
  const user = await requireUser(request);
  const { db } = ctx();
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
        // State panels, state timelines and tables are drawn here (web/app/lib/widget-panels.server.ts).
        const { textSeries, states, lastValues, query } = await widgetPanels(w, series, window);
        // A fleet widget says which devices (and models) it covers.
        const coverage = w.device_id === null ? coverageWords(await widgetCoverage(db, w.path, series.length === 0 && textSeries > 0 ? 'text' : 'number')) : null;
        // An aggregated widget's series never reach the browser: its stream carries none of them.
        const shown = query ? [] : series.map(({ id, label, deviceName }) => ({ id, label, deviceName }));
        return { ...w, series: shown, matched: series.length, query, truncated: query ? false : truncated, scale: unitScale(w.unit, w.path), problem: null as string | null, textSeries, states, lastValues, coverage };
      } catch (err) {
        return { ...w, series: [], matched: 0, query: null as WidgetQuery | null, truncated: false, scale: 1, problem: (err as Error).message, textSeries: 0, states: [] as StateSeries[], lastValues: [] as LastValueRow[], coverage: null as string | null };
      }
    }),
  );
  const capped = capSeries(resolved);
  // Alert markers on charts whose series belong to a few devices (a fleet-wide chart would be all markers).
  const devicesOf = (w: (typeof capped)[number]) => [...new Set(w.series.map((x) => x.deviceName))];
  const marked = capped.map((w) => (w.query || w.chart === 'stat' ? [] : devicesOf(w))).map((names) => (names.length <= MARKED_DEVICES_PER_CHART ? names : []));
  const markers = await alertMarkersForDevices(db, [...new Set(marked.flat())], window.from, window.to);
  const widgetsWithMarkers = capped.map((w, i) => ({ ...w, markers: markers.filter((m) => marked[i].includes(m.instance)), markerDevices: marked[i] }));
  return { dashboard, widgets: widgetsWithMarkers, window, refresh, canEdit: user.role === 'admin', now: Date.now() };
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
  // The devices whose alert markers charts show: the stream brings theirs live (ADR 226).
  const markedDevices = [...new Set(widgets.flatMap((w) => (w.query ? [] : w.markerDevices)))];
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
      <LiveStreamProvider
        seriesIds={allIds}
        live={window.live}
        aggregates={liveAggregated.length > 0 ? { dashboardId: dashboard.id, windowMs: window.to - window.from } : undefined}
        alerts={{ devices: markedDevices, windowMs: window.to - window.from }}
      >
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
                  markers={w.query ? undefined : w.markers}
                  markerDevices={w.query ? undefined : w.markerDevices}
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
