/**
 * Fleet queries over more than a thousand series (issue 17, ADR 210), in both storage modes.
 * From BY_TIME_SERIES (1,000) series on, the fleet-rates plan of query/fleet-query.ts finds the
 * 1-minute rollup's newest bucket of the matched series by reading the last minutes by time
 * (`series_id + 0 = ANY(…)`), not by one primary-key probe per series; the other fleet-query
 * suite has six series and never gets there. Here 40 devices × 26 interfaces (1,040 series)
 * are seeded by one INSERT, the rollups and fleet rates are built by the maintenance run at a
 * chosen "now" (so the newest minutes stay raw samples past the rollup's newest bucket), and
 * the fleet total, the total per site and the top devices are compared with a reference
 * computed here from the raw rows. One series resets its counter within the fleet rates'
 * minutes and one within the raw tail; one series stops early and one stops a minute before
 * the rollup's newest bucket. Each answer says which lookup answered: the statements the
 * query ran are recorded, the by-time lookup's answer checked against the per-series one.
 */
import assert from 'node:assert/strict';
import { runMaintenance, type MaintenanceSettings } from '../../storage/storage-mode';
import { queryFleet, type FleetQuery, type FleetResult } from '../../query/fleet-query';
import { HOUR_MS, MINUTE_MS, type Queryable } from '../../query/router';
import { createTestDatabase, storageModesUnderTest, type TestDatabase } from '../support/db';
import { fleetRateReference, near, rawRows } from '../support/fleet-reference';

const DEVICES = 40;
const PORTS = 26;
const SITES = ['ams', 'fra', 'lon', null] as const;
const EVERY_MS = 15_000;
/** Six hours back, hour-aligned: outside the TimescaleDB refresh policy's 3-hour window, so only the maintenance runs here roll it up. */
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 6 * HOUR_MS;
/** 24 minutes of samples every 15 s (96 per series). */
const SAMPLES = 96;
const LAST_SAMPLE = T0 + (SAMPLES - 1) * EVERY_MS;
/** Series by their place in the fleet (ordered by id): counter resets at 6:15 and 21:15, stops after 8:45 and after 16:45. */
const RESET_EARLY = { k: 5, fromSample: 25 };
const RESET_TAIL = { k: 700, fromSample: 85 };
const STOP_EARLY = { k: 333, lastSample: 35 };
const STOP_LATE = { k: 900, lastSample: 67 };
/** The first maintenance run's now: minutes before 18 are rolled up, fleet rates hold minutes before 16, 18:00–23:45 stay raw. */
const FIRST_NOW = T0 + 18 * MINUTE_MS + 30_000;
/** The second run's now, long after the last sample: everything rolled up, the fleet rates' watermark past the data. */
const SECOND_NOW = T0 + 40 * MINUTE_MS + 30_000;
const SETTINGS: MaintenanceSettings = { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 2, lateSpanPerRunMs: 24 * HOUR_MS };
/** Every interface's in-octets: whole devices' shapes, so the fleet rates answer. */
const IN_OCTETS = '/interfaces/interface[name=*]/state/counters/in-octets';

interface Fleet {
  tdb: TestDatabase;
  deviceIds: number[];
  /** Series ids in fleet order (k), each with its device's name and site. */
  series: Array<{ id: number; device: string; site: string | null }>;
}

async function seed(tdb: TestDatabase): Promise<Fleet> {
  const rowsOfDevices = Array.from({ length: DEVICES }, (_, d) => ({ name: `fb-sw${String(d).padStart(2, '0')}`, site: SITES[d % SITES.length], protocol: 'gnmi', host: '127.0.0.1', port: 1 }));
  const devices = await tdb.db('devices').insert(rowsOfDevices).returning(['id', 'name', 'site']);
  const deviceIds = devices.map((d) => Number(d.id));
  await tdb.pool.query(
    `INSERT INTO series (device_id, path, kind)
     SELECT d, '/interfaces/interface[name=Ethernet' || p || ']/state/counters/in-octets', 'number'
       FROM unnest($1::int[]) AS d, generate_series(1, $2::int) AS p ORDER BY d, p`,
    [deviceIds, PORTS],
  );
  const byId = new Map(devices.map((d) => [Number(d.id), d]));
  const rows = (await tdb.pool.query<{ id: string; device_id: number }>(`SELECT id, device_id FROM series ORDER BY id`)).rows;
  const series = rows.map((r) => ({ id: Number(r.id), device: byId.get(r.device_id)!.name as string, site: byId.get(r.device_id)!.site as string | null }));
  assert.equal(series.length, DEVICES * PORTS);
  // Series k counts (1000 + 37 k) bytes a second from 1e9 + k·1e6, give or take up to 3,000 per sample (so each minute's rate differs
  // and a minute read twice or not at all shows); a reset starts again from zero.
  await tdb.pool.query(
    `WITH s AS (SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS k FROM series)
     INSERT INTO samples (time, series_id, value)
     SELECT to_timestamp(($1::float8 + i * $2::float8) / 1000), s.id,
            500 * ((i * i + s.k) % 7) +
            CASE WHEN s.k = $3 AND i >= $4 THEN (1000 + 37 * s.k) * 15.0 * (i - $4 + 1)
                 WHEN s.k = $5 AND i >= $6 THEN (1000 + 37 * s.k) * 15.0 * (i - $6 + 1)
                 ELSE 1e9 + s.k * 1e6 + (1000 + 37 * s.k) * 15.0 * i END
       FROM s CROSS JOIN generate_series(0, $7::int - 1) AS i
      WHERE NOT (s.k = $8 AND i > $9) AND NOT (s.k = $10 AND i > $11)`,
    [T0, EVERY_MS, RESET_EARLY.k, RESET_EARLY.fromSample, RESET_TAIL.k, RESET_TAIL.fromSample, SAMPLES, STOP_EARLY.k, STOP_EARLY.lastSample, STOP_LATE.k, STOP_LATE.lastSample],
  );
  await runMaintenance(tdb.db, SETTINGS, FIRST_NOW);
  return { tdb, deviceIds, series };
}

