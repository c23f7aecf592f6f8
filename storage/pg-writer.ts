/**
 * The PostgreSQL side of the ingest batcher (storage/batcher.ts owns buffering and bounds):
 * one `write(batch)` is one transaction. It resolves series through the series cache
 * (creating new ones in bulk), drops and counts points PostgreSQL would refuse
 * (`bad_timestamp`, `non_finite`, `unknown_device`) and points a device may not send
 * (issue 14 item 12, ADR 043: `series_limit`, `future_timestamp`, also recorded per device in
 * `device_ingest_drops`), writes the numbers by binary COPY (storage/copy-binary.ts, ADR 100)
 * and text states by one `unnest` INSERT, both ON CONFLICT DO NOTHING so a retried batch never
 * duplicates rows (ADR 030), records the time range of late numbers in `storage_rollup_dirty`
 * (ADR 032) and rings the NOTIFY doorbell — all before the one COMMIT. A failed write rolls
 * back, discards its client and throws; the batcher retries the same points.
 */
import type pg from 'pg';
import { SAMPLES_CHANNEL } from '../core/names';
import type { Logger } from '../core/session';
import type { TelemetryPoint } from '../core/point';
import type { MetricsRegistry } from '../core/metrics';
import { SERIES_LIMIT_REACHED, SeriesCache } from './series-cache';
import { insertSamplesByCopy } from './copy-binary';
import type { BatchWriter, WriteResult } from './batch-writer';

/** PostgreSQL writer settings. */
export interface PgBatchWriterOptions {
  pool: pg.Pool;
  /** Metrics of the batcher: drops by reason and `ingest_late_batches_total` are counted here. */
  metrics: MetricsRegistry;
  log?: Logger;
  /** Numbers older than this behind the flush time are late: their range is recorded for the rollups. Default 300,000. */
  lateAfterMs?: number;
  /** Most series one device may have; points of further series are dropped (`series_limit`). Default 20,000. */
  maxSeriesPerDevice?: number;
  /** Points stamped further than this ahead of the collector's clock are dropped (`future_timestamp`), ms. Default 300,000. */
  maxFutureMs?: number;
}

/** Maximum ids listed in a NOTIFY payload (it must stay below 8000 bytes). */
const MAX_NOTIFY_IDS = 400;
/** Latest timestamp accepted (year 9999); later ones cannot be stored. */
const MAX_TIMESTAMP_MS = 253_402_300_799_000;

/** Writes one batch of points per transaction into samples and states. */
export class PgBatchWriter implements BatchWriter {
  readonly series: SeriesCache;
  private readonly pool: pg.Pool;
  private readonly metrics: MetricsRegistry;
  private readonly log: Logger | undefined;
  private readonly lateAfterMs: number;
  private readonly maxFutureMs: number;

  constructor(opts: PgBatchWriterOptions) {
    this.pool = opts.pool;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.series = new SeriesCache(opts.maxSeriesPerDevice ?? 20_000);
    this.lateAfterMs = opts.lateAfterMs ?? 300_000; // the collector passes INGEST_LATE_AFTER_MS
    this.maxFutureMs = opts.maxFutureMs ?? 300_000;
    this.metrics.describe('ingest_late_batches_total', 'Flushes that recorded a dirty rollup range for points older than INGEST_LATE_AFTER_MS');
  }

  async write(batch: TelemetryPoint[]): Promise<WriteResult> {
    const client = await this.pool.connect();
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
        this.log?.warn('points refused from devices', {
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
}
