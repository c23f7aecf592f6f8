/**
 * One EventSource per page for every series its charts show. Charts
 * subscribe by series id; points that arrive before a chart has loaded its
 * history are kept (bounded) and replayed to it, so history and live data
 * join without a hole. EventSource resends Last-Event-ID on reconnect and the
 * server replays what was missed; charts drop points they already have.
 * When the server refuses the stream (429: too many streams; or any error
 * answer), EventSource gives up for good; the provider then opens it again
 * after a growing, jittered delay (5 s doubling to 2 min) instead of hammering.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { AggregateChanges } from '../lib/widget-query';
import type { ChartAlertMarker } from '../lib/chart-spec';

/** A live sample: series id, time (ms), value. */
export interface LivePoint {
  s: number;
  t: number;
  v: number;
}

type Handler = (points: LivePoint[]) => void;
type AggregateHandler = (changes: AggregateChanges) => void;
/** A live alert marker: where an instance of `instance` (a device's name) fired or resolved. */
export type LiveAlertMarker = ChartAlertMarker;
type MarkersHandler = (markers: LiveAlertMarker[]) => void;

interface LiveStreamApi {
  /** Receive points of these series (buffered ones first); returns unsubscribe. */
  subscribe(ids: number[], handler: Handler): () => void;
  /** Receive the aggregated rows the server computes for a widget of the dashboard (buffered ones first); returns unsubscribe. */
  subscribeAggregate(widgetId: number, handler: AggregateHandler): () => void;
  /** Receive the followed devices' alert markers, the whole list each time (the latest one first); returns unsubscribe. */
  subscribeMarkers(handler: MarkersHandler): () => void;
  /** Whether the stream carries the dashboard's aggregated widgets. */
  aggregating: boolean;
  status: string;
  live: boolean;
}

const Ctx = createContext<LiveStreamApi | null>(null);

/** Most points kept per series for charts that are still loading. */
const BUFFER_PER_SERIES = 5000;

/** Delay before the n-th re-open (n from 0) after the server refused the stream: 5 s doubling to 2 min, ±25 %. */
export function refusedStreamDelayMs(n: number, random = Math.random): number {
  const base = Math.min(120_000, 5000 * 2 ** n);
  return Math.round(base * (0.75 + 0.5 * random()));
}

/** Most aggregate batches kept per widget for charts that are still loading. */
const BUFFER_PER_AGGREGATE = 500;

/**
 * Provide one live stream for `seriesIds` (no stream when `live` is false) and, with
 * `aggregates`, the dashboard's aggregated widgets computed on the server (issue 17).
 */
