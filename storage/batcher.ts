/**
 * The ingest batcher: every session in a collector process pushes points here;
 * it writes them to PostgreSQL in batches (numbers by binary COPY, ADR 100; text states
 * by one `unnest` INSERT; never row by row) and rings the NOTIFY doorbell in the same
 * transaction.
 *
 * Bounded in both failure modes (docs/decisions/030-ingest-idempotent-flush.md):
 * - PostgreSQL slow (flushes succeed, slowly): above `maxBuffered` points `push`
 *   returns a promise that settles once the buffer has drained to half — sessions
 *   await it and stop reading their streams (backpressure), memory stays flat.
 * - PostgreSQL down (flushes fail): sessions are not held back (their devices would
 *   drop them); points wait in memory up to `maxHeld`, then the oldest are dropped
 *   and counted (`ingest_points_dropped_total{reason="database_unavailable"}`).
 *   Flushes are retried with capped, jittered exponential backoff.
 *
 * A retried flush never duplicates rows: samples and states have the primary key
 * (series_id, time) and the insert says ON CONFLICT DO NOTHING (for samples: the COPY
 * meets the key and the batch goes through a staging table instead), so a batch whose
 * COMMIT reached the server but whose reply was lost is simply skipped the second
 * time (counted in `ingest_points_duplicate_total`).
 *
 * Late points reach the rollups (docs/decisions/032-late-points-reach-the-rollups.md):
 * when a batch holds numbers older than `lateAfterMs` behind the flush time, the flush
 * records their time range in `storage_rollup_dirty` in the same transaction, and the
 * storage maintenance recomputes those buckets.
 *
 * What a device sends is bounded too (issue 14 item 12, ADR 043): points of series beyond
 * the device's series limit (`series_limit`) and points stamped more than `maxFutureMs`
 * ahead of this collector's clock (`future_timestamp`) are dropped and counted, in
 * the metric and per device in `device_ingest_drops` (same transaction), which the
 * device page shows.
 */
import type pg from 'pg';
import { SAMPLES_CHANNEL } from '../core/names';
import type { PointSink, Logger } from '../core/session';
import type { TelemetryPoint } from '../core/point';
import { MetricsRegistry } from '../core/metrics';
import { SERIES_LIMIT_REACHED, SeriesCache } from './series-cache';
import { insertSamplesByCopy } from './copy-binary';

/** Batcher settings. */
export interface BatcherOptions {
  pool: pg.Pool;
  /** Flush when this many points are buffered. */
  batchSize?: number;
  /** Flush at least this often (ms). */
  flushIntervalMs?: number;
  /** Above this many buffered points (while PostgreSQL accepts writes), push() applies backpressure. */
  maxBuffered?: number;
  /** Most points held in memory (while PostgreSQL is down); beyond it the oldest are dropped. Default 5 × maxBuffered. */
  maxHeld?: number;
  /** Cap of the retry backoff (ms). */
  maxBackoffMs?: number;
  /** Numbers older than this behind the flush time are late: their range is recorded for the rollups. Default INGEST_LATE_AFTER_MS. */
  lateAfterMs?: number;
  /** Most series one device may have; points of further series are dropped (`series_limit`). Default 20,000. */
  maxSeriesPerDevice?: number;
  /** Points stamped further than this ahead of the collector's clock are dropped (`future_timestamp`), ms. Default 300,000. */
  maxFutureMs?: number;
  metrics?: MetricsRegistry;
  log?: Logger;
  /** Called after each successful flush with the series written (tests, live hub in-process). */
  onFlushed?: (info: { rows: number; inserted: number; seriesIds: number[] }) => void;
}

/** Maximum ids listed in a NOTIFY payload (it must stay below 8000 bytes). */
const MAX_NOTIFY_IDS = 400;
/** Latest timestamp accepted (year 9999); later ones cannot be stored. */
const MAX_TIMESTAMP_MS = 253_402_300_799_000;

/** Batched, bounded writer of telemetry points. */
export class IngestBatcher implements PointSink {
  private buffer: TelemetryPoint[] = [];
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private failures = 0;
  private retryAt = 0;
  readonly series: SeriesCache;
  readonly metrics: MetricsRegistry;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly maxHeld: number;
  private readonly maxBackoffMs: number;
  private readonly lateAfterMs: number;
  private readonly maxFutureMs: number;

