/**
 * The ingest batcher: every session in a collector process pushes points here; it hands
 * them in batches to a writer. This file is the buffering and bounds policy only: it knows
 * nothing of SQL and depends on the `BatchWriter` interface. The PostgreSQL writer
 * (storage/pg-writer.ts: numbers by binary COPY, ADR 100; text states by one `unnest`
 * INSERT; per-point checks; the NOTIFY doorbell; one transaction per batch) is built from
 * `pool` when no `writer` is given; unit tests pass an in-memory `writer`.
 *
 * Bounded in both failure modes (docs/decisions/030-ingest-idempotent-flush.md):
 * - Writer slow (flushes succeed, slowly): above `maxBuffered` points `push`
 *   returns a promise that settles once the buffer has drained to half — sessions
 *   await it and stop reading their streams (backpressure), memory stays flat.
 * - Writer failing (PostgreSQL down): sessions are not held back (their devices would
 *   drop them); points wait in memory up to `maxHeld`, then the oldest are dropped
 *   and counted (`ingest_points_dropped_total{reason="database_unavailable"}`).
 *   Flushes are retried with capped, jittered exponential backoff.
 *
 * Lanes (`lanes`, INGEST_FLUSH_LANES, default 1): with more than one, points go to lane
 * `deviceId % lanes`, and each lane flushes its own batches one at a time, so up to `lanes`
 * flushes (transactions, connections) run at once while one device's points still commit in
 * the order they came (a live cursor per series never passes a point committed later). The
 * bounds are shared between the lanes: `maxBuffered` counts every lane's points, `maxHeld`
 * is split evenly. While a flush is failing, the other lanes wait for its retry.
 *
 * A failed batch is put back in front and written again, so the writer must be idempotent:
 * the PostgreSQL writer inserts ON CONFLICT DO NOTHING on the key (series_id, time), and
 * rows a retry finds stored already (`rows − inserted`) are counted in
 * `ingest_points_duplicate_total`.
 *
 * Late points (ADR 032) and what a device may send (issue 14 item 12, ADR 043) are the
 * PostgreSQL writer's checks; their settings (`lateAfterMs`, `maxSeriesPerDevice`,
 * `maxFutureMs`) are passed through to it.
 */
import type pg from 'pg';
import type { PointSink, Logger } from '../core/session';
import type { TelemetryPoint } from '../core/point';
import { MetricsRegistry } from '../core/metrics';
import type { SeriesCache } from './series-cache';
import { PgBatchWriter } from './pg-writer';
import type { BatchWriter, WriteResult } from './batch-writer';

export type { BatchWriter, WriteResult };

/** Batcher settings: `pool` (the PostgreSQL writer is built from it) or `writer`. */
export interface BatcherOptions {
  /** PostgreSQL pool; the batcher builds a PgBatchWriter on it unless `writer` is given. */
  pool?: pg.Pool;
  /** Where batches go instead of PostgreSQL (unit tests). */
  writer?: BatchWriter;
  /** Flush when this many points are buffered (in one lane). */
  batchSize?: number;
  /** Lanes flushing at the same time, points split by device (default 1: one flush at a time). */
  lanes?: number;
  /** Flush at least this often (ms). */
  flushIntervalMs?: number;
  /** Above this many buffered points (while PostgreSQL accepts writes), push() applies backpressure. */
  maxBuffered?: number;
  /** Most points held in memory (while PostgreSQL is down); beyond it the oldest are dropped. Default 5 × maxBuffered. */
  maxHeld?: number;
  /** Cap of the retry backoff (ms). */
  maxBackoffMs?: number;
  /** PostgreSQL writer: numbers older than this behind the flush time are late: their range is recorded for the rollups. Default INGEST_LATE_AFTER_MS. */
  lateAfterMs?: number;
  /** PostgreSQL writer: most series one device may have; points of further series are dropped (`series_limit`). Default 20,000. */
  maxSeriesPerDevice?: number;
  /** PostgreSQL writer: points stamped further than this ahead of the collector's clock are dropped (`future_timestamp`), ms. Default 300,000. */
  maxFutureMs?: number;
  metrics?: MetricsRegistry;
  log?: Logger;
  /** Called after each successful flush with the series written (tests, live hub in-process). */
  onFlushed?: (info: WriteResult) => void;
}

/** One lane: its buffer and its flushes, one at a time. */
class Lane {
  buffer: TelemetryPoint[] = [];
  timer: NodeJS.Timeout | undefined;
  flushing: Promise<void> | undefined;
  /** Points in the write under way (not in `buffer` meanwhile). */
  writing = 0;
}

