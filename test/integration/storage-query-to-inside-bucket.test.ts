/**
 * `to` inside a rolled-up bucket (issue 17, ADR 240), in both storage modes: no sample after `to`
 * ever counts, whether the bucket holding `to` has been rolled up yet or not. Three devices with
 * two in-octets counters and a CPU gauge each are sampled every 10 s (each series a second later
 * than the one before, so every minute has samples on both sides of a `to` within it) for 2 h 10 min,
 * six hours back (outside TimescaleDB's own refresh window). The query router and the fleet query are
 * asked with `to` inside a minute, on a minute boundary and inside an hour, once while everything is
 * raw and again after the rollups (and the fleet rates) hold those buckets: the answers are the same
 * and equal a reference computed here from the raw rows at or before `to`. One counter resets just
 * after `to`, inside its minute (the whole minute's last value would give that step no rate). Last,
 * where a minute's raw samples are gone (as retention drops them), its rollup row answers, whole; and
 * with `to` inside a rolled-up hour, raw rows changed in its whole minutes do not show (the 1-minute
 * rollup answers for them) while those changed in the minute holding `to` do (ADR 255).
 */
import assert from 'node:assert/strict';
import { runMaintenance, type MaintenanceSettings } from '../../storage/storage-mode';
import { queryFleet, type FleetQuery, type FleetResult } from '../../query/fleet-query';
import { HOUR_MS, MINUTE_MS, querySeries, type Queryable, type QueryResult, type SeriesQuery } from '../../query/router';
import { counterIncrease } from '../../query/rate';
import { createTestDatabase, storageModesUnderTest, type TestDatabase } from '../support/db';
import { fleetRateReference, near, rawRows } from '../support/fleet-reference';

const EVERY_MS = 10_000;
/** Hour-aligned, six hours back: TimescaleDB's 1-minute refresh policy (3 h back) never reaches the data. */
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 6 * HOUR_MS;
/** 2 h 10 min of samples. */
const SAMPLES = 780;
const SITES = ['ams', 'fra', null] as const;
const IN_OCTETS = '/interfaces/interface[name=*]/state/counters/in-octets';
const CPU = '/system/cpu/state/utilization';
/** Inside minute 70 (samples of that minute at :20–:29 and up to :59 past it). */
const TO_MINUTE = T0 + 70 * MINUTE_MS + 25_000;
/** On a minute boundary: series 0's sample at exactly `to` counts, the minute's later ones do not. */
const TO_BOUNDARY = T0 + 75 * MINUTE_MS;
/** Inside the second hour (rolled up whole by then). */
const TO_HOUR = T0 + 80 * MINUTE_MS + 25_000;
/** Inside minute 50, whose raw samples the last test deletes. */
const TO_DROPPED = T0 + 50 * MINUTE_MS + 25_000;
/** Series 1 (sw0 Ethernet2) restarts its counter at its first sample after TO_MINUTE. */
const RESET_SERIES = 1;
/** Everything rolled up: 1-minute and 1-hour buckets, fleet rates. */
const NOW = T0 + 2 * HOUR_MS + 15 * MINUTE_MS;
const SETTINGS: MaintenanceSettings = { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 2, lateSpanPerRunMs: 24 * HOUR_MS };

interface Fleet {
  tdb: TestDatabase;
  deviceIds: number[];
  /** In fleet order k (by id): 3 per device, Ethernet1 and Ethernet2 in-octets then CPU. */
  series: Array<{ id: number; device: string; site: string | null; path: string }>;
}

