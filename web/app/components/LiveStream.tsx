/**
 * One EventSource per page for every series its charts show. Charts
 * subscribe by series id; points that arrive before a chart has loaded its
 * history are kept (bounded) and replayed to it, so history and live data
 * join without a hole. EventSource resends Last-Event-ID on reconnect and the
 * server replays what was missed; charts drop points they already have.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

/** A live sample: series id, time (ms), value. */
export interface LivePoint {
  s: number;
  t: number;
  v: number;
}

type Handler = (points: LivePoint[]) => void;

interface LiveStreamApi {
  /** Receive points of these series (buffered ones first); returns unsubscribe. */
  subscribe(ids: number[], handler: Handler): () => void;
  status: string;
  live: boolean;
}

const Ctx = createContext<LiveStreamApi | null>(null);

/** Most points kept per series for charts that are still loading. */
const BUFFER_PER_SERIES = 5000;

/** Provide one live stream for `seriesIds` (no stream when `live` is false). */
export function LiveStreamProvider({ seriesIds, live = true, children }: { seriesIds: number[]; live?: boolean; children: ReactNode }) {
  const key = [...new Set(seriesIds)].sort((a, b) => a - b).join(',');
  const [status, setStatus] = useState(live ? 'connecting' : 'paused');
  const handlers = useRef(new Map<Handler, Set<number>>());
  const buffer = useRef(new Map<number, LivePoint[]>());

  useEffect(() => {
    buffer.current = new Map();
    if (!live || key === '') {
      setStatus(live ? 'idle' : 'paused');
      return;
    }
    // Start a little in the past: history requests race the stream, and overlaps are dropped by time.
    const since = Date.now() - 5000;
    const source = new EventSource(`/api/live?series=${key}&since=${since}`);
    setStatus('connecting');
    source.onopen = () => setStatus('live');
    source.onerror = () => setStatus('reconnecting');
    source.onmessage = (ev) => {
      const { points } = JSON.parse(ev.data) as { points: LivePoint[] };
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
    return () => source.close();
  }, [key, live]);

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
  const api = useMemo<LiveStreamApi>(() => ({ status, live, subscribe }), [status, live, subscribe]);
  return <Ctx.Provider value={api}>{children}</Ctx.Provider>;
}

/** The page's live stream (null outside a provider). */
export function useLiveStream(): LiveStreamApi | null {
  return useContext(Ctx);
}
