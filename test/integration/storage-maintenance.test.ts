/**
 * Native-mode maintenance: the workflow the schedule starts runs the activity on a
 * real Temporal server; partitions are created ahead and dropped past retention;
 * rollups follow new and late data incrementally.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createMaintenanceActivities, refreshRollups, runMaintenance, type MaintenanceReport } from '../../activities/maintenance';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { quietWorkerRuntime, temporalAddress } from '../support/env';
import { testClient } from '../support/system';

const DAY = 86_400_000;
const settings = { retentionDays: 3, rollupRetentionDays: 10, partitionsAheadDays: 2 };

describe('storage: native maintenance (partitions and rollups)', function () {
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
    tdb = await createTestDatabase('storage_maint');
    client = await testClient();
    const [d] = await tdb.db('devices').insert({ name: 'sw', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
    const [s] = await tdb.db('series').insert({ device_id: d.id, path: '/x', kind: 'number' }).returning('id');
    seriesId = Number(s.id);
  });

  after(async () => {
    await client?.connection.close();
    await tdb?.drop();
  });

  it('the storage-maintenance workflow runs the activity through Temporal and creates partitions ahead', async () => {
    const taskQueue = `storage-maint-${crypto.randomBytes(4).toString('hex')}`;
    const connection = await NativeConnection.connect({ address: temporalAddress() });
    const future = Date.now() + 10 * DAY; // as if the schedule ran ten days from now
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
      assert.equal(report.mode, 'native');
      for (let i = 0; i <= 2; i++) assert.ok(report.partitionsCreated.includes(day(future + i * DAY)), `${day(future + i * DAY)} created`);
      // Today's partition (from the migration) is older than 3 days at `future`: dropped.
      assert.ok(report.partitionsDropped.includes(day(Date.now())));
      const now = await partitions();
      assert.ok(!now.includes(day(Date.now())) && now.includes(day(future + 2 * DAY)));
    } finally {
      await connection.close();
    }
  });

  it('rolls up incrementally, picks up late points within the lookback, and drops expired raw rows', async () => {
    const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const insert = (t: number, v: number) =>
      tdb.pool.query(`INSERT INTO samples (time, series_id, value) VALUES (to_timestamp($1::float8 / 1000), $2, $3)`, [t, seriesId, v]);
    for (let i = 0; i < 120; i++) await insert(base + i * 30_000, i); // one hour, 30 s apart
    await refreshRollups(tdb.db, base + 3_600_000 + 60_000);
    const minute = async (t: number) =>
      (await tdb.pool.query(`SELECT min, max, avg, last, count::int FROM samples_1m WHERE series_id = $1 AND bucket = to_timestamp($2::float8 / 1000)`, [seriesId, t]))
        .rows[0];
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
});