async function seed(tdb: TestDatabase): Promise<Fleet> {
  const devices = await tdb
    .db('devices')
    .insert(SITES.map((site, d) => ({ name: `tb-sw${d}`, site, protocol: 'gnmi', host: '127.0.0.1', port: 1 })))
    .returning(['id', 'name', 'site']);
  const series: Fleet['series'] = [];
  for (const d of devices) {
    for (const path of [IN_OCTETS.replace('*', 'Ethernet1'), IN_OCTETS.replace('*', 'Ethernet2'), CPU]) {
      const [row] = await tdb.db('series').insert({ device_id: d.id, path, kind: 'number' }).returning('id');
      series.push({ id: Number(row.id), device: d.name, site: d.site, path });
    }
  }
  // Series k is sampled k seconds after the 10 s grid. Counters count (1000 + 37 k) bytes a second give or take up to 3,000
  // (so the samples after `to` change a minute's last value); the CPU gauge moves every sample.
  const resetFrom = Math.floor((TO_MINUTE - T0 - RESET_SERIES * 1000) / EVERY_MS) + 1;
  await tdb.pool.query(
    `WITH s AS (SELECT id, ord - 1 AS k FROM unnest($1::bigint[]) WITH ORDINALITY AS s(id, ord))
     INSERT INTO samples (time, series_id, value)
     SELECT to_timestamp(($2::float8 + s.k * 1000 + i * $3::float8) / 1000), s.id,
            CASE WHEN s.k % 3 = 2 THEN 20 + (i * 37 + s.k * 11) % 60
                 WHEN s.k = $4 AND i >= $5 THEN 500 * ((i * i + s.k) % 7) + (1000 + 37 * s.k) * 10.0 * (i - $5 + 1)
                 ELSE 1e9 + s.k * 1e6 + 500 * ((i * i + s.k) % 7) + (1000 + 37 * s.k) * 10.0 * i END
       FROM s CROSS JOIN generate_series(0, $6::int - 1) AS i`,
    [series.map((s) => s.id), T0, EVERY_MS, RESET_SERIES, resetFrom, SAMPLES],
  );
  return { tdb, deviceIds: devices.map((d) => Number(d.id)), series };
}

type Raw = Awaited<ReturnType<typeof rawRows>>;

/**
 * The router's answer from raw rows at or before `to`: per series and step (epoch-aligned, from `from` aligned down)
 * the average, maximum or last value; for a rate the last values' per-second increase over the previous step's
 * (none at a reset), from one step before.
 */
function seriesReference(raw: Raw, ids: number[], q: { from: number; to: number; stepMs: number; agg: 'avg' | 'max' | 'last'; rate?: boolean }) {
  const aligned = Math.floor(q.from / q.stepMs) * q.stepMs;
  const readFrom = q.rate ? aligned - q.stepMs : aligned;
  return ids.map((id) => {
    const steps = new Map<number, number[]>();
    for (const r of raw.get(id) ?? []) {
      if (r.t < readFrom || r.t > q.to) continue;
      const step = Math.floor(r.t / q.stepMs) * q.stepMs;
      steps.set(step, [...(steps.get(step) ?? []), r.v]);
    }
    const agg = q.rate ? 'last' : q.agg;
    const points = [...steps.entries()].map(([t, vs]) => ({
      t,
      v: agg === 'avg' ? vs.reduce((a, b) => a + b, 0) / vs.length : agg === 'max' ? Math.max(...vs) : vs[vs.length - 1],
    }));
    if (!q.rate) return points;
    const rates: Array<{ t: number; v: number | null }> = [];
    for (let i = 1; i < points.length; i++) {
      const increase = counterIncrease(points[i - 1].v, points[i].v);
      if (points[i].t >= aligned) rates.push({ t: points[i].t, v: increase === undefined ? null : (increase * 1000) / (points[i].t - points[i - 1].t) });
    }
    return rates;
  });
}

/**
 * The fleet query's answer at whole-unit steps without a rate from raw rows at or before `to`: per series and
 * step its average (`sum`) or maximum (`max`), then summed or the largest across the series.
 */
