/**
 * The batcher's lanes (INGEST_FLUSH_LANES) against real PostgreSQL in both storage modes: flushes
 * of several devices run at once on their own connections, and every point is stored exactly once,
 * new series created by concurrent flushes included. (That one device's points are written in the
 * order they came is the unit suite's: test/unit/batcher-lanes.test.ts.)
 */
import assert from 'node:assert/strict';
import { IngestBatcher } from '../../storage/batcher';
import type { TelemetryPoint } from '../../core/point';
import { createTestDatabase, storageModesUnderTest, type TestDatabase } from '../support/db';
import { until } from '../../testkit/until';

const DEVICES = 8;
const PATHS = 12;

for (const mode of storageModesUnderTest()) {
  describe(`ingest lanes: flushes of several devices at once (${mode === 'timescaledb' ? 'TimescaleDB' : 'native'})`, function () {
    this.timeout(120_000);
    let tdb: TestDatabase;
    let devices: number[];
    let batcher: IngestBatcher | undefined;

    before(async () => {
      tdb = await createTestDatabase('ingest_lanes', { storage: mode });
      devices = (
        await tdb
          .db('devices')
          .insert(Array.from({ length: DEVICES }, (_, i) => ({ name: `lane-${i}`, protocol: 'gnmi', host: 'h', port: 1 })))
          .returning('id')
      ).map((r: { id: number }) => Number(r.id));
    });
    after(async () => {
      await batcher?.close(5000);
      await tdb?.drop();
    });

    it('stores every point once and each series once, with flushes on more than one connection at a time', async () => {
      let flushes = 0;
      let open = 0;
      let mostOpen = 0;
      const pool = tdb.pool;
      const counting = Object.create(pool) as typeof pool;
      counting.connect = (async () => {
        const client = await pool.connect();
        open++;
        mostOpen = Math.max(mostOpen, open);
        const release = client.release.bind(client);
        client.release = ((err?: Error | boolean) => {
          open--;
          return release(err);
        }) as typeof client.release;
        return client;
      }) as typeof pool.connect;
      batcher = new IngestBatcher({
        pool: counting,
        lanes: 4,
        batchSize: 50,
        flushIntervalMs: 20,
        onFlushed: () => flushes++,
      });
      // Recent whole seconds: inside today's partition or chunk, and not late for the rollups.
      const start = Math.floor(Date.now() / 1000) * 1000 - 120_000;
      const rounds = 60;
      // Each device sends a notification of PATHS counters per round, all devices interleaved, as sessions do;
      // pushed in one go, so every lane is over the batch size when the first flushes start: they start together.
      for (let r = 0; r < rounds; r++) {
        for (const deviceId of devices) {
          const notification: TelemetryPoint[] = Array.from({ length: PATHS }, (_, k) => ({
            deviceId,
            path: `/interfaces/interface[name=Ethernet${k}]/state/counters/in-octets`,
            timestamp: start + r * 1000,
            value: r * 100 + k,
          }));
          assert.equal(batcher.push(notification), undefined, 'under the backpressure bound');
        }
        // New series in later batches too, each created while other lanes flush: one more path per device every ten rounds.
        if (r % 10 === 9) for (const deviceId of devices) batcher.push([{ deviceId, path: `/system/extra${r}`, timestamp: start + r * 1000, value: r }]);
      }
      const expected = rounds * DEVICES * PATHS + (rounds / 10) * DEVICES;
      await until('every point stored (the key (series_id, time) refuses a second copy)', async () => Number((await tdb.db('samples').count({ n: '*' }))[0].n) === expected, 60_000, 100);
      assert.ok(mostOpen >= 2, `flushes ran on more than one connection at a time (most at once: ${mostOpen})`);
      assert.ok(flushes > 8, `several flushes per lane (${flushes})`);
      const series = await tdb.db.raw(`SELECT device_id, count(*)::int AS n FROM series GROUP BY device_id ORDER BY device_id`);
      assert.deepEqual(
        series.rows.map((r: { n: number }) => r.n),
        devices.map(() => PATHS + rounds / 10),
        'each device has its series once, those created by concurrent flushes included',
      );
      assert.equal(batcher.metrics.total('ingest_points_dropped_total'), 0);
      assert.equal(batcher.metrics.get('ingest_points_written_total'), expected);
    });
  });
}