function assertMatches(got: FleetResult, want: ReturnType<typeof fleetRateReference>, label: string) {
  assert.deepEqual([got.resolution, got.bucketMs], ['1m', MINUTE_MS], `${label}: 1-minute steps`);
  assert.deepEqual(
    got.groups.map((g) => [g.key, g.series, g.points.map((p) => p.t)]),
    want.map((g) => [g.key, g.series, g.points.map((p) => p.t)]),
    `${label}: groups and steps`,
  );
  for (const [i, g] of got.groups.entries()) {
    assert.ok(near(g.mean, want[i].mean), `${label} ${g.key}: mean ${g.mean} vs reference ${want[i].mean}`);
    for (const [j, p] of g.points.entries()) {
      assert.ok(near(p.v, want[i].points[j].v), `${label} ${g.key} at +${(p.t - T0) / MINUTE_MS} min: ${p.v} vs reference ${want[i].points[j].v}`);
    }
  }
}

/** A statement the query ran and what it answered. */
interface Ran {
  text: string;
  values: unknown[];
  rows: Array<Record<string, unknown>>;
}

/** The newest-bucket lookups of the fleet-rates plan: by time over many series, or per series. */
const NEWEST_BUCKET = /AS ms FROM samples_1m WHERE series_id( \+ 0)? = ANY/;