function fleetReference(raw: Raw, ids: number[], q: { from: number; to: number; stepMs: number; agg: 'sum' | 'max' }) {
  const across = new Map<number, number[]>();
  const perSeries = seriesReference(raw, ids, { ...q, agg: q.agg === 'sum' ? 'avg' : 'max' });
  for (const points of perSeries) for (const p of points) across.set(p.t, [...(across.get(p.t) ?? []), p.v as number]);
  const points: Array<{ t: number; v: number | null }> = [];
  for (let t = Math.floor(q.from / q.stepMs) * q.stepMs; t <= q.to; t += q.stepMs) {
    const vs = across.get(t);
    points.push({ t, v: vs === undefined ? null : q.agg === 'sum' ? vs.reduce((a, b) => a + b, 0) : Math.max(...vs) });
  }
  return points;
}

function assertPoints(got: Array<{ t: number; v: number | null }>, want: Array<{ t: number; v: number | null }>, label: string) {
  assert.deepEqual(
    got.map((p) => p.t),
    want.map((p) => p.t),
    `${label}: steps`,
  );
  for (const [j, p] of got.entries()) {
    assert.ok(near(p.v, want[j].v), `${label} at +${(p.t - T0) / MINUTE_MS} min: ${p.v} vs ${want[j].v}`);
  }
}

