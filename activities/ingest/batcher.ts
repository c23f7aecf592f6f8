/**
 * The ingest batcher: every session in a collector process pushes points here;
 * it writes them to PostgreSQL in batches (one `unnest` INSERT per table per
 * flush, never row by row), rings the NOTIFY doorbell, and stays bounded:
 * above `maxBuffered` points `push` returns a promise (backpressure), above
 * twice that the oldest points are dropped and counted. A failed flush is
 * retried with backoff; ON CONFLICT DO NOTHING makes the retry idempotent.
 */
import type pg from 'pg';
import { SAMPLES_CHANNEL } from '../../core/names';
import type { PointSink, Logger } from '../../core/session';
import type { TelemetryPoint } from '../../core/point';
import { MetricsRegistry } from '../../core/metrics';
import { SeriesCache } from './series-cache';

/** Batcher settings. */
export interface BatcherOptions {
  pool: pg.Pool;
  /** Flush when this many points are buffered. */
  batchSize?: number;
  /** Flush at least this often (ms). */
  flushIntervalMs?: number;
  /** Above this many buffered points, push() applies backpressure; above twice this, the oldest are dropped. */
  maxBuffered?: number;
  metrics?: MetricsRegistry;
  log?: Logger;
  /** Called after each successful flush with the series written (tests, live hub in-process). */
  onFlushed?: (info: { rows: number; seriesIds: number[] }) => void;
}

/** Maximum ids listed in a NOTIFY payload (it must stay below 8000 bytes). */
const MAX_NOTIFY_IDS = 400;

/** Batched, bounded writer of telemetry points. */
export class IngestBatcher implements PointSink {
  private buffer: TelemetryPoint[] = [];
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private failures = 0;
  private retryAt = 0;
  readonly series = new SeriesCache();
  readonly metrics: MetricsRegistry;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;

  constructor(private readonly opts: BatcherOptions) {
    this.batchSize = opts.batchSize ?? 5000;
    this.flushIntervalMs = opts.flushIntervalMs ?? 200;
    this.maxBuffered = opts.maxBuffered ?? 200_000;
    this.metrics = opts.metrics ?? new MetricsRegistry();
    this.metrics.describe('ingest_points_received_total', 'Points handed to the batcher');
    this.metrics.describe('ingest_points_written_total', 'Points written to PostgreSQL');
    this.metrics.describe('ingest_points_dropped_total', 'Points dropped, by reason');
    this.metrics.describe('ingest_flush_failures_total', 'Flushes that failed and were retried');
    this.metrics.gauge('ingest_buffered_points', () => this.buffer.length);
  }