for (const mode of storageModesUnderTest()) {
  describe(`storage: fleet queries over 1,040 series, newest rollup bucket found by time (${mode === 'timescaledb' ? 'TimescaleDB' : 'native PostgreSQL'})`, function () {
    this.timeout(240_000);
    let f: Fleet;

    before(async () => {
      f = await seed(await createTestDatabase(`fleet_by_time_${mode}`, { storage: mode }));
    });
    after(async () => {
      await f?.tdb.drop();
    });

    /** Run a fleet query through a fresh pool wrapper (nothing kept from earlier queries) recording each statement and its rows. */
    const run = async (q: Omit<FleetQuery, 'deviceIds'>): Promise<{ got: FleetResult; ran: Ran[] }> => {
      const ran: Ran[] = [];
      const db: Queryable = {
        query: async <R>(text: string, values: unknown[] = []) => {
          const res = await f.tdb.pool.query(text, values);
          ran.push({ text, values, rows: res.rows });
          return res as unknown as { rows: R[] };
        },
      };
      return { got: await queryFleet(db, { ...q, deviceIds: f.deviceIds }), ran };
    };
    const lookups = (ran: Ran[]) =>
      ran.filter((r) => NEWEST_BUCKET.test(r.text)).map((r) => ({ byTime: r.text.includes('series_id + 0'), ms: r.rows[0].ms === null ? null : Number(r.rows[0].ms) }));
    /** The rollup's newest bucket of every series, asked the plain way. */
    const newestBucket = async () =>
      Number((await f.tdb.pool.query(`SELECT (extract(epoch FROM max(bucket)) * 1000)::float8 AS ms FROM samples_1m WHERE series_id = ANY($1::bigint[])`, [f.series.map((s) => s.id)])).rows[0].ms);

    it('with the newest minutes still raw: the by-time lookup answers, and fleet total, per site and top devices match the reference', async () => {
      const raw = await rawRows(f.tdb.pool);
      const newest = await newestBucket();
      assert.equal(newest, T0 + 17 * MINUTE_MS, 'the first maintenance run rolled up the minutes before 18');
      assert.ok(
        raw.get(f.series[0].id)!.some((r) => r.t >= newest + MINUTE_MS),
        'raw samples past the rollup newest bucket (the tail the statement reads raw)',
      );
      const range = { path: IN_OCTETS, from: T0 + 2 * MINUTE_MS, to: LAST_SAMPLE, widthPx: 20, rate: true } as const;
      const site = (k: number) => f.series[k].site ?? '(no site)';
      const cases = [
        { label: 'fleet total', q: { ...range, agg: 'sum' }, ref: { agg: 'sum', groupOf: () => 'sum' } },
        { label: 'fleet average', q: { ...range, agg: 'avg' }, ref: { agg: 'avg', groupOf: () => 'avg' } },
        { label: 'series counted', q: { ...range, agg: 'count' }, ref: { agg: 'count', groupOf: () => 'count' } },
        { label: 'total per site', q: { ...range, agg: 'sum', groupBy: 'site' }, ref: { agg: 'sum', groupOf: site } },
        { label: 'top 5 devices', q: { ...range, agg: 'sum', groupBy: 'device', top: 5 }, ref: { agg: 'sum', groupOf: (k: number) => f.series[k].device, top: 5 } },
      ] as const;
      for (const c of cases) {
        const { got, ran } = await run(c.q);
        assert.equal(got.seriesCount, DEVICES * PORTS, `${c.label}: every series matched`);
        assert.deepEqual(lookups(ran), [{ byTime: true, ms: newest }], `${c.label}: one newest-bucket lookup, by time, with the per-series answer`);
        assert.ok(ran.some((r) => r.text.includes('FROM fleet_rates_1m')), `${c.label}: the minutes before the tail read the fleet rates`);
        const tail = ran.find((r) => r.text.includes('AS m(s, g)'));
        assert.equal(tail?.values[8], newest + MINUTE_MS, `${c.label}: the tail statement takes raw samples from the minute after the newest bucket`);
        assertMatches(got, fleetRateReference(raw, f.series, { from: range.from, to: range.to, ...c.ref }), c.label);
      }
      // What the data holds, seen in the answers: the top devices by rate, the early stop and the resets.
      const { got: top } = await run({ ...range, agg: 'sum', groupBy: 'device', top: 5 });
      assert.deepEqual(top.groups.map((g) => g.key), ['fb-sw39', 'fb-sw38', 'fb-sw37', 'fb-sw36', 'fb-sw35'], 'the devices with the highest port numbers k count fastest');
      const { got: count } = await run({ ...range, agg: 'count' });
      const counted = (minute: number) => count.groups[0].points.find((p) => p.t === T0 + minute * MINUTE_MS)!.v;
      assert.equal(counted(5), DEVICES * PORTS, 'every series has a rate at 5 min');
      assert.equal(counted(6), DEVICES * PORTS - 1, 'the early reset leaves out its minute');
      assert.equal(counted(12), DEVICES * PORTS - 1, 'the early stop leaves out the minutes after it');
      assert.equal(counted(19), DEVICES * PORTS - 2, 'and the late stop, in the raw tail');
      assert.equal(counted(21), DEVICES * PORTS - 3, 'and the reset in the raw tail');
    });

    it('once every series has stopped: the by-time lookup finds nothing near the end, the per-series lookup answers, and the answers match the reference', async () => {
      await runMaintenance(f.tdb.db, SETTINGS, SECOND_NOW);
      const raw = await rawRows(f.tdb.pool);
      const newest = await newestBucket();
      assert.equal(newest, T0 + 23 * MINUTE_MS, 'the second maintenance run rolled up every minute');
      // Up to 30 min: the fleet rates' watermark is past it, so the by-time lookup looks from minute 28 on, where there is nothing.
      const range = { path: IN_OCTETS, from: T0 + 2 * MINUTE_MS, to: T0 + 30 * MINUTE_MS, widthPx: 28, rate: true } as const;
      for (const [label, q, ref] of [
        ['fleet total', { ...range, agg: 'sum' }, { agg: 'sum', groupOf: () => 'sum' }],
        ['total per site', { ...range, agg: 'sum', groupBy: 'site' }, { agg: 'sum', groupOf: (k: number) => f.series[k].site ?? '(no site)' }],
        ['top 3 devices', { ...range, agg: 'sum', groupBy: 'device', top: 3 }, { agg: 'sum', groupOf: (k: number) => f.series[k].device, top: 3 }],
      ] as const) {
        const { got, ran } = await run(q);
        assert.deepEqual(lookups(ran), [{ byTime: true, ms: null }, { byTime: false, ms: newest }], `${label}: by time first (nothing), then per series`);
        assert.ok(ran.some((r) => r.text.includes('FROM fleet_rates_1m')), `${label}: read the fleet rates`);
        assertMatches(got, fleetRateReference(raw, f.series, { from: range.from, to: range.to, ...ref }), label);
        assert.ok(got.groups[0].points.filter((p) => p.t > newest).every((p) => p.v === null), `${label}: no value after the last minute`);
      }
    });
  });
}