for (const mode of storageModesUnderTest()) {
  describe(`storage: the query router and fleet queries with \`to\` inside a rolled-up bucket count no sample after \`to\` (${mode === 'timescaledb' ? 'TimescaleDB' : 'native PostgreSQL'})`, function () {
    this.timeout(180_000);
    let f: Fleet;
    /** The counters (in-octets) or the gauges (CPU), in fleet order. */
    const counters = () => f.series.filter((s) => s.path !== CPU);
    const idsOf = (path: typeof IN_OCTETS | typeof CPU) => (path === CPU ? f.series.filter((s) => s.path === CPU) : counters()).map((s) => s.id);

    before(async () => {
      f = await seed(await createTestDatabase(`to_in_bucket_${mode}`, { storage: mode }));
    });
    after(async () => {
      await f?.tdb.drop();
    });

    /** The router's questions: `to` inside a minute, on a boundary, inside an hour; rates of the counters and the gauge's average, maximum and last. */
    const routerCases = (): Array<{ label: string; q: SeriesQuery; ref: Parameters<typeof seriesReference>[2]; ids: number[] }> => {
      const minute = { from: T0 + 40 * MINUTE_MS, to: TO_MINUTE, widthPx: 30 };
      const boundary = { from: T0 + 45 * MINUTE_MS, to: TO_BOUNDARY, widthPx: 30 };
      const hour = { from: T0, to: TO_HOUR, widthPx: 2, resolution: '1h' as const };
      const out: ReturnType<typeof routerCases> = [];
      for (const [name, range, stepMs] of [
        ['inside a minute', minute, MINUTE_MS],
        ['on a minute boundary', boundary, MINUTE_MS],
        ['inside an hour', hour, HOUR_MS],
      ] as const) {
        out.push({
          label: `counter rates, to ${name}`,
          q: { ...range, deviceIds: f.deviceIds, path: IN_OCTETS, rate: true },
          ref: { ...range, stepMs, agg: 'last', rate: true },
          ids: idsOf(IN_OCTETS),
        });
        for (const agg of ['avg', 'max', 'last'] as const) {
          out.push({ label: `gauge ${agg}, to ${name}`, q: { ...range, deviceIds: f.deviceIds, path: CPU, agg }, ref: { ...range, stepMs, agg }, ids: idsOf(CPU) });
        }
      }
      return out;
    };
    /** The fleet query's questions: fleet rate total and per site (the fleet rates' path once they exist), the gauge summed and its maximum at 1-minute and 1-hour steps. */
    const fleetCases = (): Array<{ label: string; q: FleetQuery }> => {
      const minute = { from: T0 + 40 * MINUTE_MS, to: TO_MINUTE, widthPx: 30, deviceIds: f.deviceIds };
      const hour = { from: T0, to: TO_HOUR, widthPx: 2, resolution: '1h' as const, deviceIds: f.deviceIds };
      return [
        { label: 'fleet rate total', q: { ...minute, path: IN_OCTETS, rate: true, agg: 'sum' } },
        { label: 'fleet rate per site', q: { ...minute, path: IN_OCTETS, rate: true, agg: 'sum', groupBy: 'site' } },
        { label: 'fleet rate total, to on a boundary', q: { ...minute, from: T0 + 45 * MINUTE_MS, to: TO_BOUNDARY, path: IN_OCTETS, rate: true, agg: 'sum' } },
        { label: 'gauge summed per minute', q: { ...minute, path: CPU, agg: 'sum' } },
        { label: 'gauge maximum per minute', q: { ...minute, path: CPU, agg: 'max' } },
        { label: 'gauge summed per hour', q: { ...hour, path: CPU, agg: 'sum' } },
        { label: 'gauge maximum per hour', q: { ...hour, path: CPU, agg: 'max' } },
      ];
    };
    /** Check each fleet answer against its reference from the raw rows at or before `to`. */
    const checkFleet = (raw: Raw, label: string, q: FleetQuery, got: FleetResult) => {
      if (q.rate) {
        const site = (k: number) => counters()[k].site ?? '(no site)';
        const want = fleetRateReference(raw, counters(), {
          from: q.from,
          to: q.to,
          agg: 'sum',
          groupOf: q.groupBy === 'site' ? site : () => 'sum',
        });
        assert.deepEqual(
          got.groups.map((g) => g.key),
          want.map((g) => g.key),
          `${label}: groups`,
        );
        for (const [i, g] of got.groups.entries()) assertPoints(g.points, want[i].points, `${label} ${g.key}`);
        return;
      }
      const stepMs = q.resolution === '1h' ? HOUR_MS : MINUTE_MS;
      assert.equal(got.bucketMs, stepMs, `${label}: step`);
      assertPoints(got.groups[0].points, fleetReference(raw, idsOf(CPU), { from: q.from, to: q.to, stepMs, agg: q.agg as 'sum' | 'max' }), label);
    };

    const beforeMaintenance = new Map<string, QueryResult | FleetResult>();

    it('while every bucket is raw: the answers equal the reference from the raw rows at or before `to`', async () => {
      const rolled = await f.tdb.pool.query<{ n: number }>(`SELECT (SELECT count(*) FROM samples_1m)::int + (SELECT count(*) FROM samples_1h)::int AS n`);
      assert.equal(rolled.rows[0].n, 0, 'nothing rolled up yet');
      const raw = await rawRows(f.tdb.pool);
      for (const c of routerCases()) {
        const got = await querySeries(f.tdb.pool, c.q);
        assert.equal(got.bucketMs, c.ref.stepMs, `${c.label}: step`);
        const want = seriesReference(raw, c.ids, c.ref);
        got.series.forEach((s, i) => assertPoints(s.points, want[i], `${c.label} (series ${s.path})`));
        beforeMaintenance.set(c.label, got);
      }
      for (const c of fleetCases()) {
        const got = await queryFleet(f.tdb.pool, c.q);
        checkFleet(raw, c.label, c.q, got);
        beforeMaintenance.set(c.label, got);
      }
      // What the data holds, seen in the answers: the counter reset after TO_MINUTE is not in the step holding it.
      const rates = beforeMaintenance.get('counter rates, to inside a minute') as QueryResult;
      const reset = rates.series.find((s) => s.seriesId === f.series[RESET_SERIES].id)!;
      assert.ok((reset.points.at(-1)!.v ?? 0) > 0, 'the reset counter has a rate at the step holding `to`');
    });

    it('after the buckets holding `to` are rolled up (and the fleet rates): the same answers, still equal to the reference', async () => {
      assert.equal(beforeMaintenance.size, routerCases().length + fleetCases().length, 'the answers before maintenance were taken');
      await runMaintenance(f.tdb.db, SETTINGS, NOW);
      if (mode === 'timescaledb') {
        // The maintenance run refreshes the 1-minute aggregate (for the fleet rates); the 1-hour one is the policies' (every 15 min).
        await f.tdb.pool.query(`CALL refresh_continuous_aggregate('samples_1h', NULL, to_timestamp($1::float8 / 1000))`, [T0 + 2 * HOUR_MS]);
      }
      const has = async (table: string, bucket: number) =>
        Number((await f.tdb.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE bucket = to_timestamp($1::float8 / 1000)`, [bucket])).rows[0].n);
      for (const [table, to, unit] of [
        ['samples_1m', TO_MINUTE, MINUTE_MS],
        ['samples_1m', TO_BOUNDARY, MINUTE_MS],
        ['samples_1h', TO_HOUR, HOUR_MS],
      ] as const) {
        assert.equal(await has(table, Math.floor(to / unit) * unit), f.series.length, `${table} holds the bucket holding ${new Date(to).toISOString()} for every series`);
      }
      const wm = await f.tdb.pool.query<{ ms: number }>(`SELECT (extract(epoch FROM watermark) * 1000)::float8 AS ms FROM storage_rollup_state WHERE name = 'fleet_rates_1m'`);
      assert.ok(Number(wm.rows[0]?.ms) > TO_BOUNDARY + MINUTE_MS, 'the fleet rates hold the minutes holding `to`');

      const raw = await rawRows(f.tdb.pool);
      for (const c of routerCases()) {
        const got = await querySeries(f.tdb.pool, c.q);
        assert.equal(got.resolution, c.ref.stepMs === HOUR_MS ? '1h' : '1m', `${c.label}: read the rollup`);
        const want = seriesReference(raw, c.ids, c.ref);
        got.series.forEach((s, i) => {
          assertPoints(s.points, want[i], `${c.label} (series ${s.path})`);
          assertPoints(s.points, (beforeMaintenance.get(c.label) as QueryResult).series[i].points, `${c.label} (series ${s.path}) as before maintenance`);
        });
      }
      for (const c of fleetCases()) {
        const ran: string[] = [];
        const db: Queryable = { query: (text, values) => (ran.push(text), f.tdb.pool.query(text, values)) as never };
        const got = await queryFleet(db, c.q);
        if (c.q.rate)
          assert.ok(
            ran.some((t) => t.includes('FROM fleet_rates_1m')),
            `${c.label}: read the fleet rates`,
          );
        checkFleet(raw, c.label, c.q, got);
        const prior = beforeMaintenance.get(c.label) as FleetResult;
        got.groups.forEach((g, i) => assertPoints(g.points, prior.groups[i].points, `${c.label} ${g.key} as before maintenance`));
      }
    });

    it("where a minute's raw samples are gone (retention), its rollup row answers for it whole", async () => {
      const bucket = Math.floor(TO_DROPPED / MINUTE_MS) * MINUTE_MS;
      const rollup = await f.tdb.pool.query<{ s: string; avg: number; max: number }>(
        `SELECT series_id AS s, avg, max FROM samples_1m WHERE bucket = to_timestamp($1::float8 / 1000) ORDER BY series_id`,
        [bucket],
      );
      const gauges = idsOf(CPU);
      const whole = new Map(rollup.rows.map((r) => [Number(r.s), { avg: Number(r.avg), max: Number(r.max) }]));
      assert.ok(
        gauges.every((id) => whole.has(id)),
        'the rollup holds the minute',
      );
      const deleted = await f.tdb.pool.query(`DELETE FROM samples WHERE time >= to_timestamp($1::float8 / 1000) AND time < to_timestamp($2::float8 / 1000)`, [bucket, bucket + MINUTE_MS]);
      assert.equal(deleted.rowCount, 6 * f.series.length, 'six samples a series in the minute');

      const got = await querySeries(f.tdb.pool, { from: T0 + 20 * MINUTE_MS, to: TO_DROPPED, widthPx: 30, deviceIds: f.deviceIds, path: CPU, agg: 'max' });
      assert.equal(got.resolution, '1m');
      for (const s of got.series) {
        assert.deepEqual(s.points.at(-1), { t: bucket, v: whole.get(s.seriesId)!.max }, `${s.path}: the whole minute's maximum, samples after \`to\` included`);
      }
      const fleet = await queryFleet(f.tdb.pool, { from: T0 + 20 * MINUTE_MS, to: TO_DROPPED, widthPx: 30, deviceIds: f.deviceIds, path: CPU, agg: 'sum' });
      const last = fleet.groups[0].points.at(-1)!;
      assert.equal(last.t, bucket);
      assert.ok(
        near(
          last.v,
          gauges.reduce((a, id) => a + whole.get(id)!.avg, 0),
        ),
        `fleet sum at the last step: ${last.v}, the rollup rows' averages summed`,
      );
    });

    it('with `to` inside a rolled-up hour, its whole minutes are read from the 1-minute rollup and only the minute holding `to` from raw samples (ADR 255)', async () => {
      const hour = Math.floor(TO_HOUR / HOUR_MS) * HOUR_MS;
      const minute = Math.floor(TO_HOUR / MINUTE_MS) * MINUTE_MS;
      const gauges = idsOf(CPU);
      const alter = (from: number, to: number, by: number) =>
        f.tdb.pool.query(`UPDATE samples SET value = value + $4 WHERE series_id = ANY($1::bigint[]) AND time >= to_timestamp($2::float8 / 1000) AND time < to_timestamp($3::float8 / 1000)`, [
          gauges,
          from,
          to,
          by,
        ]);
      // The minute holding `to` changes in raw only (its rollup row is not recomputed): the answers must show the change.
      await alter(minute, minute + MINUTE_MS, 7);
      const raw = await rawRows(f.tdb.pool);
      // The hour's whole minutes before it change in raw only too: the answers must not, as their 1-minute rollup rows answer for them.
      const changed = await alter(hour, minute, 1000);
      assert.equal(changed.rowCount, 20 * 6 * gauges.length, 'six samples a gauge in each of the 20 whole minutes');
      const rawNow = await rawRows(f.tdb.pool);

      const range = { from: hour, to: TO_HOUR, widthPx: 1, resolution: '1h' as const };
      for (const agg of ['avg', 'max', 'last'] as const) {
        const got = await querySeries(f.tdb.pool, { ...range, deviceIds: f.deviceIds, path: CPU, agg });
        assert.equal(got.resolution, '1h');
        const want = seriesReference(raw, gauges, { ...range, stepMs: HOUR_MS, agg });
        got.series.forEach((s, i) => assertPoints(s.points, want[i], `router gauge ${agg} (series ${s.path})`));
        if (agg !== 'last') {
          // Read raw for the whole hour, the answer would be the changed rows' (the test can tell the sources apart).
          const fromRaw = seriesReference(rawNow, gauges, { ...range, stepMs: HOUR_MS, agg });
          got.series.forEach((s, i) => assert.ok(!near(s.points[0].v, fromRaw[i][0].v), `router gauge ${agg}: not the changed raw rows' ${fromRaw[i][0].v}`));
        }
      }
      for (const agg of ['sum', 'max'] as const) {
        const got = await queryFleet(f.tdb.pool, { ...range, deviceIds: f.deviceIds, path: CPU, agg });
        assert.equal(got.bucketMs, HOUR_MS);
        assertPoints(got.groups[0].points, fleetReference(raw, gauges, { ...range, stepMs: HOUR_MS, agg }), `fleet gauge ${agg}`);
        const fromRaw = fleetReference(rawNow, gauges, { ...range, stepMs: HOUR_MS, agg });
        assert.ok(!near(got.groups[0].points[0].v, fromRaw[0].v), `fleet gauge ${agg}: not the changed raw rows' ${fromRaw[0].v}`);
      }
    });
  });
}
