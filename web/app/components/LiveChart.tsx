/**
 * A chart of one widget: loads its history from /api/series (one request for
 * all of its series), draws it with vega-embed, then appends the page's live
 * stream points with view.change — the chart is never re-rendered; points
 * leaving the window are removed; gaps break the line.
 */
import { useEffect, useRef, useState } from 'react';
import { ALERTS_DATASET, BRUSH_PARAM, OUTAGE_DATASET, POINTS_DATASET, X_FROM, X_TO, timeSeriesSpec, type ChartAlertMarker, type ChartKind } from '../lib/chart-spec';
import { seriesStats, type SeriesStats } from '../lib/series-stats';
import { formatValue } from '../lib/format';
import { WidgetRows, bucketMs, gapThreshold, mergeChanges, type Aggregate, type GroupBy, type Row, type WidgetSeries } from '../lib/widget-data';
import { nextRate } from '../../../query/rate';
import { useLiveStream, type LivePoint } from './LiveStream';
import { LIVE_COMPLETE_LAG_MS, LIVE_WIDTH_PX, fleetRows, type AggregateChanges, type WidgetQuery } from '../lib/widget-query';
import type { FleetResult } from '../../../query/fleet-query';
import { useTimeZone } from './TimeZone';
import { alertMarkerKey, mergeAlertMarkers } from '../lib/alert-markers';

/** What a chart shows. */
export interface ChartDefinition {
  title?: string;
  series: WidgetSeries[];
  rate?: boolean;
  scale?: number;
  aggregate?: Aggregate;
  groupBy?: GroupBy;
  kind?: ChartKind;
  unit?: string;
  height?: number;
  /** An aggregated widget's fleet query: its lines are computed on the server (POST /api/query), not from `series`. */
  query?: WidgetQuery;
  /** The widget's id when the page's stream carries its live aggregates (else a live chart re-asks /api/query). */
  aggregateId?: number;
}

interface Props extends ChartDefinition {
  /** Window start and end (ms); `live` charts slide it with the clock. */
  from: number;
  to: number;
  live: boolean;
  testId?: string;
  /** An ongoing outage: drawn as an open gap from `since` to now, labelled. */
  outage?: { since?: number; label: string };
  /** The chart's accessible name when it has no title of its own (the page heading names it). */
  label?: string;
  /** Called with the time interval dragged across the chart (ms): the page makes it its range. */
  onZoom?: (from: number, to: number) => void;
  /** Alert transitions to mark on the chart (from the page's loader); undefined: no marker layer. */
  markers?: ChartAlertMarker[];
  /** With `markers`: the devices whose markers the page's live stream brings to this chart (ADR 226). */
  markerDevices?: string[];
}

/** Whether a drawn view has a signal of this name (Vega throws when asked for an unknown one). */
function hasSignal(view: { signal(name: string): unknown }, name: string): boolean {
  try {
    view.signal(name);
    return true;
  } catch {
    return false;
  }
}

/** The stream or chart state in words for the line under a chart. */
function statusWords(status: string, newest: number | undefined): string {
  const age = newest ? `, newest point ${Math.max(0, Math.round((Date.now() - newest) / 1000))} s ago` : '';
  switch (status) {
    case 'live':
      return `Live${age}`;
    case 'loading':
      return 'Loading history…';
    case 'history':
      return 'History (not live)';
    case 'no stream':
    case 'idle':
      return 'History; live updates are not connected';
    case 'connecting':
      return 'Connecting to live updates…';
    case 'reconnecting':
      return 'Live updates interrupted; reconnecting…';
    case 'no data':
      return 'No data in this range';
    default:
      return status.charAt(0).toUpperCase() + status.slice(1);
  }
}

interface HistoryResponse {
  series: Record<string, { points: Array<{ t: number; v: number | null }>; last?: { t: number; v: number } | null }>;
}