/** Batched, bounded writer of telemetry points. */
export class IngestBatcher implements PointSink {
  private readonly lanes: Lane[];
  private waiters: Array<() => void> = [];
  private closed = false;
  private failures = 0;
  private retryAt = 0;
  /** The PostgreSQL writer's series cache (undefined with an injected `writer`). */
  readonly series: SeriesCache | undefined;
  readonly metrics: MetricsRegistry;
  private readonly writer: BatchWriter;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  /** Per lane. */
  private readonly maxHeld: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly opts: BatcherOptions) {
    const lanes = opts.lanes ?? 1;
    if (!Number.isInteger(lanes) || lanes < 1) throw new Error(`IngestBatcher: lanes must be a whole number of at least 1, not ${lanes}`);
    this.lanes = Array.from({ length: lanes }, () => new Lane());
    this.batchSize = opts.batchSize ?? 5000;
    this.flushIntervalMs = Math.min(opts.flushIntervalMs ?? 200, 250);
    this.maxBuffered = opts.maxBuffered ?? 200_000;
    this.maxHeld = Math.ceil(Math.max(opts.maxHeld ?? this.maxBuffered * 5, this.maxBuffered) / lanes);
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.metrics = opts.metrics ?? new MetricsRegistry();
    this.metrics.describe('ingest_points_received_total', 'Points handed to the batcher');
    this.metrics.describe('ingest_points_written_total', 'Points inserted into PostgreSQL');
    this.metrics.describe('ingest_points_duplicate_total', 'Points skipped because the same (series, time) was already stored (retried flush)');
    this.metrics.describe('ingest_points_dropped_total', 'Points dropped, by reason');
    this.metrics.describe('ingest_flush_failures_total', 'Flushes that failed and were retried');
    this.metrics.describe('ingest_backpressure_waits_total', 'Pushes told to wait because the buffer was full');
    this.metrics.gauge('ingest_buffered_points', () => this.buffered);
    if (opts.writer) {
      this.writer = opts.writer;
    } else if (opts.pool) {
      const pgWriter = new PgBatchWriter({
        pool: opts.pool,
        metrics: this.metrics,
        log: opts.log,
        lateAfterMs: opts.lateAfterMs,
        maxSeriesPerDevice: opts.maxSeriesPerDevice,
        maxFutureMs: opts.maxFutureMs,
      });
      this.writer = pgWriter;
      this.series = pgWriter.series;
    } else {
      throw new Error('IngestBatcher needs a pool or a writer');
    }
  }

  /** Points waiting to be written, in every lane. */
  get buffered(): number {
    let n = 0;
    for (const lane of this.lanes) n += lane.buffer.length;
    return n;
  }

  /** Points received and not yet committed: those buffered and those in a write under way (what a forced exit loses). */
  get unwritten(): number {
    let n = this.buffered;
    for (const lane of this.lanes) n += lane.writing;
    return n;
  }

  /** Whether the last flush failed (PostgreSQL unreachable or refusing writes). */
  get databaseDown(): boolean {
    return this.failures > 0;
  }

  /** Accept points; returns a promise while the buffer is over its bound (await it: backpressure). */
  push(points: TelemetryPoint[]): void | Promise<void> {
    if (points.length === 0) return;
    this.metrics.inc('ingest_points_received_total', points.length);
    if (this.closed) {
      this.metrics.inc('ingest_points_dropped_total', points.length, { reason: 'closed' });
      return;
    }
    const reason = this.databaseDown ? 'database_unavailable' : 'buffer_full';
    if (this.lanes.length === 1) {
      const lane = this.lanes[0];
      for (const p of points) lane.buffer.push(p);
      this.accepted(lane, reason);
    } else {
      // A push is usually one session's points, so one device and one lane; split only when it is not.
      const n = this.lanes.length;
      let touched: Set<Lane> | undefined;
      let only: Lane | undefined;
      for (const p of points) {
        const lane = this.lanes[p.deviceId % n];
        lane.buffer.push(p);
        if (only === undefined) only = lane;
        else if (lane !== only) (touched ??= new Set([only])).add(lane);
      }
      for (const lane of touched ?? [only!]) this.accepted(lane, reason);
    }
    if (this.buffered > this.maxBuffered && !this.databaseDown) {
      this.metrics.inc('ingest_backpressure_waits_total');
      return new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Points were added to `lane`: bound it, and flush it by size now or by time. */
  private accepted(lane: Lane, reason: string): void {
    this.dropOverflow(lane, reason);
    this.kick(lane, lane.buffer.length >= this.batchSize ? 0 : this.flushIntervalMs);
  }

  /** Drop the lane's oldest points beyond its share of maxHeld, counting them. */
  private dropOverflow(lane: Lane, reason: string): void {
    if (lane.buffer.length <= this.maxHeld) return;
    const excess = lane.buffer.length - this.maxHeld;
    lane.buffer.splice(0, excess);
    this.metrics.inc('ingest_points_dropped_total', excess, { reason });
    this.opts.log?.warn('ingest buffer over its bound: dropped the oldest points', { dropped: excess, reason });
  }

  private kick(lane: Lane, delayMs: number): void {
    if (lane.flushing || this.closed) return;
    // No clock read unless a retry is pending: kick runs on every push.
    const wait = this.retryAt > 0 ? Math.max(delayMs, this.retryAt - Date.now()) : delayMs;
    if (lane.timer) {
      if (wait > 0) return; // a timer is already set
      clearTimeout(lane.timer);
    }
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      void this.flushLane(lane);
    }, wait);
    lane.timer.unref?.();
  }

  private releaseWaiters(): void {
    // While the database is down, holding sessions back would only get them disconnected.
    if (!this.databaseDown && this.buffered > this.maxBuffered / 2) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Write what is buffered now (each lane one batch, the lanes at once); resolves when those flushes end. */
  flush(): Promise<void> {
    if (this.lanes.length === 1) return this.flushLane(this.lanes[0]);
    return Promise.all(this.lanes.map((lane) => this.flushLane(lane))).then(() => undefined);
  }

  /** Write what `lane` holds now (one batch at a time); resolves when that flush ends. */
  private flushLane(lane: Lane): Promise<void> {
    if (lane.flushing) return lane.flushing;
    if (lane.buffer.length === 0) {
      this.releaseWaiters();
      return Promise.resolve();
    }
    lane.flushing = this.flushOnce(lane).finally(() => {
      lane.flushing = undefined;
      this.releaseWaiters();
      if (lane.buffer.length > 0) this.kick(lane, lane.buffer.length >= this.batchSize ? 0 : this.flushIntervalMs);
    });
    return lane.flushing;
  }

  private async flushOnce(lane: Lane): Promise<void> {
    const batch = lane.buffer.splice(0, this.batchSize * 4);
    lane.writing = batch.length;
    const started = performance.now();
    try {
      const rows = await this.writer.write(batch);
      lane.writing = 0;
      if (this.failures > 0) this.opts.log?.info('ingest flush succeeded again', { afterFailures: this.failures });
      this.failures = 0;
      this.retryAt = 0;
      this.metrics.inc('ingest_points_written_total', rows.inserted);
      this.metrics.inc('ingest_points_duplicate_total', rows.rows - rows.inserted);
      this.metrics.inc('ingest_flushes_total');
      this.metrics.inc('ingest_flush_seconds_total', (performance.now() - started) / 1000);
      this.opts.onFlushed?.(rows);
    } catch (err) {
      // Put the batch back in front and retry with capped, jittered backoff; nothing is lost here.
      lane.writing = 0;
      lane.buffer = batch.concat(lane.buffer);
      this.failures++;
      this.metrics.inc('ingest_flush_failures_total');
      const base = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(this.failures, 10));
      const delay = Math.round(base / 2 + (Math.random() * base) / 2);
      this.retryAt = Date.now() + delay;
      this.opts.log?.warn('ingest flush failed; will retry', { error: (err as Error).message, retryInMs: delay, buffered: this.buffered });
      this.dropOverflow(lane, 'database_unavailable');
    }
  }

  /** Flush everything buffered (retrying until `timeoutMs`), then refuse new points. */
  async close(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered > 0 && Date.now() < deadline) {
      this.retryAt = 0;
      await this.flush();
      if (this.buffered > 0 && this.failures > 0) await new Promise((r) => setTimeout(r, 200));
    }
    await Promise.all(this.lanes.map((lane) => lane.flushing));
    this.closed = true;
    const left = this.buffered;
    for (const lane of this.lanes) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.buffer = [];
    }
    if (left > 0) {
      this.metrics.inc('ingest_points_dropped_total', left, { reason: 'shutdown' });
      this.opts.log?.error('shutdown with unwritten points', { dropped: left });
    }
    for (const w of this.waiters.splice(0)) w();
  }
}
