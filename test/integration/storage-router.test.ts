/**
 * The query router on real servers in both storage modes: TimescaleDB 2.28.3 (hypertables,
 * continuous aggregates refreshed for the first 40 hours only, so the router completes the
 * rest from raw samples) and native PostgreSQL (partitions, rollup tables kept by the
 * maintenance activity). Each mode's answers are checked on their own and, for TimescaleDB,
 * point by point against a native database holding the same data.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { runMaintenance, storageMode } from '../../storage/storage-mode';
import { migrateDownAll, migrateLatest } from '../../migrations/index';
import { querySeries, type Queryable, type QueryResult, type SeriesQuery } from '../../query/router';
import { createTestDatabase, storageModesUnderTest, type StorageMode, type TestDatabase } from '../support/db';

const HOUR = 3_600_000;
const STEP = 30_000;
const IN = (ifname: string) => `/interfaces/interface[name=${ifname}]/state/counters/in-octets`;
const OUT1 = '/interfaces/interface[name=Ethernet1]/state/counters/out-octets';
const CPU = '/system/cpu/state/utilization';

/** Start of the data: 48 h of 30 s samples ending two hours before now. */
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 50 * HOUR;
const END = T0 + 48 * HOUR;
const RESET_AT = T0 + 20 * HOUR;
const HOLE = { from: T0 + 30 * HOUR, to: T0 + 32 * HOUR };
const WRAP_START = 2 ** 32 - 3_000_000 * 1200; // Ethernet2 wraps after 10 h at 100 kB/s

interface Backend {
  name: StorageMode;
  db: Knex;
  pool: Queryable;
  tdb: TestDatabase;
}

async function openBackend(mode: StorageMode): Promise<Backend> {
  const tdb = await createTestDatabase(`storage_router_${mode}`, {
    storage: mode,
  });
  return { name: mode, db: tdb.db, pool: tdb.pool, tdb };
}

/** Deterministic rows for every series: [seriesIndex, time, value]. */
function* rows(): Generator<[number, number, number]> {
  let i = 0;
  for (let t = T0; t < END; t += STEP, i++) {
    const jitter = (i * 7919) % 1000;
    // 0: device 1 Ethernet1 in-octets, reset to zero at RESET_AT.
    yield [0, t, t < RESET_AT ? 1e9 + i * 50_000 + jitter : ((t - RESET_AT) / STEP) * 50_000 + jitter];
    // 1: device 1 Ethernet2 in-octets, a 32-bit counter that wraps.
    yield [1, t, (WRAP_START + i * 3_000_000) % 2 ** 32];
    // 2: device 1 Ethernet1 out-octets (not matched by the in-octets pattern).
    yield [2, t, i * 10];
    // 3: device 1 CPU gauge.
    yield [3, t, 20 + ((i * 37) % 60)];
    // 4: device 2 Ethernet1 in-octets, nothing received during HOLE.
    if (t < HOLE.from || t >= HOLE.to) yield [4, t, i * 1_000];
  }
}

const SERIES: Array<[number, string]> = [
  [1, IN('Ethernet1')],
  [1, IN('Ethernet2')],
  [1, OUT1],
  [1, CPU],
  [2, IN('Ethernet1')],
];

async function seed(b: Backend): Promise<number[]> {
  const [d1] = await b.db('devices').insert({ name: 'sw1', protocol: 'gnmi', host: 'h1', port: 1 }).returning('id');
  const [d2] = await b.db('devices').insert({ name: 'sw2', protocol: 'gnmi', host: 'h2', port: 1 }).returning('id');
  const deviceIds = [Number(d1.id), Number(d2.id)];
  const ids: number[] = [];
  for (const [dev, path] of SERIES) {
    const [row] = await b
      .db('series')
      .insert({ device_id: deviceIds[dev - 1], path, kind: 'number' })
      .returning('id');
    ids.push(Number(row.id));
  }
  await b.db('gaps').insert({
    device_id: deviceIds[1],
    started_at: new Date(HOLE.from - 10_000),
    ended_at: new Date(HOLE.to),
    reason: 'test',
  });
  let t: number[] = [];
  let s: number[] = [];
  let v: number[] = [];
  const flush = async () => {
    await b.pool.query(
      `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000), s, v FROM unnest($1::float8[], $2::bigint[], $3::float8[]) AS u(t, s, v)`,
      [t, s, v],
    );
    t = [];
    s = [];
    v = [];
  };
  for (const [idx, time, value] of rows()) {
    t.push(time);
    s.push(ids[idx]);
    v.push(value);
    if (t.length >= 2000) await flush();
  }
  if (t.length) await flush();
  return deviceIds;
}