  constructor(private readonly opts: BatcherOptions) {
    this.series = new SeriesCache(opts.maxSeriesPerDevice ?? 20_000);
    this.maxFutureMs = opts.maxFutureMs ?? 300_000;
    this.batchSize = opts.batchSize ?? 5000;
    this.flushIntervalMs = Math.min(opts.flushIntervalMs ?? 200, 250);
    this.maxBuffered = opts.maxBuffered ?? 200_000;
    this.maxHeld = Math.max(opts.maxHeld ?? this.maxBuffered * 5, this.maxBuffered);
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.lateAfterMs = opts.lateAfterMs ?? 300_000; // the collector passes INGEST_LATE_AFTER_MS
    this.metrics = opts.metrics ?? new MetricsRegistry();
    this.metrics.describe('ingest_points_received_total', 'Points handed to the batcher');
    this.metrics.describe('ingest_points_written_total', 'Points inserted into PostgreSQL');
    this.metrics.describe('ingest_points_duplicate_total', 'Points skipped because the same (series, time) was already stored (retried flush)');
    this.metrics.describe('ingest_points_dropped_total', 'Points dropped, by reason');
    this.metrics.describe('ingest_flush_failures_total', 'Flushes that failed and were retried');
    this.metrics.describe('ingest_backpressure_waits_total', 'Pushes told to wait because the buffer was full');
    this.metrics.describe('ingest_late_batches_total', 'Flushes that recorded a dirty rollup range for points older than INGEST_LATE_AFTER_MS');
    this.metrics.gauge('ingest_buffered_points', () => this.buffer.length);
  }

  /** Points waiting to be written. */
  get buffered(): number {
    return this.buffer.length;
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
    for (const p of points) this.buffer.push(p);
    this.dropOverflow(this.databaseDown ? 'database_unavailable' : 'buffer_full');
    if (this.buffer.length >= this.batchSize) this.kick(0);
    else this.kick(this.flushIntervalMs);
    if (this.buffer.length > this.maxBuffered && !this.databaseDown) {
      this.metrics.inc('ingest_backpressure_waits_total');
      return new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Drop the oldest points beyond maxHeld, counting them. */
  private dropOverflow(reason: string): void {
    if (this.buffer.length <= this.maxHeld) return;
    const excess = this.buffer.length - this.maxHeld;
    this.buffer.splice(0, excess);
    this.metrics.inc('ingest_points_dropped_total', excess, { reason });
    this.opts.log?.warn('ingest buffer over its bound: dropped the oldest points', { dropped: excess, reason });
  }

  private kick(delayMs: number): void {
    if (this.flushing || this.closed) return;
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
    // While the database is down, holding sessions back would only get them disconnected.
    if (!this.databaseDown && this.buffer.length > this.maxBuffered / 2) return;
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
      this.buffer = batch.concat(this.buffer);
      this.failures++;
      this.metrics.inc('ingest_flush_failures_total');
      const base = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(this.failures, 10));
      const delay = Math.round(base / 2 + (Math.random() * base) / 2);
      this.retryAt = Date.now() + delay;
      this.opts.log?.warn('ingest flush failed; will retry', { error: (err as Error).message, retryInMs: delay, buffered: this.buffer.length });
      this.dropOverflow('database_unavailable');
    }
  }

