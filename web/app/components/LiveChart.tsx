/**
 * A live time-series chart: loads history from /api/series, then appends live
 * points from /api/live (server-sent events) with view.change — the chart is
 * never re-rendered, and points leaving the window are removed.
 */
import { useEffect, useRef, useState } from 'react';
import { POINTS_DATASET, timeSeriesSpec, type TimeSeriesOptions } from '../lib/chart-spec';

/** One series in the chart. */
export interface ChartSeries {
  id: number;
  label: string;
}

interface Props extends TimeSeriesOptions {
  series: ChartSeries[];
  /** Show per-second rates of counters. */
  rate?: boolean;
  /** Multiply values (8 turns octets into bits). */
  scale?: number;
  windowMs?: number;
}

interface Row {
  t: number;
  v: number | null;
  series: string;
}

export function LiveChart({ series, rate = false, scale = 1, windowMs = 10 * 60_000, ...spec }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState('loading');
  const [count, setCount] = useState(0);
  const key = series.map((s) => s.id).join(',');

  useEffect(() => {
    let disposed = false;
    let source: EventSource | undefined;
    let finalize: (() => void) | undefined;
    (async () => {
      const [{ default: embed }, vega] = await Promise.all([import('vega-embed'), import('vega')]);
      const now = Date.now();
      const labels = new Map(series.map((s) => [s.id, s.label]));
      const last = new Map<number, { t: number; v: number }>();
      let since = now - windowMs;
      const rows: Row[] = [];
      for (const s of series) {
        const res = await fetch(`/api/series?series=${s.id}&from=${now - windowMs}&to=${now}&rate=${rate ? 1 : 0}`);
        if (!res.ok) throw new Error(`history: ${res.status}`);
        const body = (await res.json()) as { points: Array<{ t: number; v: number | null }>; last?: { t: number; v: number } };
        for (const p of body.points) rows.push({ t: p.t, v: p.v === null ? null : p.v * scale, series: s.label });
        if (body.last) {
          last.set(s.id, body.last);
          since = Math.max(since, body.last.t);
        }
      }
      if (disposed || !ref.current) return;
      const result = await embed(ref.current, timeSeriesSpec(spec), { actions: false, renderer: 'svg' });
      finalize = () => result.finalize();
      const view = result.view;
      view.change(POINTS_DATASET, vega.changeset().insert(rows)).run();
      let total = rows.length;
      setCount(total);
      setStatus('live');
      // Resume from the newest point we have: the server backfills anything newer.
      const minSince = Math.min(...series.map((s) => last.get(s.id)?.t ?? since));
      source = new EventSource(`/api/live?series=${key}&since=${Math.floor(minSince)}`);
      source.onopen = () => setStatus('live');
      source.onerror = () => setStatus('reconnecting');
      source.onmessage = (ev) => {
        const msg = JSON.parse(ev.data) as { points: Array<{ s: number; t: number; v: number }> };
        const insert: Row[] = [];
        for (const p of msg.points) {
          const label = labels.get(p.s);
          if (!label) continue;
          const prev = last.get(p.s);
          if (prev && p.t <= prev.t) continue;
          last.set(p.s, { t: p.t, v: p.v });
          if (!rate) insert.push({ t: p.t, v: p.v * scale, series: label });
          else if (prev) {
            const dt = p.t - prev.t;
            insert.push({ t: p.t, v: p.v < prev.v ? null : (((p.v - prev.v) * 1000) / dt) * scale, series: label });
          }
        }
        if (insert.length === 0) return;
        const cutoff = Date.now() - windowMs;
        view
          .change(
            POINTS_DATASET,
            vega
              .changeset()
              .insert(insert)
              .remove((d: Row) => d.t < cutoff),
          )
          .run();
        total += insert.length;
        setCount(total);
      };
    })().catch((err: Error) => setStatus(`error: ${err.message}`));
    return () => {
      disposed = true;
      source?.close();
      finalize?.();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, rate, scale, windowMs]);

  return (
    <div>
      <div ref={ref} className="chart" data-testid="live-chart" data-point-count={count} data-status={status} />
      <p className="muted" data-testid="chart-status">
        {status} · {count} points received
      </p>
    </div>
  );
}