export function LiveStreamProvider({
  seriesIds,
  live = true,
  aggregates,
  alerts,
  children,
}: {
  seriesIds: number[];
  live?: boolean;
  aggregates?: { dashboardId: number; windowMs: number };
  /** Also these devices' alert markers over the last `windowMs`, live (ADR 226). */
  alerts?: { devices: string[]; windowMs: number };
  children: ReactNode;
}) {
  const key = [...new Set(seriesIds)].sort((a, b) => a - b).join(',');
  const aggregateKey = aggregates ? `&dashboard=${aggregates.dashboardId}&window=${Math.round(aggregates.windowMs)}` : '';
  // Markers start at the window's start when the stream opens (not part of the key: the window slides).
  const alertDevices = alerts && alerts.devices.length > 0 ? JSON.stringify([...new Set(alerts.devices)].sort()) : '';
  const alertsWindowMs = useRef(alerts?.windowMs ?? 0);
  alertsWindowMs.current = alerts?.windowMs ?? 0;
  const markersHandlers = useRef(new Set<MarkersHandler>());
  const latestMarkers = useRef<LiveAlertMarker[] | null>(null);
  const aggregateHandlers = useRef(new Map<AggregateHandler, number>());
  const aggregateBuffer = useRef(new Map<number, AggregateChanges[]>());
  const [status, setStatus] = useState(live ? 'connecting' : 'paused');
  const handlers = useRef(new Map<Handler, Set<number>>());
  const buffer = useRef(new Map<number, LivePoint[]>());

  useEffect(() => {
    buffer.current = new Map();
    aggregateBuffer.current = new Map();
    latestMarkers.current = null;
    if (!live || (key === '' && aggregateKey === '' && alertDevices === '')) {
      setStatus(live ? 'idle' : 'paused');
      return;
    }
    let source: EventSource | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let refusals = 0;
    let stopped = false;
    let resumeFrom = 0; // the last event id: a re-opened stream continues from it (the server replays ≤ 5 min)
    const open = () => {
      // Start a little in the past: history requests race the stream, and overlaps are dropped by time.
      const since = resumeFrom > 0 ? resumeFrom : Date.now() - 5000;
      const alertsKey = alertDevices ? `&alerts=${encodeURIComponent(alertDevices)}&alertsFrom=${Date.now() - alertsWindowMs.current}` : '';
      const es = new EventSource(`/api/live?${key ? `series=${key}&` : ''}since=${since}${aggregateKey}${alertsKey}`);
      source = es;
      setStatus('connecting');
      es.onopen = () => {
        refusals = 0;
        setStatus('live');
      };
      es.onerror = () => {
        if (es.readyState !== EventSource.CLOSED) return setStatus('reconnecting'); // the browser retries by itself
        // Refused (429 too many streams, 401, 5xx): the browser will not retry; back off and open again.
        es.close();
        if (stopped) return;
        const delay = refusedStreamDelayMs(refusals++);
        setStatus(`refused by the server (too many live streams?); retrying in ${Math.round(delay / 1000)} s`);
        retryTimer = setTimeout(open, delay);
      };
      es.onmessage = (ev) => {
        if (Number(ev.lastEventId) > 0) resumeFrom = Number(ev.lastEventId);
        const { points = [], aggregates: computed = [], markers } = JSON.parse(ev.data) as { points?: LivePoint[]; aggregates?: Array<AggregateChanges & { w: number }>; markers?: LiveAlertMarker[] };
        if (markers) {
          latestMarkers.current = markers;
          for (const handler of markersHandlers.current) handler(markers);
        }
        for (const { w, ...changes } of computed) {
          const list = aggregateBuffer.current.get(w) ?? [];
          list.push(changes);
          if (list.length > BUFFER_PER_AGGREGATE) list.splice(0, list.length - BUFFER_PER_AGGREGATE);
          aggregateBuffer.current.set(w, list);
          for (const [handler, id] of aggregateHandlers.current) if (id === w) handler(changes);
        }
        if (points.length === 0) return;
        for (const p of points) {
          const list = buffer.current.get(p.s) ?? [];
          list.push(p);
          if (list.length > BUFFER_PER_SERIES) list.splice(0, list.length - BUFFER_PER_SERIES);
          buffer.current.set(p.s, list);
        }
        for (const [handler, ids] of handlers.current) {
          const mine = points.filter((p) => ids.has(p.s));
          if (mine.length) handler(mine);
        }
      };
    };
    open();
    return () => {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      source?.close();
    };
  }, [key, aggregateKey, alertDevices, live]);

  // Stable across status changes, so charts do not reload when the connection state flips.
  const subscribe = useCallback((ids: number[], handler: Handler) => {
    const set = new Set(ids);
    const replay: LivePoint[] = [];
    for (const id of set) replay.push(...(buffer.current.get(id) ?? []));
    replay.sort((a, b) => a.t - b.t);
    if (replay.length) handler(replay);
    handlers.current.set(handler, set);
    return () => {
      handlers.current.delete(handler);
    };
  }, []);
  const subscribeAggregate = useCallback((widgetId: number, handler: AggregateHandler) => {
    for (const changes of aggregateBuffer.current.get(widgetId) ?? []) handler(changes);
    aggregateHandlers.current.set(handler, widgetId);
    return () => {
      aggregateHandlers.current.delete(handler);
    };
  }, []);
  const subscribeMarkers = useCallback((handler: MarkersHandler) => {
    if (latestMarkers.current) handler(latestMarkers.current);
    markersHandlers.current.add(handler);
    return () => {
      markersHandlers.current.delete(handler);
    };
  }, []);
  const aggregating = aggregateKey !== '';
  const api = useMemo<LiveStreamApi>(
    () => ({ status, live, subscribe, subscribeAggregate, subscribeMarkers, aggregating }),
    [status, live, subscribe, subscribeAggregate, subscribeMarkers, aggregating],
  );
  return <Ctx.Provider value={api}>{children}</Ctx.Provider>;
}

/** The page's live stream (null outside a provider). */
export function useLiveStream(): LiveStreamApi | null {
  return useContext(Ctx);
}