/** Compare two results: same shape, same times, values equal to 1e-9 relative. */
function assertSameResult(a: QueryResult, b: QueryResult, label: string) {
  assert.equal(a.resolution, b.resolution, `${label}: resolution`);
  assert.equal(a.bucketMs, b.bucketMs, `${label}: bucketMs`);
  assert.deepEqual(
    a.series.map((s) => [s.seriesId, s.path, s.points.length]),
    b.series.map((s) => [s.seriesId, s.path, s.points.length]),
    `${label}: series`,
  );
  for (let i = 0; i < a.series.length; i++) {
    const pa = a.series[i].points;
    const pb = b.series[i].points;
    for (let j = 0; j < pa.length; j++) {
      assert.equal(pa[j].t, pb[j].t, `${label}: series ${i} point ${j} time`);
      if (pa[j].v === null || pb[j].v === null) {
        assert.equal(pa[j].v, pb[j].v, `${label}: series ${i} point ${j} null`);
      } else {
        const x = pa[j].v as number;
        const y = pb[j].v as number;
        assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y)), `${label}: series ${i} point ${j}: ${x} vs ${y}`);
      }
    }
  }
}

for (const mode of storageModesUnderTest()) {
  describe(`storage: the query router over ${mode === 'timescaledb' ? 'TimescaleDB' : 'native PostgreSQL'}`, function () {
    this.timeout(120_000);
    /** The backend under test. */
    let subject: Backend;
    /** Native PostgreSQL with the same data (the subject itself in native mode). */
    let reference: Backend;
    let devices: number[];

    before(async () => {
      subject = await openBackend(mode);
      reference = mode === 'native' ? subject : await openBackend('native');
      // Same device ids on both sides (the test database starts device ids at a random value).
      const seq = await subject.pool.query<{ v: string }>(`SELECT last_value::text AS v FROM devices_id_seq`);
      devices = await seed(subject);
      if (reference !== subject) {
        await reference.pool.query(`SELECT setval('devices_id_seq', $1::bigint)`, [seq.rows[0].v]);
        assert.deepEqual(await seed(reference), devices);
      }
      // Native: the maintenance activity rolls everything up. TimescaleDB: refresh only the first
      // 40 hours, so the router must complete the rest from raw samples and still agree.
      await runMaintenance(reference.db, {
        retentionDays: 30,
        rollupRetentionDays: 400,
        partitionsAheadDays: 2,
      });
      if (mode === 'timescaledb') {
        await subject.pool.query(`CALL refresh_continuous_aggregate('samples_1m', NULL, to_timestamp($1::float8 / 1000))`, [T0 + 40 * HOUR]);
        await subject.pool.query(`CALL refresh_continuous_aggregate('samples_1h', NULL, to_timestamp($1::float8 / 1000))`, [T0 + 40 * HOUR]);
      }
    });

    after(async () => {
      if (reference !== subject) await reference?.tdb.drop();
      await subject?.tdb.drop();
    });

    if (mode === 'timescaledb')
      it('TimescaleDB: hypertables with compression and retention, continuous aggregates at 1 m and 1 h with refresh policies', async () => {
        assert.equal(await storageMode(subject.db), 'timescaledb');
        const hyper = await subject.pool.query(`SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables ORDER BY 1`);
        assert.deepEqual(
          hyper.rows.map((r) => [r.hypertable_name, r.compression_enabled]),
          [
            ['samples', true],
            ['states', true],
          ],
        );
        const caggs = await subject.pool.query(`SELECT view_name FROM timescaledb_information.continuous_aggregates ORDER BY 1`);
        assert.deepEqual(
          caggs.rows.map((r) => r.view_name),
          ['samples_1h', 'samples_1m'],
        );
        const jobs = await subject.pool.query(
          `SELECT proc_name, hypertable_name FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL ORDER BY 2, 1`,
        );
        const got = jobs.rows.map((r) => `${r.hypertable_name}:${r.proc_name}`);
        for (const want of ['samples:policy_compression', 'samples:policy_retention', 'states:policy_compression', 'states:policy_retention']) {
          assert.ok(got.includes(want), `missing ${want} in ${got.join(', ')}`);
        }
        assert.equal(got.filter((g) => g.endsWith('policy_refresh_continuous_aggregate')).length, 2);
        const seg = await subject.pool.query(
          `SELECT attname FROM timescaledb_information.compression_settings WHERE hypertable_name = 'samples' AND segmentby_column_index IS NOT NULL`,
        );
        assert.deepEqual(
          seg.rows.map((r) => r.attname),
          ['series_id'],
        );
      });

    if (mode === 'native')
      it('PostgreSQL: daily range partitions, BRIN on time, primary key (series_id, time), rollup tables filled', async () => {
        assert.equal(await storageMode(subject.db), 'native');
        const idx = await subject.pool.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'samples' ORDER BY 1`);
        const defs = idx.rows.map((r) => r.indexdef as string);
        assert.ok(
          defs.some((d) => /USING brin \(("?)time\1\)/.test(d)),
          defs.join('\n'),
        );
        assert.ok(
          defs.some((d) => /UNIQUE INDEX .* USING btree \(series_id, "?time"?\)/.test(d)),
          defs.join('\n'),
        );
        const parts = await subject.pool.query(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'samples'::regclass ORDER BY 1`,
        );
        const names = parts.rows.map((r) => r.relname as string);
        const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
        assert.ok(names.includes(`samples_p${today}`) && names.includes('samples_default'), names.join(' '));
        // Maintenance moved the back-filled days out of the default partition.
        const stray = await subject.pool.query(`SELECT count(*)::int AS n FROM samples_default`);
        assert.equal(stray.rows[0].n, 0);
        const raw = await subject.pool.query(`SELECT count(*)::int AS n FROM samples`);
        const rolled = await subject.pool.query(`SELECT sum(count)::int AS n FROM samples_1m`);
        const hourly = await subject.pool.query(`SELECT sum(count)::int AS n FROM samples_1h`);
        assert.equal(rolled.rows[0].n, raw.rows[0].n);
        assert.equal(hourly.rows[0].n, raw.rows[0].n);
      });

    /** The subject's answer, and the native reference's for the same query, which must agree. */
    const inBoth = async (q: Omit<SeriesQuery, 'deviceIds'> & { devices?: number[] }) => {
      const query = (b: Backend) =>
        querySeries(b.pool, {
          ...q,
          deviceIds: (q.devices ?? [1, 2]).map((d) => devices[d - 1]),
        });
      return {
        subject: await query(subject),
        reference: await query(reference),
      };
    };

    it('one hour on 600 px reads raw samples in 6 s steps; a counter reset breaks the rate line', async () => {
      const r = await inBoth({
        path: IN('*'),
        from: RESET_AT - HOUR / 2,
        to: RESET_AT + HOUR / 2,
        widthPx: 600,
        rate: true,
        devices: [1],
      });
      assertSameResult(r.subject, r.reference, 'raw');
      assert.equal(r.subject.resolution, 'raw');
      assert.equal(r.subject.bucketMs, 6000);
      assert.deepEqual(
        r.subject.series.map((s) => s.path),
        [IN('Ethernet1'), IN('Ethernet2')],
      );
      const eth1 = r.subject.series[0].points;
      assert.ok(
        eth1.every((p) => p.v === null || p.v >= 0),
        'rates are never negative',
      );
      const nulls = eth1.filter((p) => p.v === null);
      assert.equal(nulls.length, 1);
      assert.equal(nulls[0].t, RESET_AT);
      // 50 000 octets per 30 s, give or take the jitter.
      const steady = eth1.filter((p) => p.v !== null).map((p) => p.v as number);
      assert.ok(
        steady.every((v) => v > 1500 && v < 1800),
        `rates ${steady.slice(0, 5).join(', ')}…`,
      );
    });

    it('24 hours on 1000 px reads the 1-minute rollup; a 32-bit wrap keeps the rate continuous', async () => {
      for (const agg of ['avg', 'min', 'max', 'last'] as const) {
        const r = await inBoth({
          path: IN('*'),
          from: T0 + 4 * HOUR,
          to: T0 + 28 * HOUR,
          widthPx: 1000,
          agg,
        });
        assertSameResult(r.subject, r.reference, `1m ${agg}`);
        assert.equal(r.subject.resolution, '1m');
        assert.equal(r.subject.bucketMs, 60_000);
        assert.equal(r.subject.series.length, 3);
        assert.ok(r.subject.series[0].points.length >= 1400 && r.subject.series[0].points.length <= 1441);
      }
      const rate = await inBoth({
        path: IN('Ethernet2'),
        from: T0 + 4 * HOUR,
        to: T0 + 28 * HOUR,
        widthPx: 1000,
        rate: true,
        devices: [1],
      });
      assertSameResult(rate.subject, rate.reference, '1m rate');
      const points = rate.subject.series[0].points;
      assert.ok(
        points.slice(0, -1).every((p) => p.v !== null && Math.abs(p.v - 100_000) < 1),
        'constant 100 kB/s across the wrap at 10 h',
      );
      // The step at `to` holds only the sample at `to`, not the minute's later one (ADR 240): half a minute's increase over the minute between steps.
      assert.equal(points.at(-1)!.t, T0 + 28 * HOUR);
      assert.ok(Math.abs(points.at(-1)!.v! - 50_000) < 1, `the step at \`to\`: ${points.at(-1)!.v}`);
    });

    it('48 hours on 40 px reads the 1-hour rollup; the data hole and the recorded gap come back as nulls', async () => {
      for (const agg of ['avg', 'min', 'max', 'last'] as const) {
        const r = await inBoth({
          path: '/interfaces/...',
          from: T0,
          to: END,
          widthPx: 40,
          agg,
        });
        assertSameResult(r.subject, r.reference, `1h ${agg}`);
        assert.equal(r.subject.resolution, '1h');
        assert.equal(r.subject.bucketMs, HOUR);
      }
      const r = await inBoth({
        path: IN('Ethernet1'),
        from: T0 + 24 * HOUR,
        to: T0 + 40 * HOUR,
        widthPx: 1000,
        agg: 'avg',
        devices: [2],
      });
      assertSameResult(r.subject, r.reference, 'gap');
      const points = r.subject.series[0].points;
      const nulls = points.filter((p) => p.v === null).map((p) => p.t);
      assert.ok(nulls.length >= 1, 'the line breaks');
      assert.ok(
        nulls.every((t) => t >= HOLE.from - 60_000 && t <= HOLE.to),
        `nulls at ${nulls.map((t) => (t - T0) / HOUR)}`,
      );
      // A step is labelled by its start, so the step holding the first point after the hole may start inside it.
      const bucket = r.subject.bucketMs;
      assert.ok(!points.some((p) => p.v !== null && p.t >= HOLE.from && p.t < HOLE.to - bucket), 'no values inside the hole');
    });

    it('a minute on 1000 px returns raw points unchanged; patterns match by grammar and unknown paths match nothing', async () => {
      const r = await inBoth({
        path: CPU,
        from: T0 + HOUR,
        to: T0 + HOUR + 60_000,
        widthPx: 1000,
        devices: [1],
      });
      assertSameResult(r.subject, r.reference, 'raw points');
      assert.equal(r.subject.bucketMs, 0);
      assert.deepEqual(
        r.subject.series[0].points.map((p) => p.t),
        [T0 + HOUR, T0 + HOUR + 30_000, T0 + HOUR + 60_000],
      );
      const none = await inBoth({
        path: "/interfaces/interface[name=x' OR 1=1 --]/state",
        from: T0,
        to: END,
        widthPx: 100,
      });
      assert.equal(none.subject.series.length, 0);
      assert.equal(none.reference.series.length, 0);
      const keyed = await inBoth({
        path: '/interfaces/interface[name=Eth*1]/state/counters/*',
        from: T0,
        to: END,
        widthPx: 10,
        devices: [1],
      });
      assert.deepEqual(
        keyed.subject.series.map((s) => s.path),
        [IN('Ethernet1'), OUT1],
      );
      await assert.rejects(
        querySeries(subject.pool, {
          deviceIds: devices,
          path: 'interfaces[',
          from: 0,
          to: 1,
          widthPx: 1,
        }),
        /INVALID_PATH/,
      );
    });

    it('migrations go down completely and up again in the same mode', async () => {
      await migrateDownAll(subject.db);
      const left = await subject.pool.query(
        `SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname ~ '^(samples|states|series|devices|gaps|storage_)'`,
      );
      assert.equal(left.rows[0].n, 0, `${mode}: tables left after down`);
      await migrateLatest(subject.db, {
        storageTimescaledb: mode === 'timescaledb' ? 'on' : 'off',
      });
      assert.equal(await storageMode(subject.db), mode);
    });
  });
}
