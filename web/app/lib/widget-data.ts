/**
 * From stored series to chart rows, for history and live points alike: scale
 * (octets → bits), gap breaks (null rows), and aggregation across series per
 * time bucket (sum, avg, max, min by device or over all). Pure and
 * incremental — LiveChart feeds it history first, then live points, and
 * applies the row changes it returns with view.change. Tested in test/unit.
 */
import { fromInputValue, isTimeZone } from './timezone';

/** Most series one live stream (so one dashboard) carries. */
export const MAX_STREAM_SERIES = 200;

/** Keep widgets within one stream's series budget: later widgets lose the series past it (and say so). */
export function capSeries<W extends { series: Array<{ id: number }>; truncated: boolean }>(widgets: W[], max = MAX_STREAM_SERIES): W[] {
  const used = new Set<number>();
  return widgets.map((w) => {
    const kept = w.series.filter((s) => {
      if (used.has(s.id)) return true;
      if (used.size >= max) return false;
      used.add(s.id);
      return true;
    });
    return kept.length === w.series.length ? w : { ...w, series: kept, truncated: true };
  });
}

/** A chart row (the Vega dataset `points`). */
export interface Row {
  t: number;
  v: number | null;
  series: string;
}

/** How a widget combines its series. */
export type Aggregate = 'none' | 'sum' | 'avg' | 'max' | 'min';
export type GroupBy = 'series' | 'device' | 'all';

/** A series a widget shows, as the server resolved it. */
export interface WidgetSeries {
  id: number;
  /** Legend label when not grouped. */
  label: string;
  deviceName: string;
}

/** Time-range choices of the picker. */
export const RANGES = { '15m': 15 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000 } as const;
export type RangeKey = keyof typeof RANGES;

/** A resolved time window: live windows follow now; fixed windows have an end. */
export interface TimeWindow {
  from: number;
  to: number;
  live: boolean;
  key: RangeKey | 'custom';
}

/**
 * The window of a dashboard URL: ?range=15m|1h|6h|24h|7d (live by default,
 * ?live=0 for a still picture) or ?range=custom&from=&to= (ISO or ms; never live).
 * The picker's datetime-local values ("2026-11-28T09:30") are read in the zone of
 * its `tz` field (the page's time zone), UTC without one.
 */
export function resolveWindow(params: URLSearchParams, fallback: RangeKey = '1h', now = Date.now()): TimeWindow {
  const key = params.get('range') ?? fallback;
  if (key === 'custom') {
    const tz = params.get('tz');
    const zone = tz && isTimeZone(tz) ? tz : 'UTC';
    const parse = (s: string | null) => {
      if (s === null || s === '') return NaN;
      if (/^\d+$/.test(s)) return Number(s);
      const local = fromInputValue(s, zone);
      return Number.isFinite(local) ? local : Date.parse(s);
    };
    let from = parse(params.get('from'));
    let to = parse(params.get('to'));
    if (!Number.isFinite(to) || to > now) to = now;
    if (!Number.isFinite(from) || from >= to) from = to - RANGES[fallback];
    return { from, to, live: false, key: 'custom' };
  }
  const k = (key in RANGES ? key : fallback) as RangeKey;
  return { from: now - RANGES[k], to: now, live: params.get('live') !== '0', key: k };
}

/**
 * Which devices a fleet widget covers, in words: "Covers 4 of 5 devices: 3 OpenConfig,
 * 1 ietf-interfaces." (a plain path's matches are not broken down by model).
 */
export function coverageWords(c: { devices: number; byModel: Record<string, number>; fleet: number }): string {
  const models = Object.entries(c.byModel).filter(([m]) => m !== 'matching');
  const of = c.fleet > c.devices ? ` of ${c.fleet}` : '';
  const noun = (n: number) => (n === 1 ? 'device' : 'devices');
  const parts = models.length > 0 ? `: ${models.map(([m, n]) => `${n} ${m}`).join(', ')}` : '';
  return `Covers ${c.devices}${of} ${noun(c.fleet > c.devices ? c.fleet : c.devices)}${parts}.`;
}

/** Multiplier that turns a path's values into the widget's unit (octet counters → bits). */
export function unitScale(unit: string, path: string): number {
  return unit === 'bits/s' && /octets($|\])/.test(path.slice(path.lastIndexOf('/') + 1)) ? 8 : 1; // the leaf, or a metric's name
}

/** Bucket width for aggregation: about `points` buckets over the window, at least 1 s. */
export function bucketMs(windowMs: number, points = 600): number {
  const raw = Math.max(1000, windowMs / points);
  const steps = [1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];
  return steps.find((s) => s >= raw) ?? 3_600_000;
}

/** Longest silence of a series drawn as a line: several of its usual intervals (median), at least `minMs`. */
export function gapThreshold(points: Array<{ t: number }>, minMs = 5000): number {
  if (points.length < 3) return Math.max(minMs, 60_000);
  const d: number[] = [];
  for (let i = 1; i < points.length; i++) d.push(points[i].t - points[i - 1].t);
  d.sort((a, b) => a - b);
  return Math.max(minMs, d[Math.floor(d.length / 2)] * 3);
}

/** Rows of one series with a null row inserted wherever consecutive points are further apart than maxGapMs. */
export function withGapBreaks(points: Array<{ t: number; v: number | null }>, series: string, maxGapMs: number, scale = 1): Row[] {
  const out: Row[] = [];
  let prevT: number | undefined;
  for (const p of points) {
    if (prevT !== undefined && p.t - prevT > maxGapMs) out.push({ t: prevT + 1, v: null, series });
    out.push({ t: p.t, v: p.v === null ? null : p.v * scale, series });
    prevT = p.t;
  }
  return out;
}