  private async write(batch: TelemetryPoint[]): Promise<{ rows: number; inserted: number; seriesIds: number[] }> {
    const client = await this.opts.pool.connect();
    // A checked-out pg client has no error listener: a connection killed between two
    // queries would otherwise be an uncaught 'error' event and crash the worker.
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      const seriesIds = await this.series.idsFor(client, batch);
      const nTime: number[] = [];
      const nSeries: number[] = [];
      const nValue: number[] = [];
      const tTime: number[] = [];
      const tSeries: number[] = [];
      const tValue: Array<string | null> = [];
      const touched = new Set<number>();
      // Late numbers: their oldest and newest time. One comparison per point on the hot path;
      // the min/max only for points that are late.
      const flushAt = Date.now();
      const lateBefore = flushAt - this.lateAfterMs;
      const latestAccepted = flushAt + this.maxFutureMs;
      let lateFrom = Infinity;
      let lateTo = -1;
      // Points refused per device, by reason: recorded for the device page in this transaction,
      // counted in the metric once it committed (a retried flush refuses them again).
      let refused: Map<number, Map<string, number>> | undefined;
      const refuse = (deviceId: number, reason: string) => {
        refused ??= new Map();
        let byReason = refused.get(deviceId);
        if (!byReason) refused.set(deviceId, (byReason = new Map()));
        byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
      };
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i];
        // Values PostgreSQL would refuse would fail the batch on every retry: drop and count them instead.
        if (!Number.isFinite(p.timestamp) || p.timestamp < 0 || p.timestamp > MAX_TIMESTAMP_MS) {
          this.metrics.inc('ingest_points_dropped_total', 1, { reason: 'bad_timestamp' });
          continue;
        }
        const id = seriesIds[i];
        if (id === undefined) {
          // Only possible if the device was deleted mid-flight (FK prevented the series): count it.
          this.metrics.inc('ingest_points_dropped_total', 1, { reason: 'unknown_device' });
          continue;
        }
        if (id === SERIES_LIMIT_REACHED) {
          refuse(p.deviceId, 'series_limit');
          continue;
        }
        // A device clock far ahead would store points past retention and push live cursors into the future.
        if (p.timestamp > latestAccepted) {
          refuse(p.deviceId, 'future_timestamp');
          continue;
        }
        if (typeof p.value === 'number') {
          if (!Number.isFinite(p.value)) {
            this.metrics.inc('ingest_points_dropped_total', 1, { reason: 'non_finite' });
            continue;
          }
          if (p.timestamp < lateBefore) {
            if (p.timestamp < lateFrom) lateFrom = p.timestamp;
            if (p.timestamp > lateTo) lateTo = p.timestamp;
          }
          nTime.push(p.timestamp);
          nSeries.push(id);
          nValue.push(p.value);
        } else {
          tTime.push(p.timestamp / 1000);
          tSeries.push(id);
          tValue.push(p.value === null ? null : String(p.value).replace(/\u0000/g, ''));
        }
        touched.add(id);
      }
      let inserted = 0;
      let recordedLate = false;
      await client.query('BEGIN');
      if (nTime.length) {
        // Binary COPY, staging + ON CONFLICT DO NOTHING when a row is stored already (ADR 100).
        const numbers = await insertSamplesByCopy(client, nTime, nSeries, nValue);
        inserted += numbers;
        // In the flush transaction: a committed late point always has its dirty range. A retry
        // that inserted nothing (its first attempt committed, range included) adds none.
        if (lateTo >= 0 && numbers > 0) {
          await client.query(
            `INSERT INTO storage_rollup_dirty (from_time, to_time) VALUES (to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000))`,
            [lateFrom, lateTo],
          );
          recordedLate = true;
        }
      }
      if (tTime.length) {
        const res = await client.query(
          `INSERT INTO states (time, series_id, value)
           SELECT to_timestamp(t), s, v FROM unnest($1::float8[], $2::bigint[], $3::text[]) AS u(t, s, v)
           ON CONFLICT DO NOTHING`,
          [tTime, tSeries, tValue],
        );
        inserted += res.rowCount ?? 0;
      }
      if (refused) {
        const dDevice: number[] = [];
        const dReason: string[] = [];
        const dPoints: number[] = [];
        for (const [deviceId, byReason] of refused) {
          for (const [reason, n] of byReason) {
            dDevice.push(deviceId);
            dReason.push(reason);
            dPoints.push(n);
          }
        }
        await client.query(
          `INSERT INTO device_ingest_drops (device_id, reason, points, last_at)
           SELECT u.d, u.r, u.n, now() FROM unnest($1::int[], $2::text[], $3::bigint[]) AS u(d, r, n)
            WHERE EXISTS (SELECT 1 FROM devices WHERE id = u.d)
           ON CONFLICT (device_id, reason) DO UPDATE SET points = device_ingest_drops.points + EXCLUDED.points, last_at = now()`,
          [dDevice, dReason, dPoints],
        );
      }
      const ids = [...touched];
      if (ids.length > 0) {
        const payload = ids.length <= MAX_NOTIFY_IDS ? ids.join(',') : '*';
        await client.query('SELECT pg_notify($1, $2)', [SAMPLES_CHANNEL, payload]);
      }
      await client.query('COMMIT');
      if (recordedLate) this.metrics.inc('ingest_late_batches_total');
      if (refused) {
        for (const byReason of refused.values()) {
          for (const [reason, n] of byReason) this.metrics.inc('ingest_points_dropped_total', n, { reason });
        }
        this.opts.log?.warn('points refused from devices', {
          devices: Object.fromEntries([...refused].map(([d, r]) => [d, Object.fromEntries(r)])),
        });
      }
      return { rows: nTime.length + tTime.length, inserted, seriesIds: ids };
    } catch (err) {
      broken ??= err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.removeListener('error', onError);
      // A client that failed is discarded, not returned to the pool for the next flush to trip on.
      client.release(broken);
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
