/**
 * Binary COPY ingest (storage/copy-binary.ts, ADR 100) on real servers in both storage
 * modes: values and microsecond timestamps arrive exactly; a batch that meets rows
 * already stored (a retried flush, a point sent twice) falls back to the staging path,
 * inserts only what is new and leaves the transaction usable.
 */
import assert from 'node:assert/strict';
import { insertSamplesByCopy } from '../../storage/copy-binary';
import { createTestDatabase, storageModesUnderTest, type TestDatabase } from '../support/db';

for (const mode of storageModesUnderTest()) {
  describe(`storage: binary COPY ingest (${mode})`, function () {
    this.timeout(60_000);
    let tdb: TestDatabase;
    let series: number[];

    before(async () => {
      tdb = await createTestDatabase(`storage_copy_${mode}`, { storage: mode });
      const [dev] = await tdb.db('devices').insert({ name: 'copy', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
      const rows = await tdb.db('series').insert([1, 2, 3].map((i) => ({ device_id: dev.id, path: `/copy/${i}`, kind: 'number' }))).returning('id');
      series = rows.map((r: { id: string }) => Number(r.id));
    });
    after(async () => tdb?.drop());

    const write = async (timeMs: number[], ids: number[], values: number[]) => {
      const c = await tdb.pool.connect();
      try {
        await c.query('BEGIN');
        const n = await insertSamplesByCopy(c, timeMs, ids, values);
        // The transaction is still usable after the fallback.
        const after = Number((await c.query('SELECT count(*) AS n FROM samples')).rows[0].n);
        await c.query('COMMIT');
        return { inserted: n, seenInTransaction: after };
      } finally {
        c.release();
      }
    };

    it('stores times to the microsecond and float8 values exactly', async () => {
      const now = Date.now();
      const times = [now - 3_600_000 + 0.001, now - 1000.5, now];
      const values = [0, -1.5e300, 2 ** 53 + 2];
      const r = await write(times, series, values);
      assert.equal(r.inserted, 3);
      const rows = (
        await tdb.pool.query(
          `SELECT series_id::float8 AS s, (extract(epoch FROM time) * 1000000)::float8 AS us, value FROM samples ORDER BY series_id`,
        )
      ).rows as Array<{ s: number; us: number; value: number }>;
      assert.deepEqual(rows.map((x) => x.s), series);
      assert.deepEqual(rows.map((x) => x.us), times.map((t) => Math.round(t * 1000)));
      assert.deepEqual(rows.map((x) => x.value), values);
    });

    it('a batch overlapping stored rows inserts only the new ones (staging fallback), no error, no duplicates', async () => {
      const before = (await tdb.pool.query(`SELECT (extract(epoch FROM time) * 1000)::float8 AS t, series_id::float8 AS s FROM samples ORDER BY series_id`)).rows as Array<{ t: number; s: number }>;
      const t = Date.now() + 1000;
      // Two rows already stored, two new.
      const r = await write([before[0].t, before[1].t, t, t], [before[0].s, before[1].s, series[0], series[1]], [9, 9, 7, 8]);
      assert.equal(r.inserted, 2);
      assert.equal(r.seenInTransaction, 5);
      const total = Number((await tdb.pool.query('SELECT count(*) AS n FROM samples')).rows[0].n);
      assert.equal(total, 5);
      const kept = Number((await tdb.pool.query('SELECT count(*) AS n FROM samples WHERE value = 9')).rows[0].n);
      assert.equal(kept, 0, 'stored rows are not overwritten');
      // The same batch again (a retried flush): nothing inserted.
      assert.equal((await write([t, t], [series[0], series[1]], [7, 8])).inserted, 0);
    });
  });
}