const combine = (op: Exclude<Aggregate, 'none'>, values: number[]): number | null => {
  if (values.length === 0) return null;
  switch (op) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
  }
};

/** Row changes to apply to the chart: rows to remove (by series and time) and rows to insert. */
export interface RowChanges {
  remove: Array<{ series: string; t: number }>;
  insert: Row[];
}

/**
 * Merge the changes of several add() calls into one changeset: a bucket
 * re-emitted by a later call replaces the row an earlier call inserted in the
 * same batch (that row never reached the chart, so it must not be inserted).
 */
export function mergeChanges(list: RowChanges[]): RowChanges {
  const insert = new Map<string, Row>();
  const remove = new Map<string, { series: string; t: number }>();
  for (const ch of list) {
    for (const r of ch.remove) {
      const k = `${r.series}|${r.t}`;
      // Replacing a row inserted earlier in this batch: drop that insert, nothing to remove.
      if (insert.has(`${k}|`)) insert.delete(`${k}|`);
      else remove.set(k, r);
    }
    for (const r of ch.insert) insert.set(`${r.series}|${r.t}|${r.v === null ? 'gap' : ''}`, r);
  }
  return { remove: [...remove.values()], insert: [...insert.values()] };
}

/**
 * Incremental builder of a widget's rows. Without aggregation each series is
 * its own line; with one, every series is averaged into time buckets and the
 * buckets combined across the series of a group (device or all). A bucket
 * that gains a point is re-emitted (remove + insert).
 */
export class WidgetRows {
  private readonly groups = new Map<string, Map<number, Map<number, { sum: number; n: number }>>>();
  private readonly lastT = new Map<string, number>();
  private readonly label: Map<number, string>;
  private readonly groupOf: Map<number, string>;

  constructor(
    series: WidgetSeries[],
    private readonly opts: { aggregate: Aggregate; groupBy: GroupBy; bucketMs: number; maxGapMs: number; scale: number; allLabel?: string },
  ) {
    this.label = new Map(series.map((s) => [s.id, s.label]));
    const grouped = opts.aggregate !== 'none' || opts.groupBy !== 'series';
    this.groupOf = new Map(
      series.map((s) => [s.id, !grouped ? s.label : opts.groupBy === 'device' ? s.deviceName : (opts.allLabel ?? `${opts.aggregate === 'none' ? 'sum' : opts.aggregate}`)]),
    );
  }

  /** The names rows are drawn under (one per series, device or aggregate), in first-seen order. */
  groupNames(): string[] {
    return [...new Set(this.groupOf.values())];
  }

  private get grouped(): boolean {
    return this.opts.aggregate !== 'none' || this.opts.groupBy !== 'series';
  }

  /** Add points of one series (oldest first); returns the row changes. */
  add(seriesId: number, points: Array<{ t: number; v: number | null }>): RowChanges {
    const changes: RowChanges = { remove: [], insert: [] };
    const group = this.groupOf.get(seriesId);
    if (group === undefined) return changes;
    if (!this.grouped) {
      for (const p of points) {
        const prev = this.lastT.get(group);
        if (prev !== undefined && p.t <= prev) continue;
        if (prev !== undefined && p.t - prev > this.opts.maxGapMs) changes.insert.push({ t: prev + 1, v: null, series: group });
        changes.insert.push({ t: p.t, v: p.v === null ? null : p.v * this.opts.scale, series: group });
        this.lastT.set(group, p.t);
      }
      return changes;
    }
    const buckets = this.groups.get(group) ?? new Map<number, Map<number, { sum: number; n: number }>>();
    this.groups.set(group, buckets);
    const touched = new Set<number>();
    for (const p of points) {
      if (p.v === null) continue;
      const b = Math.floor(p.t / this.opts.bucketMs) * this.opts.bucketMs;
      const bucket = buckets.get(b) ?? new Map<number, { sum: number; n: number }>();
      if (!buckets.has(b)) {
        const prev = this.lastT.get(group);
        if (prev !== undefined && b > prev && b - prev > Math.max(this.opts.maxGapMs, this.opts.bucketMs * 2)) {
          changes.insert.push({ t: prev + 1, v: null, series: group });
        }
        if (prev === undefined || b > prev) this.lastT.set(group, b);
        buckets.set(b, bucket);
      } else {
        changes.remove.push({ series: group, t: b });
      }
      const cell = bucket.get(seriesId) ?? { sum: 0, n: 0 };
      cell.sum += p.v * this.opts.scale;
      cell.n++;
      bucket.set(seriesId, cell);
      touched.add(b);
    }
    for (const b of touched) {
      const values = [...buckets.get(b)!.values()].map((c) => c.sum / c.n);
      changes.insert.push({ t: b, v: combine(this.opts.aggregate === 'none' ? 'sum' : this.opts.aggregate, values), series: group });
    }
    // A bucket removed and re-inserted in one batch: keep only the final insert.
    const seen = new Set<string>();
    changes.insert = changes.insert.reverse().filter((r) => {
      const k = `${r.series}|${r.t}|${r.v === null ? 'gap' : ''}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    changes.insert.reverse();
    return changes;
  }

  /** Forget buckets older than `t` (they left the window). */
  prune(t: number): void {
    for (const buckets of this.groups.values()) for (const b of buckets.keys()) if (b < t) buckets.delete(b);
  }
}