export function LiveChart({ series, rate = false, scale = 1, aggregate = 'none', groupBy = 'series', kind = 'line', unit, title, height, from, to, live, testId = 'live-chart', outage, label, onZoom, query, aggregateId, markers, markerDevices }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const stream = useLiveStream();
  const timeZone = useTimeZone();
  const [status, setStatus] = useState('loading');
  const [count, setCount] = useState(0);
  const [newest, setNewest] = useState<number | undefined>(undefined);
  /** The legend table's figures, from the rows the chart shows. */
  const [stats, setStats] = useState<SeriesStats[]>([]);
  /** The drawn view's outage dataset, updated apart from the chart (which is never re-embedded). */
  const outageView = useRef<{ set: (rows: Array<{ from: number; to: number; label: string }>) => void } | null>(null);
  const outageBand = kind !== 'stat' && outage !== undefined;
  /** The drawn view's alert markers, replaced when the page's data bring new ones. */
  const markersView = useRef<{ set: (rows: ChartAlertMarker[]) => void } | null>(null);
  const alertMarkers = kind !== 'stat' && markers !== undefined;
  const zoomTo = useRef(onZoom);
  zoomTo.current = onZoom;
  const description = `${title ?? label ?? 'Chart'}${unit ? ` in ${unit}` : ''}: ${query ? 'computed on the server' : `${series.length} series`}`;
  const ids = series.map((s) => s.id).join(',');
  const queryKey = query ? JSON.stringify(query) : '';
  const windowMs = to - from;
  /** The widget's history as JSON: what the chart loads, and what the no-JavaScript note links. */
  const historyUrl = `/api/series?series=${ids}&from=${Math.floor(from)}&to=${Math.ceil(to)}&rate=${rate ? 1 : 0}`;

  useEffect(() => {
    let disposed = false;
    let finalize: (() => void) | undefined;
    let unsubscribe: (() => void) | undefined;
    let pruneTimer: ReturnType<typeof setInterval> | undefined;
    let slideTimer: ReturnType<typeof setInterval> | undefined;
    let statsTimer: ReturnType<typeof setTimeout> | undefined;
    (async () => {
      if (!query && series.length === 0) {
        setStatus('no data');
        return;
      }
      const [{ default: embed }, vega] = await Promise.all([import('vega-embed'), import('vega')]);
      const failed = async (res: Response, what: string) => {
        // Budgets (422 over the points budget, 429 too many at once) say what to do instead.
        const why = (await res.json().catch(() => null)) as { error?: string } | null;
        return new Error(`${what}: ${why?.error ?? res.status}`);
      };
      // An aggregated widget: the server combines its series (fleet query); the browser draws the groups.
      // Charts fed live aggregates ask at the width the server computes them for: the same steps.
      const streamed = aggregateId !== undefined && Boolean(stream?.aggregating);
      const widthPx = streamed ? LIVE_WIDTH_PX : Math.max(100, Math.min(4000, Math.round(ref.current?.clientWidth || 600)));
      const askFleet = async (a: number, b: number): Promise<FleetResult> => {
        const res = await fetch('/api/query', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...query, from: Math.floor(a), to: Math.ceil(b), widthPx }),
        });
        if (!res.ok) throw await failed(res, 'query');
        return (await res.json()) as FleetResult;
      };
      let rows: WidgetRows | undefined;
      let names: string[] = [];
      const initial: Row[] = [];
      // Raw values of the newest stored sample per series: live rates continue from them.
      const lastRaw = new Map<number, { t: number; v: number | null }>();
      let fleetStepMs = 0;
      /** Steps before this came complete with the history; live aggregates continue after it. */
      let historyCut = 0;
      if (query) {
        const answer = await askFleet(from, to);
        fleetStepMs = answer.bucketMs;
        historyCut = Date.now() - LIVE_COMPLETE_LAG_MS;
        initial.push(...fleetRows(answer, scale, historyCut));
        names = [...new Set(initial.map((r) => r.series))];
        if (names.length === 0) names = answer.groups.map((g) => g.key);
      } else {
        const res = await fetch(historyUrl);
        if (!res.ok) throw await failed(res, 'history');
        const body = (await res.json()) as HistoryResponse;
        const maxGapMs = Math.max(gapThreshold(Object.values(body.series)[0]?.points ?? []), 5000);
        rows = new WidgetRows(series, { aggregate, groupBy, bucketMs: aggregate === 'none' && groupBy === 'series' ? 1 : bucketMs(windowMs), maxGapMs, scale });
        const historyChanges = [];
        for (const s of series) {
          const h = body.series[String(s.id)];
          if (!h) continue;
          historyChanges.push(rows.add(s.id, h.points));
          if (h.last) lastRaw.set(s.id, h.last);
          else if (!rate && h.points.length) lastRaw.set(s.id, h.points[h.points.length - 1]);
        }
        initial.push(...mergeChanges(historyChanges).insert);
        names = rows.groupNames();
      }
      if (disposed || !ref.current) return;
      const result = await embed(ref.current, timeSeriesSpec({ kind, unit, title, height, domain: [from, to], windowMs, widthPx: ref.current.clientWidth, description, outageBand, alertMarkers, timeZone, seriesNames: kind === 'stat' ? undefined : names }), {
        actions: false,
        renderer: 'svg',
      });
      if (disposed) {
        result.finalize();
        return;
      }
      finalize = () => result.finalize();
      const view = result.view;
      // Vega labels its root group, not the SVG element screen readers meet first: name the SVG itself.
      const svg = ref.current.querySelector('svg');
      svg?.setAttribute('role', 'img');
      svg?.setAttribute('aria-label', description);
      // Drag to zoom: the brush's interval, handed to the page when the pointer is released.
      let dragged: [number, number] | undefined;
      // Only charts with a crosshair (series names known) have the brush.
      if (kind !== 'stat' && names.length > 0 && hasSignal(view, BRUSH_PARAM)) {
        view.addSignalListener(BRUSH_PARAM, (_name: string, value: unknown) => {
          const x = (value as { t?: unknown[] } | null)?.t;
          dragged = Array.isArray(x) && x.length === 2 ? [Number(x[0]), Number(x[1])] : undefined;
        });
        const release = () => {
          const range = dragged;
          dragged = undefined;
          if (range && range[1] - range[0] >= 1000) zoomTo.current?.(Math.min(...range), Math.max(...range));
        };
        window.addEventListener('pointerup', release);
        const previous = finalize;
        finalize = () => {
          window.removeEventListener('pointerup', release);
          previous?.();
        };
      }
      view.change(POINTS_DATASET, vega.changeset().insert(initial)).run();
      // The legend table: last, min, max, mean of what is drawn in the window (at most once a second).
      const shownWindow = (): [number, number] => (live ? [Date.now() - windowMs, Date.now()] : [from, to]);
      const updateStats = () => {
        statsTimer = undefined;
        if (disposed || kind === 'stat') return;
        const [a, b] = shownWindow();
        setStats(seriesStats(view.data(POINTS_DATASET) as Row[], a, b));
      };
      updateStats();
      const statsSoon = () => {
        if (statsTimer === undefined) statsTimer = setTimeout(updateStats, 1000);
      };
      if (alertMarkers) {
        markersView.current = { set: (rows) => view.change(ALERTS_DATASET, vega.changeset().remove(() => true).insert(rows.map((m) => ({ ...m })))).run() };
        drawMarkers.current();
      }
      if (outageBand) {
        outageView.current = { set: (rows) => view.change(OUTAGE_DATASET, vega.changeset().remove(() => true).insert(rows)).run() };
        drawOutage.current();
      }
      let total = initial.filter((r) => r.v !== null).length;
      setCount(total);
      const newestOf = (rs: Row[]) => rs.reduce((m, r) => (r.v !== null && r.t > m ? r.t : m), 0) || undefined;
      setNewest(newestOf(initial));
      if (!live || (!stream && !query)) {
        setStatus(live ? 'no stream' : 'history');
        return;
      }
      setStatus('live');
      // A live chart shows the selected window, not just the data received: it slides with the clock.
      // (A single stat has no time axis to slide.)
      const slides = hasSignal(view, X_FROM);
      const slide = () => {
        const now = Date.now();
        if (slides) view.signal(X_FROM, now - windowMs).signal(X_TO, now).run();
        statsSoon();
      };
      slide();
      slideTimer = setInterval(slide, Math.max(1000, Math.round(windowMs / 600)));
      if (query && streamed) {
        // The server computes this widget's new steps from the live feed; replace a step it sends again.
        const onAggregates = (changes: AggregateChanges) => {
          const insert = changes.insert.filter((r) => r.t >= historyCut && (names.length === 0 || names.includes(r.series))).map((r) => ({ ...r, v: r.v === null ? null : r.v * scale }));
          const replaced = new Set([...changes.remove, ...insert].map((r) => `${r.series}|${r.t}`));
          if (insert.length === 0 && changes.remove.length === 0) return;
          const cutoff = Date.now() - windowMs;
          view.change(POINTS_DATASET, vega.changeset().remove((d: Row) => d.t < cutoff || (d.t >= historyCut && replaced.has(`${d.series}|${d.t}`))).insert(insert)).run();
          statsSoon();
          total = (view.data(POINTS_DATASET) as Row[]).filter((r) => r.v !== null).length;
          setCount(total);
          setNewest((n) => Math.max(n ?? 0, newestOf(insert) ?? 0) || undefined);
        };
        unsubscribe = stream!.subscribeAggregate(aggregateId!, onAggregates);
        return;
      }
      if (query) {
        // The server recomputes the window's aggregates; the chart takes the new answer whole.
        let asking = false;
        pruneTimer = setInterval(() => {
          if (asking) return;
          asking = true;
          const now = Date.now();
          askFleet(now - windowMs, now)
            .then((answer) => {
              if (disposed) return;
              const fresh = fleetRows(answer, scale, Date.now() - LIVE_COMPLETE_LAG_MS);
              view.change(POINTS_DATASET, vega.changeset().remove(() => true).insert(fresh)).run();
              statsSoon();
              total = fresh.filter((r) => r.v !== null).length;
              setCount(total);
              setNewest(newestOf(fresh));
              setStatus('live');
            })
            .catch((err: Error) => setStatus(`error: ${err.message}`))
            .finally(() => {
              asking = false;
            });
        }, Math.max(5000, fleetStepMs));
        return;
      }
      const liveRows = rows!;
      const onPoints = (points: LivePoint[]) => {
        const bySeries = new Map<number, Array<{ t: number; v: number | null }>>();
        for (const p of points) {
          const prev = lastRaw.get(p.s);
          if (prev && p.t <= prev.t) continue; // already drawn (history overlap or replay after reconnect)
          lastRaw.set(p.s, { t: p.t, v: p.v });
          let v: number | null = p.v;
          if (rate) {
            const r = nextRate(prev, { t: p.t, v: p.v });
            if (r === undefined) continue;
            v = r;
          }
          const list = bySeries.get(p.s) ?? [];
          list.push({ t: p.t, v });
          bySeries.set(p.s, list);
        }
        const merged = mergeChanges([...bySeries].map(([id, pts]) => liveRows.add(id, pts)));
        const insert = merged.insert;
        const remove = new Set(merged.remove.map((r) => `${r.series}|${r.t}`));
        // (a partial bucket may come off the chart with nothing inserted: widget-data.ts)
        if (insert.length === 0 && remove.size === 0) return;
        const cutoff = Date.now() - windowMs;
        view
          .change(
            POINTS_DATASET,
            vega
              .changeset()
              .remove((d: Row) => d.t < cutoff || (remove.size > 0 && d.v !== null && remove.has(`${d.series}|${d.t}`)))
              .insert(insert),
          )
          .run();
        statsSoon();
        total += insert.filter((r) => r.v !== null).length - remove.size;
        setCount(total);
        setNewest((n) => Math.max(n ?? 0, newestOf(insert) ?? 0) || undefined);
      };
      unsubscribe = stream!.subscribe(
        series.map((s) => s.id),
        onPoints,
      );
      pruneTimer = setInterval(() => liveRows.prune(Date.now() - windowMs), 60_000);
    })().catch((err: Error) => setStatus(`error: ${err.message}`));
    return () => {
      disposed = true;
      outageView.current = null;
      markersView.current = null;
      unsubscribe?.();
      if (pruneTimer) clearInterval(pruneTimer);
      if (slideTimer) clearInterval(slideTimer);
      if (statsTimer) clearTimeout(statsTimer);
      finalize?.();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ids, queryKey, aggregateId, stream?.aggregating, rate, scale, aggregate, groupBy, kind, unit, from, to, live, stream?.subscribe, outageBand, alertMarkers, timeZone]);

  // The open gap follows the clock (and ends when the page learns the device is back).
  const drawOutage = useRef(() => {});
  drawOutage.current = () => outageView.current?.set(outage?.since ? [{ from: outage.since, to: Date.now(), label: outage.label }] : []);
  useEffect(() => {
    drawOutage.current();
    if (!outage) return;
    const t = setInterval(() => drawOutage.current(), 5000);
    return () => clearInterval(t);
  }, [outage?.since, outage?.label]);

  // Markers come with the page's data (loader), and live from the page's stream when it follows the chart's devices.
  const [liveMarkers, setLiveMarkers] = useState<ChartAlertMarker[]>([]);
  const subscribeMarkers = alertMarkers && markerDevices?.length ? stream?.subscribeMarkers : undefined;
  useEffect(() => subscribeMarkers?.(setLiveMarkers), [subscribeMarkers]);
  const shownMarkers = markers ? mergeAlertMarkers(markers, liveMarkers, markerDevices) : [];
  const markersKey = shownMarkers.map(alertMarkerKey).join(',');
  const drawMarkers = useRef(() => {});
  drawMarkers.current = () => markersView.current?.set(shownMarkers);
  // A block, not an expression: the view that set() returns must not become the effect's cleanup
  // (React would call it when the markers change: "is not a function", the page's error boundary).
  useEffect(() => {
    drawMarkers.current();
  }, [markersKey]);

  // Tick so "newest point N s ago" stays true between points.
  const [, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, []);

  const streamStatus = live && stream && status === 'live' && (!query || (aggregateId !== undefined && stream.aggregating)) ? stream.status : status;
  return (
    <div className="chart-wrap">
      <div ref={ref} className={`chart chart-${kind}`} data-testid={testId} data-point-count={count} data-status={status} data-alert-markers={markers ? shownMarkers.length : undefined} />
      {stats.length > 0 && (
        <table className="legend-table small" data-testid={`${testId}-legend`}>
          <thead>
            <tr>
              <th scope="col">Series</th>
              <th scope="col">Last</th>
              <th scope="col">Min</th>
              <th scope="col">Max</th>
              <th scope="col">Mean</th>
            </tr>
          </thead>
          <tbody>
            {stats.map((s) => (
              <tr key={s.series} data-series={s.series}>
                <th scope="row">{s.series}</th>
                <td>{formatValue(s.last, unit)}</td>
                <td>{formatValue(s.min, unit)}</td>
                <td>{formatValue(s.max, unit)}</td>
                <td>{formatValue(s.mean, unit)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted small" data-testid={`${testId}-status`}>
        {statusWords(streamStatus, newest)}
      </p>
      {/* Everything else works from the server's HTML; charts are drawn by the browser. */}
      <noscript>
        <p className="muted small" data-testid={`${testId}-noscript`}>
          Charts are drawn with JavaScript, which is off. The data as JSON:{' '}
          <a href={historyUrl}>/api/series</a>.
        </p>
      </noscript>
    </div>
  );
}
