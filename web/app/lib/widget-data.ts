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
export type Aggregate = 'none' | 'sum' | 'avg' | 'max' | 'min' | 'count';
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
    case 'count':
      return values.length;
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

/** What the builder knows of one series in a grouped widget. */
interface SeriesTrack {
  /** Time of its newest point (or null point). */
  reached: number;
  /** Its newest point was a null (a recorded gap): the next point does not fill back across it. */
  broken: boolean;
  /** Its most recent intervals between points (ms), for its own silence threshold. */
  intervals: number[];
  /** Its silence threshold from those intervals (worked out when they change, not on every read: ADR 210). */
  silenceMs: number;
}

/** A group's buckets: per bucket start, each series' sum and count of values. */
type Buckets = Map<number, Map<number, { sum: number; n: number }>>;

/**
 * Incremental builder of a widget's rows. Without aggregation each series is
 * its own line; with one, every series is averaged into time buckets and the
 * buckets combined across the series of a group (device or all). A bucket
 * that gains a point is re-emitted (remove + insert).
 *
 * Partial buckets are left out (issue 21: a fleet total must not dip for one
 * refresh): a group's bucket is drawn only once every *active* series of the
 * group has reported a point at or after its start. A series sampled less often
 * than the buckets (NETCONF every 5 s beside gNMI every second) counts in the
 * buckets between two of its points with the later point's value — for a rate,
 * the rate over the interval that covers them. A series is active while its
 * newest point is within its silence threshold (three of its usual intervals,
 * at least maxGapMs) of the group's newest point; a series that stops (a device
 * down) stops holding the group back after that and the total drops, truly.
 * The newest drawn bucket so trails the slowest series by up to one of its
 * intervals. A drawn bucket that becomes incomplete again (a series resumes)
 * is removed until it is complete.
 */
export class WidgetRows {
  private readonly groups = new Map<string, Buckets>();
  private readonly lastT = new Map<string, number>();
  private readonly label: Map<number, string>;
  private readonly groupOf: Map<number, string>;
  private readonly tracks = new Map<number, SeriesTrack>();
  /** Per group: its series that have points, buckets drawn, buckets changed since drawn. */
  private readonly members = new Map<string, Set<number>>();
  private readonly drawn = new Map<string, Set<number>>();
  private readonly dirty = new Map<string, Set<number>>();
  /** Per group: the complete boundary after the last add. */
  private readonly upTo = new Map<string, number>();

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

  /** How long a series may be silent and still count as reporting: three of its usual intervals, at least maxGapMs. */
  private silenceOf(intervals: number[]): number {
    if (intervals.length < 3) return this.opts.maxGapMs;
    const sorted = intervals.slice().sort((a, b) => a - b);
    return Math.max(this.opts.maxGapMs, sorted[Math.floor(sorted.length / 2)] * 3);
  }

  /** Newest bucket start every active series of the group has reached (buckets up to it are complete). */
  private completeUpTo(group: string): number {
    // Plain loops: a fleet total has thousands of members and runs this on every batch.
    let head = -Infinity;
    for (const id of this.members.get(group) ?? []) head = Math.max(head, this.tracks.get(id)!.reached);
    let upTo = Infinity;
    for (const id of this.members.get(group) ?? []) {
      const t = this.tracks.get(id)!;
      if (t.reached >= head - t.silenceMs && t.reached < upTo) upTo = t.reached;
    }
    return upTo;
  }

  /** A group's bucket at `b` (created when absent), marked changed. */
  private cellOf(buckets: Buckets, dirty: Set<number>, b: number): Map<number, { sum: number; n: number }> {
    let bucket = buckets.get(b);
    if (!bucket) buckets.set(b, (bucket = new Map()));
    dirty.add(b);
    return bucket;
  }

  /** Add points of one series (oldest first); returns the row changes. */
  add(seriesId: number, points: Array<{ t: number; v: number | null }>): RowChanges {
    if (!this.grouped) return this.addUngrouped(seriesId, points);
    const group = this.ingest(seriesId, points);
    return group === undefined ? { remove: [], insert: [] } : this.emit(group);
  }

  /**
   * Add points of many series at once (each oldest first): the same changes as one add()
   * per series merged, but each group's completeness is worked out once per batch rather
   * than once per series (a fleet total over thousands of series, server-side).
   */
  addBatch(batch: Iterable<[number, Array<{ t: number; v: number | null }>]>): RowChanges {
    if (!this.grouped) return mergeChanges([...batch].map(([id, pts]) => this.addUngrouped(id, pts)));
    const touched = new Set<string>();
    for (const [id, pts] of batch) {
      const group = this.ingest(id, pts);
      if (group !== undefined) touched.add(group);
    }
    return mergeChanges([...touched].map((g) => this.emit(g)));
  }

