/**
 * A small metrics registry rendered in Prometheus text format (counters, gauges,
 * and summaries by quantile). One registry per process.
 */

type Labels = Record<string, string>;

/** The key of a label set, as rendered after a metric's name; callers on hot paths make it once for MetricsRegistry.incKey. */
export function metricsKey(labels?: Labels): string {
  if (!labels) return '';
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return '{' + keys.map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c))}"`).join(',') + '}';
}

/** Counters and gauges keyed by name and labels. */
export class MetricsRegistry {
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly gauges = new Map<string, () => Array<[Labels | undefined, number]>>();
  private readonly help = new Map<string, string>();

  /** Describe a metric (shown as # HELP). */
  describe(name: string, text: string): void {
    this.help.set(name, text);
  }

  /** Add to a counter. */
  inc(name: string, by = 1, labels?: Labels): void {
    this.incKey(name, metricsKey(labels), by);
  }

  /** inc() with the key of its labels made once by the caller (metricsKey): no key string per call, for counts made per notification. */
  incKey(name: string, key: string, by = 1): void {
    let series = this.counters.get(name);
    if (!series) this.counters.set(name, (series = new Map()));
    series.set(key, (series.get(key) ?? 0) + by);
  }

  /** Current value of a counter (tests, status pages). */
  get(name: string, labels?: Labels): number {
    return this.counters.get(name)?.get(metricsKey(labels)) ?? 0;
  }

  /** Sum of a counter over every label set. */
  total(name: string): number {
    let sum = 0;
    for (const v of this.counters.get(name)?.values() ?? []) sum += v;
    return sum;
  }

  /** Register a gauge read when /metrics is rendered. */
  gauge(name: string, read: () => number | Array<[Labels | undefined, number]>): void {
    this.gauges.set(name, () => {
      const v = read();
      return typeof v === 'number' ? [[undefined, v]] : v;
    });
  }

  /** Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    for (const [name, series] of this.counters) {
      if (this.help.has(name)) lines.push(`# HELP ${name} ${this.help.get(name)}`);
      lines.push(`# TYPE ${name} counter`);
      for (const [k, v] of series) lines.push(`${name}${k} ${v}`);
    }
    for (const [name, read] of this.gauges) {
      if (this.help.has(name)) lines.push(`# HELP ${name} ${this.help.get(name)}`);
      lines.push(`# TYPE ${name} gauge`);
      for (const [labels, v] of read()) lines.push(`${name}${metricsKey(labels)} ${Number.isFinite(v) ? v : 'NaN'}`);
    }
    return lines.join('\n') + '\n';
  }
}

/** The process-wide registry. */
export const metrics = new MetricsRegistry();

/** The largest lateness seen in a window, e.g. of heartbeat ticks; read (and reset) by /metrics. */
export class LagTracker {
  private max = 0;
  private lastMax = 0;
  private windowStarted = Date.now();
  constructor(private readonly windowMs = 10_000) {}
  observe(lateMs: number): void {
    this.roll();
    if (lateMs > this.max) this.max = lateMs;
  }
  /** Largest lateness (ms) over the current and the previous window. */
  get maxMs(): number {
    this.roll();
    return Math.max(this.max, this.lastMax);
  }
  private roll(): void {
    if (Date.now() - this.windowStarted >= this.windowMs) {
      this.lastMax = this.max;
      this.max = 0;
      this.windowStarted = Date.now();
    }
  }
}
