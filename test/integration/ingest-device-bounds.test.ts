/**
 * What one device can make the collector store (issue 14 item 12), against real
 * PostgreSQL: a device inventing paths stops at its series limit and a device
 * clock far ahead is refused; both are counted as dropped with their reason, in
 * the metric and per device for the device page, while other devices and
 * existing series keep flowing.
 */
import assert from 'node:assert/strict';
import { IngestBatcher } from '../../storage/batcher';
import type { TelemetryPoint } from '../../core/point';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('ingest: series limit and future timestamps per device', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let batcher: IngestBatcher | undefined;
  let noisy: number;
  let quiet: number;

  before(async () => {
    tdb = await createTestDatabase('ingest_bounds');
    [{ id: noisy }, { id: quiet }] = await tdb.db('devices').insert([
      { name: 'noisy', protocol: 'gnmi', host: 'h', port: 1 },
      { name: 'quiet', protocol: 'gnmi', host: 'h', port: 2 },
    ]).returning('id');
  });
  afterEach(async () => {
    await batcher?.close(2000);
    batcher = undefined;
  });
  after(async () => {
    await tdb?.drop();
  });

  const seriesOf = async (deviceId: number) => Number((await tdb.pool.query('SELECT count(*) AS n FROM series WHERE device_id = $1', [deviceId])).rows[0].n);
  const drops = async (deviceId: number) =>
    Object.fromEntries(
      (await tdb.db('device_ingest_drops').where({ device_id: deviceId }).select('reason', 'points')).map((r) => [r.reason, Number(r.points)]),
    );

  it('stops creating series at INGEST_MAX_SERIES_PER_DEVICE and counts the excess as series_limit', async () => {
    batcher = new IngestBatcher({ pool: tdb.pool, batchSize: 1000, flushIntervalMs: 20, maxSeriesPerDevice: 50 });
    const now = Date.now();
    const invented = (n: number, from: number, t: number): TelemetryPoint[] =>
      Array.from({ length: n }, (_, i) => ({ deviceId: noisy, path: `/invented/leaf${from + i}`, timestamp: t, value: i }));
    // 30 series, then 2 × 40 more new ones in separate flushes: the limit holds across flushes.
    batcher.push(invented(30, 0, now));
    await batcher.flush();
    batcher.push([...invented(40, 30, now), { deviceId: quiet, path: '/ok', timestamp: now, value: 1 }]);
    await batcher.flush();
    batcher.push(invented(40, 70, now));
    await batcher.flush();
    assert.equal(await seriesOf(noisy), 50, 'series stop at the limit');
    assert.equal(await seriesOf(quiet), 1, 'another device is not affected');
    // Existing series of the full device keep storing.
    batcher.push(invented(50, 0, now + 1000));
    await batcher.flush();
    const stored = Number((await tdb.pool.query('SELECT count(*) AS n FROM samples s JOIN series se ON se.id = s.series_id WHERE se.device_id = $1', [noisy])).rows[0].n);
    assert.equal(stored, 30 + 20 + 50);
    assert.equal(batcher.metrics.get('ingest_points_dropped_total', { reason: 'series_limit' }), 20 + 40);
    assert.deepEqual(await drops(noisy), { series_limit: 60 });
    assert.deepEqual(await drops(quiet), {});
    // What the device page shows.
    const { deviceIngestDrops } = await import('../../web/app/lib/devices.server');
    const shown = await deviceIngestDrops(tdb.db, noisy);
    assert.deepEqual(shown.map((d) => [d.reason, d.points]), [['series_limit', 60]]);
    assert.ok(Math.abs(shown[0].lastAt - Date.now()) < 60_000);
  });

  it('refuses points stamped more than INGEST_MAX_FUTURE_MS ahead of the collector clock (year 9999 included)', async () => {
    batcher = new IngestBatcher({ pool: tdb.pool, batchSize: 1000, flushIntervalMs: 20, maxFutureMs: 60_000 });
    const now = Date.now();
    batcher.push([
      { deviceId: quiet, path: '/ok', timestamp: now + 30_000, value: 1 },
      { deviceId: quiet, path: '/ok', timestamp: now + 10 * 60_000, value: 2 },
      { deviceId: quiet, path: '/ok', timestamp: Date.UTC(9999, 0, 1), value: 3 },
      { deviceId: quiet, path: '/text', timestamp: now + 3_600_000, value: 'up' },
    ]);
    await batcher.flush();
    const { rows } = await tdb.pool.query(
      `SELECT s.value FROM samples s JOIN series se ON se.id = s.series_id WHERE se.device_id = $1 AND s.time > now() ORDER BY s.time`,
      [quiet],
    );
    assert.deepEqual(rows.map((r) => Number(r.value)), [1], 'only the point within the allowance is stored');
    assert.equal(Number((await tdb.pool.query('SELECT count(*) AS n FROM states')).rows[0].n), 0);
    assert.equal(batcher.metrics.get('ingest_points_dropped_total', { reason: 'future_timestamp' }), 3);
    assert.deepEqual(await drops(quiet), { future_timestamp: 3 });
  });
});