  /** One line per series: its points as rows, a null row where it was silent past maxGapMs. */
  private addUngrouped(seriesId: number, points: Array<{ t: number; v: number | null }>): RowChanges {
    const changes: RowChanges = { remove: [], insert: [] };
    const group = this.groupOf.get(seriesId);
    if (group === undefined) return changes;
    for (const p of points) {
      const prev = this.lastT.get(group);
      if (prev !== undefined && p.t <= prev) continue;
      if (prev !== undefined && p.t - prev > this.opts.maxGapMs) changes.insert.push({ t: prev + 1, v: null, series: group });
      changes.insert.push({ t: p.t, v: p.v === null ? null : p.v * this.opts.scale, series: group });
      this.lastT.set(group, p.t);
    }
    return changes;
  }

  /** Count a series' points into its group's buckets; returns the group (undefined: not a series of this widget). */
  private ingest(seriesId: number, points: Array<{ t: number; v: number | null }>): string | undefined {
    const group = this.groupOf.get(seriesId);
    if (group === undefined) return undefined;
    const buckets: Buckets = this.groups.get(group) ?? new Map();
    this.groups.set(group, buckets);
    const dirty = this.dirty.get(group) ?? new Set<number>();
    this.dirty.set(group, dirty);
    if (!this.drawn.has(group)) this.drawn.set(group, new Set<number>());
    const members = this.members.get(group) ?? new Set<number>();
    this.members.set(group, members);
    const width = this.opts.bucketMs;
    for (const p of points) {
      let track = this.tracks.get(seriesId);
      if (track && p.t <= track.reached) continue; // already counted (history overlap, replay)
      if (!track) {
        track = { reached: p.t, broken: p.v === null, intervals: [], silenceMs: this.opts.maxGapMs };
        this.tracks.set(seriesId, track);
        members.add(seriesId);
      } else {
        const since = p.t - track.reached;
        const b0 = Math.floor(track.reached / width) * width;
        // Buckets between its previous point and this one take this point's value (the interval's rate).
        if (p.v !== null && !track.broken && since <= track.silenceMs) {
          for (let b = b0 + width; b < Math.floor(p.t / width) * width; b += width) {
            const bucket = this.cellOf(buckets, dirty, b);
            if (!bucket.has(seriesId)) bucket.set(seriesId, { sum: p.v * this.opts.scale, n: 1 });
          }
        }
        track.intervals.push(since);
        if (track.intervals.length > 16) track.intervals.shift();
        track.silenceMs = this.silenceOf(track.intervals);
        track.reached = p.t;
        track.broken = p.v === null;
      }
      if (p.v === null) continue;
      const bucket = this.cellOf(buckets, dirty, Math.floor(p.t / width) * width);
      const cell = bucket.get(seriesId) ?? { sum: 0, n: 0 };
      cell.sum += p.v * this.opts.scale;
      cell.n++;
      bucket.set(seriesId, cell);
    }
    return group;
  }

  /** The group's row changes since it was last emitted: complete dirty buckets drawn, incomplete drawn ones taken back. */
  private emit(group: string): RowChanges {
    const changes: RowChanges = { remove: [], insert: [] };
    const buckets = this.groups.get(group)!;
    const dirty = this.dirty.get(group)!;
    const drawn = this.drawn.get(group)!;
    const width = this.opts.bucketMs;
    const upTo = this.completeUpTo(group);
    // Drawn buckets that are incomplete again come off the chart until they are complete
    // (only possible when the complete boundary moved back: a series resumed or appeared).
    const before = this.upTo.get(group) ?? -Infinity;
    this.upTo.set(group, upTo);
    for (const b of upTo < before ? drawn : []) {
      if (b > upTo) {
        drawn.delete(b);
        dirty.add(b);
        changes.remove.push({ series: group, t: b });
      }
    }
    for (const b of [...dirty].sort((x, y) => x - y)) {
      if (b > upTo) continue;
      dirty.delete(b);
      const bucket = buckets.get(b);
      if (!bucket || bucket.size === 0) continue;
      if (drawn.has(b)) changes.remove.push({ series: group, t: b });
      else {
        const prev = this.lastT.get(group);
        if (prev !== undefined && b > prev && b - prev > Math.max(this.opts.maxGapMs, width * 2)) changes.insert.push({ t: prev + 1, v: null, series: group });
        if (prev === undefined || b > prev) this.lastT.set(group, b);
        drawn.add(b);
      }
      const values = [...bucket.values()].map((c) => c.sum / c.n);
      changes.insert.push({ t: b, v: combine(this.opts.aggregate === 'none' ? 'sum' : this.opts.aggregate, values), series: group });
    }
    // A row removed (un-drawn) and drawn again in one call is just replaced.
    return mergeChanges([changes]);
  }

  /** Forget buckets older than `t` (they left the window). */
  prune(t: number): void {
    for (const [group, buckets] of this.groups) {
      for (const b of buckets.keys()) if (b < t) buckets.delete(b);
      for (const set of [this.drawn.get(group), this.dirty.get(group)]) for (const b of set ?? []) if (b < t) set!.delete(b);
    }
  }
}