  /** Points waiting to be written. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Accept points; returns a promise while the buffer is over its bound (await it: backpressure). */
  push(points: TelemetryPoint[]): void | Promise<void> {
    if (points.length === 0) return;
    this.metrics.inc('ingest_points_received_total', points.length);
    if (this.closed) {
      this.metrics.inc('ingest_points_dropped_total', points.length, { reason: 'closed' });
      return;
    }
    for (const p of points) this.buffer.push(p);
    const hardLimit = this.maxBuffered * 2;
    if (this.buffer.length > hardLimit) {
      const excess = this.buffer.length - hardLimit;
      this.buffer.splice(0, excess);
      this.metrics.inc('ingest_points_dropped_total', excess, { reason: 'buffer_full' });
      this.opts.log?.warn('ingest buffer full: dropped oldest points', { dropped: excess });
    }
    if (this.buffer.length >= this.batchSize) this.kick(0);
    else this.kick(this.flushIntervalMs);
    if (this.buffer.length > this.maxBuffered) {
      return new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private kick(delayMs: number): void {
    if (this.flushing) return;
    const wait = Math.max(delayMs, this.retryAt - Date.now());
    if (this.timer) {
      if (wait > 0) return; // a timer is already set
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, wait);
    this.timer.unref?.();
  }

  private releaseWaiters(): void {
    if (this.buffer.length > this.maxBuffered / 2) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Write what is buffered now (one batch at a time); resolves when that flush ends. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.buffer.length === 0) {
      this.releaseWaiters();
      return Promise.resolve();
    }
    this.flushing = this.flushOnce().finally(() => {
      this.flushing = undefined;
      this.releaseWaiters();
      if (this.buffer.length > 0) this.kick(this.buffer.length >= this.batchSize ? 0 : this.flushIntervalMs);
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const batch = this.buffer.splice(0, this.batchSize * 4);
    const started = performance.now();
    try {
      const rows = await this.write(batch);
      this.failures = 0;
      this.retryAt = 0;
      this.metrics.inc('ingest_points_written_total', rows.written);
      this.metrics.inc('ingest_flushes_total');
      this.metrics.inc('ingest_flush_seconds_total', (performance.now() - started) / 1000);
      this.opts.onFlushed?.({ rows: rows.written, seriesIds: rows.seriesIds });
    } catch (err) {
      // Put the batch back in front and retry with capped backoff; nothing is lost here.
      this.buffer = batch.concat(this.buffer);
      this.failures++;
      this.metrics.inc('ingest_flush_failures_total');
      const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
      this.retryAt = Date.now() + delay;
      this.opts.log?.warn('ingest flush failed; will retry', { error: (err as Error).message, retryInMs: delay, buffered: this.buffer.length });
      const hardLimit = this.maxBuffered * 2;
      if (this.buffer.length > hardLimit) {
        const excess = this.buffer.length - hardLimit;
        this.buffer.splice(0, excess);
        this.metrics.inc('ingest_points_dropped_total', excess, { reason: 'database_unavailable' });
      }
    }
  }

  private async write(batch: TelemetryPoint[]): Promise<{ written: number; seriesIds: number[] }> {
    const client = await this.opts.pool.connect();
    try {
      await this.series.resolve(
        client,
        batch.map((p) => ({ deviceId: p.deviceId, path: p.path, kind: typeof p.value === 'number' ? 'number' : 'text' })),
      );
      const nTime: number[] = [];
      const nSeries: number[] = [];
      const nValue: number[] = [];
      const tTime: number[] = [];
      const tSeries: number[] = [];
      const tValue: Array<string | null> = [];
      const touched = new Set<number>();
      for (const p of batch) {
        const id = this.series.get(p.deviceId, p.path);
        if (id === undefined) {
          // Only possible if the device was deleted mid-flight (FK prevented the series): count it.
          this.metrics.inc('ingest_points_dropped_total', 1, { reason: 'unknown_device' });
          continue;
        }
        touched.add(id);
        if (typeof p.value === 'number') {
          if (!Number.isFinite(p.value)) {
            this.metrics.inc('ingest_points_dropped_total', 1, { reason: 'non_finite' });
            continue;
          }
          nTime.push(p.timestamp / 1000);
          nSeries.push(id);
          nValue.push(p.value);
        } else {
          tTime.push(p.timestamp / 1000);
          tSeries.push(id);
          tValue.push(p.value === null ? null : String(p.value));
        }
      }
      await client.query('BEGIN');
      if (nTime.length) {
        await client.query(
          `INSERT INTO samples (time, series_id, value)
           SELECT to_timestamp(t), s, v FROM unnest($1::float8[], $2::bigint[], $3::float8[]) AS u(t, s, v)
           ON CONFLICT DO NOTHING`,
          [nTime, nSeries, nValue],
        );
      }
      if (tTime.length) {
        await client.query(
          `INSERT INTO states (time, series_id, value)
           SELECT to_timestamp(t), s, v FROM unnest($1::float8[], $2::bigint[], $3::text[]) AS u(t, s, v)
           ON CONFLICT DO NOTHING`,
          [tTime, tSeries, tValue],
        );
      }
      const ids = [...touched];
      const payload = ids.length <= MAX_NOTIFY_IDS ? ids.join(',') : '*';
      await client.query('SELECT pg_notify($1, $2)', [SAMPLES_CHANNEL, payload]);
      await client.query('COMMIT');
      return { written: nTime.length + tTime.length, seriesIds: ids };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Flush everything buffered (retrying until `timeoutMs`), then refuse new points. */
  async close(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length > 0 && Date.now() < deadline) {
      this.retryAt = 0;
      await this.flush();
      if (this.buffer.length > 0 && this.failures > 0) await new Promise((r) => setTimeout(r, 200));
    }
    if (this.flushing) await this.flushing;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.buffer.length > 0) {
      this.metrics.inc('ingest_points_dropped_total', this.buffer.length, { reason: 'shutdown' });
      this.opts.log?.error('shutdown with unwritten points', { dropped: this.buffer.length });
      this.buffer = [];
    }
    for (const w of this.waiters.splice(0)) w();
  }
}
