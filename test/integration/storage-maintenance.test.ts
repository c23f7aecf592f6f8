/**
 * Maintenance in both storage modes on real servers. The workflow the schedule starts runs
 * the activity on a real Temporal server: native mode creates partitions ahead and drops
 * them past retention, and rolls up new and late data incrementally; TimescaleDB mode leaves
 * that to its policies and refreshes the continuous aggregates over dirty ranges. Points
 * older than the look-back, stored through the real batcher, reach the rollups in both.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import type pg from 'pg';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { IngestBatcher } from '../../storage/batcher';
import { createMaintenanceActivities } from '../../activities/maintenance';
import { refreshRollups, runMaintenance, storageMode, type MaintenanceReport } from '../../storage/storage-mode';
import { querySeries, type Queryable, type QueryResult } from '../../query/router';
import { createTestDatabase, storageModesUnderTest, type TestDatabase } from '../support/db';
import { quietWorkerRuntime, temporalAddress } from '../support/env';
import { testClient } from '../support/system';

const DAY = 86_400_000;
const settings = { retentionDays: 3, rollupRetentionDays: 10, partitionsAheadDays: 2 };

for (const mode of storageModesUnderTest()) {
  describe(`storage: maintenance in ${mode === 'timescaledb' ? 'TimescaleDB' : 'native'} mode (${mode === 'timescaledb' ? 'policies and dirty ranges' : 'partitions and rollups'})`, function () {
    this.timeout(60_000);
    let tdb: TestDatabase;
    let client: Client;
    let seriesId: number;

    const partitions = async () =>
      (
        await tdb.pool.query(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'samples'::regclass AND c.relname <> 'samples_default' ORDER BY 1`,
        )
      ).rows.map((r) => r.relname as string);
    const day = (ms: number) => `samples_p${new Date(ms).toISOString().slice(0, 10).replace(/-/g, '')}`;

    before(async () => {
      await quietWorkerRuntime();
      tdb = await createTestDatabase(`storage_maint_${mode}`, { storage: mode });
      client = await testClient();
      const [d] = await tdb.db('devices').insert({ name: 'sw', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
      const [s] = await tdb.db('series').insert({ device_id: d.id, path: '/x', kind: 'number' }).returning('id');
      seriesId = Number(s.id);
    });

    after(async () => {
      await client?.connection.close();
      await tdb?.drop();
    });

    it(`the storage-maintenance workflow runs the activity through Temporal${mode === 'native' ? ' and creates partitions ahead' : ' and refreshes a dirty range'}`, async () => {
      const taskQueue = `storage-maint-${crypto.randomBytes(4).toString('hex')}`;
      const connection = await NativeConnection.connect({ address: temporalAddress() });
      const future = Date.now() + 10 * DAY; // as if the schedule ran ten days from now
      if (mode === 'timescaledb') {
        await tdb.pool.query(
          `INSERT INTO storage_rollup_dirty (from_time, to_time) VALUES (now() - interval '2 days', now() - interval '2 days' + interval '90 seconds')`,
        );
      }
      try {
        const worker = await Worker.create({
          connection,
          taskQueue,
          workflowsPath: fileURLToPath(new URL('../../workflows/storage-maintenance.ts', import.meta.url)),
          activities: createMaintenanceActivities({ db: tdb.db, settings, now: () => future }),
        });
        const report: MaintenanceReport = await worker.runUntil(
          client.workflow.execute('storageMaintenanceWorkflow', { taskQueue, workflowId: `${taskQueue}-run`, args: [] }),
        );
        assert.equal(report.mode, mode);
        if (mode === 'timescaledb') {
          // Hypertables need no partitions; the dirty range (two minutes) was refreshed and removed.
          assert.deepEqual([report.partitionsCreated, report.partitionsDropped], [[], []]);
          assert.ok(report.lateBuckets1m >= 2, `refreshed ${report.lateBuckets1m} minute buckets`);
          assert.equal(report.lateRangesLeft, 0);
          assert.equal((await tdb.pool.query(`SELECT count(*)::int AS n FROM storage_rollup_dirty`)).rows[0].n, 0);
          return;
        }
        for (let i = 0; i <= 2; i++) assert.ok(report.partitionsCreated.includes(day(future + i * DAY)), `${day(future + i * DAY)} created`);
        // Today's partition (from the migration) is older than 3 days at `future`: dropped.
        assert.ok(report.partitionsDropped.includes(day(Date.now())));
        const now = await partitions();
        assert.ok(!now.includes(day(Date.now())) && now.includes(day(future + 2 * DAY)));
      } finally {
        await connection.close();
      }
    });

    if (mode === 'native')
      it('rolls up incrementally, picks up late points within the lookback, and drops expired raw rows', async () => {
        const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
        const insert = (t: number, v: number) =>
          tdb.pool.query(`INSERT INTO samples (time, series_id, value) VALUES (to_timestamp($1::float8 / 1000), $2, $3)`, [t, seriesId, v]);
        for (let i = 0; i < 120; i++) await insert(base + i * 30_000, i); // one hour, 30 s apart
        await refreshRollups(tdb.db, base + 3_600_000 + 60_000);
        const minute = async (t: number) =>
          (
            await tdb.pool.query(`SELECT min, max, avg, last, count::int FROM samples_1m WHERE series_id = $1 AND bucket = to_timestamp($2::float8 / 1000)`, [
              seriesId,
              t,
            ])
          ).rows[0];
        assert.deepEqual(await minute(base + 10 * 60_000), { min: 20, max: 21, avg: 20.5, last: 21, count: 2 });
        const hour = (await tdb.pool.query(`SELECT count::int, last FROM samples_1h WHERE series_id = $1`, [seriesId])).rows;
        assert.deepEqual(hour, [{ count: 120, last: 119 }]);
        // A late point five minutes behind the watermark lands in its bucket on the next run.
        await insert(base + 55 * 60_000 + 10_000, 1000);
        await refreshRollups(tdb.db, base + 3_600_000 + 120_000);
        assert.deepEqual(await minute(base + 55 * 60_000), { min: 110, max: 1000, avg: (110 + 1000 + 111) / 3, last: 111, count: 3 });
        // Retention: raw rows past it go (partitions or default), rollups stay for their own retention.
        const report = await runMaintenance(tdb.db, settings, base + 5 * DAY);
        assert.equal(report.mode, 'native');
        const raw = await tdb.pool.query(`SELECT count(*)::int AS n FROM samples`);
        assert.equal(raw.rows[0].n, 0);
        const rolled = await tdb.pool.query(`SELECT count(*)::int AS n FROM samples_1m`);
        assert.equal(rolled.rows[0].n, 60);
      });

    if (mode === 'native')
      it('leaves no block range of the rollup or the raw partitions unsummarized (ADR 271: a bitmap scan reads such a range whole)', async () => {
        const deviceId = (await tdb.db('series').where({ id: seriesId }).first('device_id')).device_id;
        const ids = (await tdb.db('series').insert([1, 2, 3, 4].map((i) => ({ device_id: deviceId, path: `/rolled/${i}`, kind: 'number' }))).returning('id')).map((r) => Number(r.id));
        const now = Date.now();
        const lastMinute = Math.floor(now / 60_000) * 60;
        // Rollup rows as runs append them and an hour of raw samples, each more than one block range (128 pages); autovacuum kept out, so only the run can summarize them.
        await runMaintenance(tdb.db, settings, now); // today's partitions
        const tables = await tdb.pool.query(`SELECT inhrelid::regclass::text AS t FROM pg_inherits WHERE inhparent = 'samples'::regclass UNION ALL SELECT 'samples_1m'`);
        for (const { t } of tables.rows) await tdb.pool.query(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`);
        await tdb.pool.query(
          `INSERT INTO samples_1m (series_id, bucket, min, max, avg, last, count)
           SELECT s, to_timestamp(b), b, b, b, b, 1 FROM generate_series($2::bigint, $3::bigint, 60) b CROSS JOIN unnest($1::bigint[]) s ORDER BY b, s`,
          [ids, lastMinute - 5000 * 60, lastMinute],
        );
        // Ten minutes of raw samples within one day's partition, the one the newest row is in: shortly after midnight UTC the
        // last ten minutes would leave today's partition only the minutes since, fewer than one block range (CI at 00:0x).
        const rawFrom = Math.max(lastMinute - 600, Math.floor(now / 86_400_000) * 86_400) * 10;
        await tdb.pool.query(
          `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t::float8 / 10), s, t FROM generate_series($2::bigint, $3::bigint) t CROSS JOIN unnest($1::bigint[]) s ORDER BY t, s`,
          [ids, rawFrom, rawFrom + 6000],
        );
        const pages = await tdb.pool.query(
          `SELECT c.relname AS t, pg_relation_size(c.oid) / current_setting('block_size')::int AS n FROM pg_class c WHERE c.oid = 'samples_1m'::regclass OR c.oid = (SELECT tableoid FROM samples ORDER BY time DESC LIMIT 1)`,
        );
        for (const { t, n } of pages.rows) assert.ok(Number(n) > 128, `${t}: ${n} pages, more than one block range`);
        await runMaintenance(tdb.db, settings, now);
        const left = await tdb.pool.query(
          `SELECT c.relname AS index, brin_summarize_new_values(c.oid)::int AS ranges FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'brin' AND c.relkind = 'i' ORDER BY 1`,
        );
        assert.deepEqual(
          left.rows.filter((r) => r.ranges > 0),
          [],
          'block ranges the maintenance run left unsummarized',
        );
      });

    if (mode === 'timescaledb')
      it('indexes the raw hypertables by time with a BRIN, not the default B-tree, and leaves no block range of a chunk being written unsummarized (ADR 289)', async () => {
        const indexes = await tdb.pool.query(
          `SELECT i.indrelid::regclass::text AS tbl, c.relname AS index, a.amname AS am FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
            WHERE i.indrelid IN ('samples'::regclass, 'states'::regclass) ORDER BY 1, 2`,
        );
        assert.deepEqual(indexes.rows, [
          { tbl: 'samples', index: 'samples_pkey', am: 'btree' },
          { tbl: 'samples', index: 'samples_time_brin', am: 'brin' },
          { tbl: 'states', index: 'states_pkey', am: 'btree' },
          { tbl: 'states', index: 'states_time_brin', am: 'brin' },
        ]);
        const deviceId = (await tdb.db('series').where({ id: seriesId }).first('device_id')).device_id;
        const ids = (await tdb.db('series').insert([1, 2, 3, 4].map((i) => ({ device_id: deviceId, path: `/chunked/${i}`, kind: 'number' }))).returning('id')).map((r) => Number(r.id));
        // Half an hour of raw samples at yesterday noon (UTC: inside one daily chunk), several block ranges (128 pages) of that
        // chunk; autovacuum kept out, so only the run can summarize them.
        const noon = (Math.floor(Date.now() / DAY) * DAY - DAY / 2) / 100;
        const insert = (from: number, to: number) =>
          tdb.pool.query(
            `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t::float8 / 10), s, t FROM generate_series($2::bigint, $3::bigint) t CROSS JOIN unnest($1::bigint[]) s ORDER BY t, s`,
            [ids, from, to],
          );
        await insert(noon, noon);
        const chunk = (await tdb.pool.query(`SELECT tableoid::regclass::text AS t FROM samples WHERE series_id = $1`, [ids[0]])).rows[0].t as string;
        await tdb.pool.query(`ALTER TABLE ${chunk} SET (autovacuum_enabled = false)`);
        await insert(noon + 1, noon + 18_000);
        const pages = (await tdb.pool.query(`SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int AS n`, [chunk])).rows[0].n;
        assert.ok(Number(pages) > 3 * 128, `${chunk}: ${pages} pages, several block ranges`);
        await runMaintenance(tdb.db, settings, Date.now());
        const left = await tdb.pool.query(
          `SELECT c.relname AS index, brin_summarize_new_values(c.oid)::int AS ranges FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
            WHERE a.amname = 'brin' AND i.indrelid = $1::regclass`,
          [chunk],
        );
        assert.equal(left.rows.length, 1, `${chunk} has its BRIN on time`);
        assert.deepEqual(
          left.rows.filter((r) => r.ranges > 0),
          [],
          'block ranges of the chunk the maintenance run left unsummarized',
        );
      });

    if (mode === 'native')
      it('does not wait for a BRIN summary of a table another session holds (an autovacuum would be cancelled)', async () => {
        const deviceId = (await tdb.db('series').where({ id: seriesId }).first('device_id')).device_id;
        const ids = (await tdb.db('series').insert([1, 2, 3, 4].map((i) => ({ device_id: deviceId, path: `/held/${i}`, kind: 'number' }))).returning('id')).map((r) => Number(r.id));
        await tdb.pool.query('ALTER TABLE samples_1m SET (autovacuum_enabled = false)');
        const lastMinute = Math.floor(Date.now() / 60_000) * 60;
        await tdb.pool.query(
          `INSERT INTO samples_1m (series_id, bucket, min, max, avg, last, count)
           SELECT s, to_timestamp(b), b, b, b, b, 1 FROM generate_series($2::bigint, $3::bigint, 60) b CROSS JOIN unnest($1::bigint[]) s ORDER BY b, s`,
          [ids, lastMinute - 5000 * 60, lastMinute],
        );
        // Another session holds the lock VACUUM takes: the run goes by without waiting for it (waiting, it would hang here).
        const holder = await tdb.pool.connect();
        try {
          await holder.query('BEGIN');
          await holder.query('LOCK TABLE samples_1m IN SHARE UPDATE EXCLUSIVE MODE');
          await runMaintenance(tdb.db, settings, Date.now());
          const left = await holder.query(`SELECT brin_summarize_new_values('samples_1m_bucket_brin'::regclass)::int AS n`);
          assert.ok(left.rows[0].n > 0, 'the held table was left for a later run');
          await holder.query('ROLLBACK');
        } finally {
          holder.release();
        }
      });
  });
}

for (const mode of storageModesUnderTest()) {
  describe(`storage: late points older than the rollup look-back reach the rollups (${mode === 'timescaledb' ? 'TimescaleDB' : 'native'})`, function () {
    this.timeout(120_000);
    const MINUTE = 60_000;
    const HOUR = 3_600_000;
    const PATH = '/system/cpu/state/utilization';
    /** The late hour: two days back, far older than the look-back (10 min) and the 1 m policy window (3 h). */
    const H0 = Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR;
    const settings = { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 2 };

    interface Backend {
      db: Knex;
      /** For the router and checks. */
      query: Queryable;
      /** For the batcher. */
      pool: pg.Pool;
      deviceId: number;
      seriesId: number;
    }

    let tdb: TestDatabase;

    /** A device and a series with three hours of 30 s samples around H0 (values 0…359) and ten minutes up to now. */
    const seed = async (b: Omit<Backend, 'deviceId' | 'seriesId'>): Promise<Backend> => {
      const [d] = await b.db('devices').insert({ name: 'late', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
      const [s] = await b.db('series').insert({ device_id: d.id, path: PATH, kind: 'number' }).returning('id');
      const times: number[] = [];
      const values: number[] = [];
      for (let i = 0; i < 360; i++) {
        times.push(H0 - HOUR + i * 30_000);
        values.push(i);
      }
      const recent = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
      for (let i = 0; i < 20; i++) {
        times.push(recent + i * 30_000);
        values.push(i);
      }
      await b.query.query(
        `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000), $2::bigint, v FROM unnest($1::float8[], $3::float8[]) AS u(t, v)`,
        [times, Number(s.id), values],
      );
      return { ...b, deviceId: Number(d.id), seriesId: Number(s.id) };
    };

    const dirtyRows = async (b: Backend) =>
      (
        await b.query.query<{ f: number; t: number }>(
          `SELECT (extract(epoch FROM from_time) * 1000)::float8 AS f, (extract(epoch FROM to_time) * 1000)::float8 AS t FROM storage_rollup_dirty ORDER BY id`,
        )
      ).rows.map((r) => [Number(r.f), Number(r.t)]);

    /** The router's answer over three hours around H0: from the rollup it chooses, and forced to raw at the same step. */
    const answers = async (b: Backend, rollup: '1m' | '1h', agg: 'avg' | 'min' | 'max' | 'last') => {
      const q = { seriesIds: [b.seriesId], from: H0 - HOUR, to: H0 + 2 * HOUR, widthPx: rollup === '1m' ? 180 : 3, agg };
      const chosen = await querySeries(b.query, q);
      const raw = await querySeries(b.query, { ...q, resolution: 'raw' });
      assert.equal(chosen.resolution, rollup);
      assert.equal(chosen.bucketMs, raw.bucketMs);
      return { chosen, raw };
    };
    /** Where two answers differ (undefined: the same points, values to 1e-9 relative). */
    const difference = (a: QueryResult, b: QueryResult): string | undefined => {
      const pa = a.series[0].points;
      const pb = b.series[0].points;
      if (pa.length !== pb.length) return `${pa.length} vs ${pb.length} points`;
      const i = pa.findIndex((p, j) => {
        const q = pb[j];
        if (p.t !== q.t) return true;
        if (p.v === null || q.v === null) return p.v !== q.v;
        return Math.abs(p.v - q.v) > 1e-9 * Math.max(1, Math.abs(p.v), Math.abs(q.v));
      });
      return i < 0 ? undefined : `at ${new Date(pa[i].t).toISOString()}: ${JSON.stringify(pa[i])} vs ${JSON.stringify(pb[i])}`;
    };

    /** The scenario, on either backend, after the rollups have caught up with the seeded data. */
    const lateScenario = async (b: Backend, mode: 'native' | 'timescaledb') => {
      for (const rollup of ['1m', '1h'] as const) {
        const { chosen, raw } = await answers(b, rollup, 'avg');
        assert.equal(difference(chosen, raw), undefined, `${rollup}: the rollups start out agreeing with raw samples`);
      }
      const batcher = new IngestBatcher({ pool: b.pool, batchSize: 1000, flushIntervalMs: 250, lateAfterMs: 5 * MINUTE });
      try {
        // Current points only: no dirty range.
        batcher.push([{ deviceId: b.deviceId, path: PATH, timestamp: Date.now() - 1000, value: 1 }]);
        await batcher.flush();
        assert.deepEqual(await dirtyRows(b), []);
        assert.equal(batcher.metrics.get('ingest_late_batches_total'), 0);
        // A replayed buffer: two points two days old (in two hours of H0) next to a current one.
        const lateA = H0 + 10 * MINUTE + 10_000;
        const lateB = H0 + 70 * MINUTE + 5_000;
        batcher.push([
          { deviceId: b.deviceId, path: PATH, timestamp: lateA, value: 1000 },
          { deviceId: b.deviceId, path: PATH, timestamp: Date.now(), value: 2 },
          { deviceId: b.deviceId, path: PATH, timestamp: lateB, value: -500 },
        ]);
        await batcher.flush();
        assert.equal(batcher.metrics.get('ingest_points_written_total'), 4);
        assert.deepEqual(await dirtyRows(b), [[lateA, lateB]], 'one range, from the oldest to the newest late point');
        assert.equal(batcher.metrics.get('ingest_late_batches_total'), 1);
      } finally {
        await batcher.close(5000);
      }
      for (const rollup of ['1m', '1h'] as const) {
        const { chosen, raw } = await answers(b, rollup, 'max');
        assert.notEqual(difference(chosen, raw), undefined, `${rollup}: the late points are in raw samples only`);
      }

      const report = await runMaintenance(b.db, settings, Date.now());
      assert.equal(report.mode, mode);
      // Minutes H0+10 … H0+70 (the range between the two points), hours H0 and H0+1.
      assert.equal(report.lateBuckets1m, 61);
      assert.equal(report.lateBuckets1h, 2);
      assert.equal(report.lateRangesLeft, 0);
      assert.deepEqual(await dirtyRows(b), [], 'the processed dirty rows are gone');
      for (const rollup of ['1m', '1h'] as const) {
        for (const agg of ['avg', 'min', 'max', 'last'] as const) {
          const { chosen, raw } = await answers(b, rollup, agg);
          assert.equal(difference(chosen, raw), undefined, `${rollup} ${agg}: rollup vs raw`);
        }
      }
      const minute = (await answers(b, '1m', 'max')).chosen.series[0].points.find((p) => p.t === H0 + 10 * MINUTE);
      assert.equal(minute?.v, 1000, 'the late maximum is in its minute');
      const hour = (await answers(b, '1h', 'min')).chosen.series[0].points.find((p) => p.t === H0 + HOUR);
      assert.equal(hour?.v, -500, 'the late minimum is in its hour');
    };

    before(async () => {
      tdb = await createTestDatabase(`storage_late_${mode}`, { storage: mode });
    });

    after(async () => {
      await tdb?.drop();
    });

    if (mode === 'native')
      it('native: a late point stored by the batcher is recomputed into the 1 m and 1 h rollup tables at the next maintenance run', async () => {
        const b = await seed({ db: tdb.db, query: tdb.pool, pool: tdb.pool });
        await runMaintenance(tdb.db, settings, Date.now()); // the rollups catch up with the seeded data
        await lateScenario(b, 'native');
      });

    if (mode === 'native')
      it('native: the work per run is bounded; what is left waits in the dirty table for the next run', async () => {
        const range = [H0 - HOUR, H0 + HOUR];
        await tdb.pool.query(`DELETE FROM samples_1m WHERE bucket >= to_timestamp($1::float8 / 1000) AND bucket < to_timestamp($2::float8 / 1000)`, range);
        // Two hours dirty, at most 50 minutes per run: three runs.
        await tdb.pool.query(
          `INSERT INTO storage_rollup_dirty (from_time, to_time) VALUES (to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000))`,
          [H0 - HOUR, H0 + HOUR - 1],
        );
        const runs: MaintenanceReport[] = [];
        for (let i = 0; i < 3; i++) runs.push(await runMaintenance(tdb.db, { ...settings, lateSpanPerRunMs: 50 * MINUTE }, Date.now()));
        assert.deepEqual(
          runs.map((r) => [r.lateBuckets1m, r.lateRangesLeft]),
          [
            [50, 1],
            [50, 1],
            [20, 0],
          ],
        );
        const minutes = await tdb.pool.query(
          `SELECT count(*)::int AS n FROM samples_1m WHERE bucket >= to_timestamp($1::float8 / 1000) AND bucket < to_timestamp($2::float8 / 1000)`,
          range,
        );
        assert.equal(minutes.rows[0].n, 120, 'every minute of the range is back');
      });

    if (mode === 'timescaledb')
      it('TimescaleDB: the maintenance run refreshes the continuous aggregates over the late range', async () => {
        const b = await seed({ db: tdb.db, query: tdb.pool, pool: tdb.pool });
        assert.equal(await storageMode(tdb.db), 'timescaledb');
        // As if the refresh policies had run up to now: everything seeded so far is materialized.
        const upto = Math.floor(Date.now() / HOUR) * HOUR;
        await b.query.query(`CALL refresh_continuous_aggregate('samples_1m', NULL, to_timestamp($1::float8 / 1000))`, [upto]);
        await b.query.query(`CALL refresh_continuous_aggregate('samples_1h', NULL, to_timestamp($1::float8 / 1000))`, [upto]);
        await lateScenario(b, 'timescaledb');
      });
  });
}
