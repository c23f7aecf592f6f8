/**
 * Fleet queries (query/fleet-query.ts) on real servers in both storage modes, every answer
 * compared with a reference computed here from the raw rows: per series and step the
 * step's value (or its counter rate, resets and wraps as query/rate.ts), standing for
 * the steps since the series' previous point within maxGapMs, then combined per group.
 * The data has a counter reset, a 32-bit wrap, a series sampled every 30 s beside 10 s
 * ones, a 40-minute hole, a series that starts and one that stops within the range, and
 * late points that reach the rollups only through the maintenance run's dirty ranges.
 * Rates summed, averaged or counted at 1-minute steps over whole devices are read from the
 * pre-aggregated fleet rates (fleet_rates_1m, ADR 145) up to their watermark: those answers
 * are compared with the same reference, and the tests say which path answered.
 */
import assert from 'node:assert/strict';
import { runMaintenance } from '../../storage/storage-mode';
import { queryFleet, type FleetAggregation, type FleetQuery, type FleetQueryCost, type FleetResult } from '../../query/fleet-query';
import { chooseResolution, HOUR_MS, MINUTE_MS, type Resolution } from '../../query/router';
import { counterIncrease } from '../../query/rate';
import { createTestDatabase, storageModesUnderTest, type TestDatabase } from '../support/db';

const IN = (ifname: string) => `/interfaces/interface[name=${ifname}]/state/counters/in-octets`;
const CPU = '/system/cpu/state/utilization';
/** Six hours of data ending two hours before now, hour-aligned. */
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 8 * HOUR_MS;
const END = T0 + 6 * HOUR_MS;
const RESET_AT = T0 + 2 * HOUR_MS + 17 * 60_000;
const HOLE = { from: T0 + 3 * HOUR_MS + 10 * 60_000, to: T0 + 3 * HOUR_MS + 50 * 60_000 };
const LATE = { from: T0 + HOUR_MS, to: T0 + 2 * HOUR_MS };

interface Dev {
  name: string;
  site: string | null;
  protocol: 'gnmi' | 'netconf';
}
const DEVICES: Dev[] = [
  { name: 'fq-sw1', site: 'ams', protocol: 'gnmi' },
  { name: 'fq-sw2', site: 'ams', protocol: 'netconf' },
  { name: 'fq-sw3', site: 'fra', protocol: 'gnmi' },
];

interface SeriesSpec {
  device: number;
  path: string;
  /** Sample interval (ms) and the value at time t, or undefined for no sample. */
  every: number;
  value: (t: number, i: number) => number | undefined;
}

const SERIES: SeriesSpec[] = [
  // sw1 Ethernet1: 10 s, ~5 kB/s, reset to zero at RESET_AT.
  { device: 0, path: IN('Ethernet1'), every: 10_000, value: (t, i) => (t < RESET_AT ? 5e8 + i * 50_000 + ((i * 7919) % 1000) : ((t - RESET_AT) / 10_000) * 40_000) },
  // sw1 Ethernet2: a 32-bit counter at 300 kB/s that wraps after about 1 h 50 min.
  { device: 0, path: IN('Ethernet2'), every: 10_000, value: (_t, i) => (2 ** 32 - 2e9 + i * 3_000_000) % 2 ** 32 },
  // sw2 Ethernet1: sampled every 30 s; nothing during HOLE.
  { device: 1, path: IN('Ethernet1'), every: 30_000, value: (t, i) => (t >= HOLE.from && t < HOLE.to ? undefined : i * 90_000) },
  // sw2 Ethernet2: its second hour arrives late (after the rollups were built).
  { device: 1, path: IN('Ethernet2'), every: 10_000, value: (_t, i) => i * 1_000 },
  // sw3 Ethernet1 appears after 2 h 30 min; sw3 Ethernet2 stops after 4 h 20 min.
  { device: 2, path: IN('Ethernet1'), every: 10_000, value: (t, i) => (t >= T0 + 2.5 * HOUR_MS ? i * 20_000 : undefined) },
  { device: 2, path: IN('Ethernet2'), every: 10_000, value: (t, i) => (t < T0 + 4 * HOUR_MS + 20 * 60_000 ? i * 7_000 : undefined) },
  // A gauge on every device.
  ...[0, 1, 2].map((d) => ({ device: d, path: CPU, every: 10_000, value: (_t: number, i: number) => 10 + d * 5 + ((i * 37) % 50) })),
];

interface RawRow {
  s: number;
  t: number;
  v: number;
}

interface Fixture {
  tdb: TestDatabase;
  deviceIds: number[];
  seriesIds: number[];
  rows: RawRow[];
}

async function insertRows(tdb: TestDatabase, rows: RawRow[]) {
  for (let i = 0; i < rows.length; i += 5000) {
    const part = rows.slice(i, i + 5000);
    await tdb.pool.query(
      `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000), s, v FROM unnest($1::float8[], $2::bigint[], $3::float8[]) AS u(t, s, v)`,
      [part.map((r) => r.t), part.map((r) => r.s), part.map((r) => r.v)],
    );
  }
}

async function seed(tdb: TestDatabase): Promise<Fixture> {
  const deviceIds: number[] = [];
  for (const d of DEVICES) {
    const [row] = await tdb.db('devices').insert({ name: d.name, site: d.site, protocol: d.protocol, host: '127.0.0.1', port: 1 }).returning('id');
    deviceIds.push(Number(row.id));
  }
  const seriesIds: number[] = [];
  for (const s of SERIES) {
    const [row] = await tdb.db('series').insert({ device_id: deviceIds[s.device], path: s.path, kind: 'number' }).returning('id');
    seriesIds.push(Number(row.id));
  }
  const rows: RawRow[] = [];
  const late: RawRow[] = [];
  SERIES.forEach((spec, k) => {
    let i = 0;
    for (let t = T0; t < END; t += spec.every, i++) {
      const v = spec.value(t, i);
      if (v === undefined) continue;
      const row = { s: seriesIds[k], t, v };
      if (k === 3 && t >= LATE.from && t < LATE.to) late.push(row);
      else rows.push(row);
    }
  });
  await insertRows(tdb, rows);
  const settings = { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 2, lateSpanPerRunMs: 24 * HOUR_MS };
  if ((await tdb.pool.query(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'`)).rows[0].n > 0) {
    for (const view of ['samples_1m', 'samples_1h']) await tdb.pool.query(`CALL refresh_continuous_aggregate('${view}', NULL, NULL)`);
  } else {
    await runMaintenance(tdb.db, settings);
  }
  // Late points: written now, their range recorded as the batcher records it, brought into the rollups by maintenance.
  await insertRows(tdb, late);
  await tdb.pool.query(`INSERT INTO storage_rollup_dirty (from_time, to_time) VALUES (to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000))`, [
    LATE.from,
    LATE.to - 10_000,
  ]);
  const report = await runMaintenance(tdb.db, settings);
  assert.ok(report.lateBuckets1m >= 60, `late buckets rolled up: ${JSON.stringify(report)}`);
  return { tdb, deviceIds, seriesIds, rows: [...rows, ...late] };
}

/** The reference: straightforward loops over the raw rows (see the file comment). */
function reference(f: Fixture, q: FleetQuery & { groupOfSeries: (index: number) => string | undefined }): FleetResult {
  const forced = (q.resolution ?? 'auto') as Resolution | 'auto';
  const chosen = chooseResolution(q.from, q.to, q.widthPx ?? 1000, forced);
  const step = Math.max(1000, chosen.bucketMs);
  const maxGap = q.maxGapMs ?? Math.max(2 * step, 30_000);
  const from = Math.floor(q.from / step) * step;
  const readFrom = from - Math.max(step, maxGap);
  const unit = chosen.resolution === '1m' ? MINUTE_MS : chosen.resolution === '1h' ? HOUR_MS : 0;
  const agg = (q.agg ?? 'sum') as FleetAggregation;
  // Which rows a step sees: raw rows in [readFrom, to]; at rollup resolution every row at or before `to` of a rollup bucket starting in it (ADR 240).
  const at = (t: number) => (unit ? Math.floor(t / unit) * unit : t);
  type Cell = { sum: number; n: number; min: number; max: number; last: number; lastT: number };
  const perGroup = new Map<string, Map<number, Array<{ s: number; v: number; lt: number }>>>();
  const members = new Map<string, number>();
  f.seriesIds.forEach((id, k) => {
    const g = q.groupOfSeries(k);
    if (g === undefined) return;
    members.set(g, (members.get(g) ?? 0) + 1);
    const cells = new Map<number, Cell>();
    for (const r of f.rows) {
      if (r.s !== id || at(r.t) < readFrom || r.t > q.to) continue;
      const b = Math.floor(at(r.t) / step) * step;
      const c = cells.get(b) ?? { sum: 0, n: 0, min: Infinity, max: -Infinity, last: NaN, lastT: -Infinity };
      c.sum += r.v;
      c.n++;
      c.min = Math.min(c.min, r.v);
      c.max = Math.max(c.max, r.v);
      if (r.t > c.lastT) {
        c.last = r.v;
        c.lastT = r.t;
      }
      cells.set(b, c);
    }
    const steps = [...cells.keys()].sort((a, b) => a - b);
    const byStep = perGroup.get(g) ?? new Map();
    perGroup.set(g, byStep);
    steps.forEach((b, i) => {
      const c = cells.get(b)!;
      const pb = i > 0 ? steps[i - 1] : undefined;
      let v: number | undefined;
      if (q.rate) {
        if (pb === undefined || b - pb > maxGap) v = undefined;
        else {
          const inc = counterIncrease(cells.get(pb)!.last, c.last);
          v = inc === undefined ? undefined : (inc * 1000) / (at(c.lastT) - at(cells.get(pb)!.lastT));
        }
      } else v = agg === 'min' ? c.min : agg === 'max' ? c.max : agg === 'last' ? c.last : c.sum / c.n;
      if (v === undefined) return;
      const lt = unit ? at(c.lastT) : c.lastT;
      const put = (t: number, ltime: number) => {
        if (t < from) return;
        const list = byStep.get(t) ?? [];
        list.push({ s: id, v: v!, lt: ltime });
        byStep.set(t, list);
      };
      put(b, lt);
      if (pb !== undefined && b - pb > step && b - pb <= maxGap) for (let t = pb + step; t < b; t += step) put(t, t);
    });
  });
  const combine = (list: Array<{ s: number; v: number; lt: number }>): number => {
    const vs = list.map((x) => x.v);
    if (agg === 'sum') return vs.reduce((a, b) => a + b, 0);
    if (agg === 'avg') return vs.reduce((a, b) => a + b, 0) / vs.length;
    if (agg === 'min') return Math.min(...vs);
    if (agg === 'max') return Math.max(...vs);
    if (agg === 'count') return vs.length;
    return [...list].sort((a, b) => b.lt - a.lt || b.s - a.s)[0].v;
  };
  const groups = [...members.keys()].map((key) => {
    const byStep = perGroup.get(key)!;
    const points: Array<{ t: number; v: number | null }> = [];
    for (let t = from; t <= q.to; t += step) points.push({ t, v: byStep.has(t) ? combine(byStep.get(t)!) : null });
    const values = points.filter((p) => p.v !== null).map((p) => p.v as number);
    return { key, series: members.get(key)!, mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : null, points };
  });
  const n = q.top ?? q.bottom;
  let out = groups.sort((a, b) => (a.key < b.key ? -1 : 1));
  if (n !== undefined) {
    const dir = q.top !== undefined ? -1 : 1;
    out = [...groups].sort((a, b) => dir * ((a.mean ?? -dir * Infinity) - (b.mean ?? -dir * Infinity)) || (a.key < b.key ? -1 : 1)).slice(0, n);
  }
  return {
    resolution: chosen.resolution,
    bucketMs: step,
    from,
    to: q.to,
    agg,
    rate: q.rate ?? false,
    groupBy: (q.groupBy as string | undefined) ?? null,
    seriesCount: [...members.values()].reduce((a, b) => a + b, 0),
    groupCount: members.size,
    groups: out,
  };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

function assertSame(got: FleetResult, want: FleetResult, label: string) {
  const { groups: g1, ...head1 } = got;
  const { groups: g2, ...head2 } = want;
  assert.deepEqual(head1, head2, `${label}: head`);
  assert.deepEqual(
    g1.map((g) => [g.key, g.series, g.points.length]),
    g2.map((g) => [g.key, g.series, g.points.length]),
    `${label}: groups`,
  );
  g1.forEach((g, i) => {
    const w = g2[i];
    assert.ok(g.mean === w.mean || (g.mean !== null && w.mean !== null && close(g.mean, w.mean)), `${label} ${g.key}: mean ${g.mean} vs ${w.mean}`);
    g.points.forEach((p, j) => {
      const e = w.points[j];
      assert.equal(p.t, e.t, `${label} ${g.key} point ${j} time`);
      const ok = p.v === null || e.v === null ? p.v === e.v : close(p.v, e.v);
      assert.ok(ok, `${label} ${g.key} at +${(p.t - T0) / 60_000} min: ${p.v} vs reference ${e.v}`);
    });
  });
}

for (const mode of storageModesUnderTest()) {
  describe(`storage: fleet queries over ${mode === 'timescaledb' ? 'TimescaleDB' : 'native PostgreSQL'}`, function () {
    this.timeout(180_000);
    let f: Fixture;
    const pathOf = (k: number) => SERIES[k].path;
    const deviceOf = (k: number) => DEVICES[SERIES[k].device];
    const isIn = (k: number) => pathOf(k).endsWith('in-octets');

    before(async () => {
      f = await seed(await createTestDatabase(`fleet_query_${mode}`, { storage: mode }));
    });
    after(async () => {
      await f?.tdb.drop();
    });

    /** Whether the last check read the pre-aggregated fleet rates; whether it ranked series on a rollup summary first (ADR 175). */
    let readFleetRates = false;
    let rankedOnSummary = false;
    const check = async (q: FleetQuery, groupOfSeries: (k: number) => string | undefined, label: string, opts: { candidates?: number } = {}) => {
      const texts: string[] = [];
      const pool = { query: (text: string, values?: unknown[]) => (texts.push(text), f.tdb.pool.query(text, values)) } as typeof f.tdb.pool;
      const got = await queryFleet(pool, { ...q, deviceIds: f.deviceIds }, opts);
      readFleetRates = texts.some((t) => t.includes('FROM fleet_rates_1m'));
      rankedOnSummary = texts.some((t) => t.includes('WITH sm AS MATERIALIZED'));
      assertSame(got, reference(f, { ...q, groupOfSeries }), label);
      return got;
    };

    it('raw samples: the fleet total of in-octets rates over an hour with a reset, a wrap and a series sampled every 30 s never dips', async () => {
      const q = { path: IN('*'), from: RESET_AT - 40 * 60_000, to: RESET_AT + 20 * 60_000, widthPx: 600, rate: true, agg: 'sum' } as const;
      const got = await check(q, (k) => (isIn(k) ? 'sum' : undefined), 'raw sum rate');
      assert.equal(got.resolution, 'raw');
      assert.equal(got.bucketMs, 6000);
      assert.equal(got.seriesCount, 6);
      // Every step has a value (the 30 s series stands for the steps between its points) except at the reset, which only loses sw1 Ethernet1.
      const total = got.groups[0].points;
      assert.equal(total.filter((p) => p.v === null).length, 0, 'no step without any series');
      const steady = total.filter((p) => p.t < RESET_AT - 60_000).map((p) => p.v as number);
      const min = Math.min(...steady);
      const max = Math.max(...steady);
      assert.ok(max / min < 1.2, `a steady total: ${min}..${max}`);
      for (const agg of ['avg', 'min', 'max', 'count', 'last'] as const) await check({ ...q, agg }, (k) => (isIn(k) ? agg : undefined), `raw ${agg} rate`);
    });

    it('1-minute rollups: per site and per device, every aggregation, with the hole, the late hour and series churn', async () => {
      const base = { path: IN('*'), from: T0 + 30 * 60_000, to: END - 10 * 60_000, widthPx: 300 };
      const site = await check({ ...base, rate: true, agg: 'sum', groupBy: 'site' }, (k) => (isIn(k) ? (deviceOf(k).site ?? '(no site)') : undefined), '1m sum rate by site');
      assert.equal(site.resolution, '1m');
      assert.equal(site.bucketMs, 60_000);
      assert.ok(readFleetRates, 'a rate summed by site at 1-minute steps reads the pre-aggregated fleet rates');
      assert.deepEqual(
        site.groups.map((g) => [g.key, g.series]),
        [
          ['ams', 4],
          ['fra', 2],
        ],
      );
      // fra: sw3 Ethernet1 joins at 2 h 30 min, Ethernet2 leaves at 4 h 20 min: two series between, one outside.
      const fra = site.groups[1].points;
      const at = (min: number) => fra.find((p) => p.t === T0 + min * 60_000)!.v as number;
      assert.ok(Math.abs(at(60) - 700) < 1e-6, `fra at 1 h: ${at(60)}`);
      assert.ok(Math.abs(at(180) - 2700) < 1e-6, `fra at 3 h: ${at(180)}`);
      assert.ok(Math.abs(at(300) - 2000) < 1e-6, `fra at 5 h: ${at(300)}`);
      // Two-minute steps regroup the 1-minute rollup.
      const coarse = await check({ ...base, widthPx: 150, rate: true, agg: 'sum', groupBy: 'site' }, (k) => (isIn(k) ? (deviceOf(k).site ?? '(no site)') : undefined), '1m in 2 min steps');
      assert.deepEqual([coarse.resolution, coarse.bucketMs], ['1m', 120_000]);
      await check({ ...base, widthPx: 150, rate: false, agg: 'last', groupBy: 'device' }, (k) => (isIn(k) ? deviceOf(k).name : undefined), '1m last in 2 min steps');
      for (const agg of ['sum', 'avg', 'min', 'max', 'count', 'last'] as const) {
        await check({ ...base, rate: false, agg, groupBy: 'device' }, (k) => (isIn(k) ? deviceOf(k).name : undefined), `1m ${agg} by device`);
        await check({ ...base, rate: true, agg, groupBy: 'protocol' }, (k) => (isIn(k) ? deviceOf(k).protocol : undefined), `1m ${agg} rate by protocol`);
      }
      // The 40-minute hole of sw2 Ethernet1 (past maxGapMs) stays a gap of its device's line.
      const hole = await check(
        { ...base, path: IN('Ethernet1'), rate: true, agg: 'sum', groupBy: 'device' },
        (k) => (pathOf(k) === IN('Ethernet1') ? deviceOf(k).name : undefined),
        '1m hole',
      );
      assert.ok(!readFleetRates, 'one interface of each device is part of a shape: answered from the rollup');
      const sw2 = hole.groups.find((g) => g.key === 'fq-sw2')!.points;
      const inHole = sw2.filter((p) => p.t >= HOLE.from + 60_000 && p.t < HOLE.to - 60_000);
      assert.ok(inHole.length > 30 && inHole.every((p) => p.v === null), 'the hole stays a gap');
    });

    it('1-hour rollups: grouped by the interface name (a list key of the path) and the fleet CPU average', async () => {
      const base = { from: T0, to: END, widthPx: 5 };
      const byName = await check(
        { ...base, path: IN('*'), rate: true, agg: 'sum', groupBy: 'interface[name]' },
        (k) => (isIn(k) ? (/name=([^\]]+)/.exec(pathOf(k))![1]) : undefined),
        '1h by interface name',
      );
      assert.equal(byName.resolution, '1h');
      assert.deepEqual(
        byName.groups.map((g) => g.key),
        ['Ethernet1', 'Ethernet2'],
      );
      await check({ ...base, path: CPU, agg: 'avg' }, (k) => (isIn(k) ? undefined : 'avg'), '1h cpu avg');
    });

    it('top and bottom N series by their mean rate over the range', async () => {
      const base = { path: IN('*'), from: T0 + 60 * 60_000, to: END - 30 * 60_000, widthPx: 300, rate: true, agg: 'sum', groupBy: 'series' } as const;
      const label = (k: number) => (isIn(k) ? `${deviceOf(k).name} ${pathOf(k)}` : undefined);
      const top = await check({ ...base, top: 2 }, label, 'top 2');
      assert.deepEqual(
        top.groups.map((g) => g.key),
        [`fq-sw1 ${IN('Ethernet2')}`, `fq-sw1 ${IN('Ethernet1')}`],
      );
      assert.equal(top.groupCount, 6);
      const bottom = await check({ ...base, bottom: 1 }, label, 'bottom 1');
      assert.deepEqual(
        bottom.groups.map((g) => g.key),
        [`fq-sw2 ${IN('Ethernet2')}`],
      );
      assert.ok(!rankedOnSummary, 'six series, 12 candidates for a bottom 1: all computed exactly');
    });

    it('top and bottom N among more series than candidates: ranked on the rollup summary, the candidates computed exactly, the same answer', async () => {
      const label = (k: number) => (isIn(k) ? `${deviceOf(k).name} ${pathOf(k)}` : undefined);
      const ranges = [
        // Raw 6 s steps over an hour with the reset; 1-minute steps over four hours with the late hour, the hole and churn; 1-hour steps over six hours.
        { from: RESET_AT - 40 * 60_000, to: RESET_AT + 20 * 60_000, widthPx: 600 },
        { from: T0 + 60 * 60_000, to: END - 60 * 60_000, widthPx: 240 },
        { from: T0, to: END, widthPx: 6 },
      ];
      for (const range of ranges) {
        for (const [order, n] of [['top', 2], ['bottom', 1], ['top', 1]] as const) {
          const q = { path: IN('*'), ...range, rate: true, agg: 'sum', groupBy: 'series', [order]: n } as const;
          await check(q, label, `${order} ${n} rate over ${range.to - range.from} ms, 3 candidates`, { candidates: 3 });
          assert.ok(rankedOnSummary, 'ranked on the summary first');
        }
        // Values (no rate) ranked by their mean.
        await check({ path: IN('*'), ...range, rate: false, agg: 'avg', groupBy: 'series', top: 2 }, label, 'top 2 values', { candidates: 3 });
        assert.ok(rankedOnSummary);
      }
      // min/max of single series is not ranked on a summary (its mean of step minima differs from the mean).
      await check({ path: IN('*'), ...ranges[1], rate: false, agg: 'min', groupBy: 'series', top: 2 }, label, 'top 2 min', { candidates: 3 });
      assert.ok(!rankedOnSummary);
    });

    it('pre-aggregated fleet rates: 1-minute steps over the whole range (reset, wrap, hole, late hour, churn) as the reference; the rest from the rollup', async () => {
      const base = { path: IN('*'), from: T0, to: END, widthPx: 360, rate: true } as const;
      const groupings = [
        [undefined, (agg: string) => (k: number) => (isIn(k) ? agg : undefined)],
        ['device', () => (k: number) => (isIn(k) ? deviceOf(k).name : undefined)],
        ['site', () => (k: number) => (isIn(k) ? (deviceOf(k).site ?? '(no site)') : undefined)],
        ['protocol', () => (k: number) => (isIn(k) ? deviceOf(k).protocol : undefined)],
      ] as const;
      for (const [groupBy, label] of groupings) {
        for (const agg of ['sum', 'avg', 'count'] as const) {
          const got = await check({ ...base, agg, ...(groupBy ? { groupBy } : {}) }, label(agg), `fleet rates ${agg} by ${groupBy ?? 'nothing'}`);
          assert.deepEqual([got.resolution, got.bucketMs], ['1m', 60_000]);
          assert.ok(readFleetRates, `${agg} by ${groupBy ?? 'nothing'} read the fleet rates`);
        }
      }
      // Ranked by their mean over both parts.
      const top = await check({ ...base, agg: 'sum', groupBy: 'device', top: 1 }, groupings[1][1](), 'fleet rates top device');
      assert.ok(readFleetRates);
      assert.deepEqual(top.groups.map((g) => g.key), ['fq-sw1']);
      // Not answered by them: min, a list key, a maxGapMs of its own, values without a rate.
      for (const [q, label] of [
        [{ ...base, agg: 'max', groupBy: 'site' }, groupings[2][1]()],
        [{ ...base, agg: 'sum', groupBy: 'interface[name]' }, (k: number) => (isIn(k) ? (/name=([^\]]+)/.exec(pathOf(k))![1]) : undefined)],
        [{ ...base, agg: 'sum', maxGapMs: 180_000 }, groupings[0][1]('sum')],
        [{ ...base, rate: false, agg: 'sum' }, groupings[0][1]('sum')],
      ] as const) {
        await check(q, label, `not from the fleet rates: ${JSON.stringify(q)}`);
        assert.ok(!readFleetRates, `${JSON.stringify(q)} is answered from the rollup`);
      }
    });

    it('fleet rates read once are kept until a change touches their minutes: then those minutes are read again (ADR 210)', async () => {
      const texts: string[] = [];
      // One pool object for every call: the kept rows are per pool.
      const pool = { query: (text: string, values?: unknown[]) => (texts.push(text), f.tdb.pool.query(text, values)) } as typeof f.tdb.pool;
      const q = { path: IN('*'), from: T0, to: END, widthPx: 360, rate: true, agg: 'sum', deviceIds: f.deviceIds } as const;
      const readsOf = () => texts.splice(0).filter((t) => t.includes('FROM fleet_rates_1m')).length;
      const first = await queryFleet(pool, q);
      assert.equal(readsOf(), 1, 'the first query reads the fleet rates');
      assertSame(first, reference(f, { ...q, groupOfSeries: (k) => (isIn(k) ? 'sum' : undefined) }), 'first answer');
      const again = await queryFleet(pool, q);
      assert.equal(readsOf(), 0, 'nothing changed: the kept minutes answer');
      assertSame(again, first, 'kept answer');
      // A change in the middle (as maintenance's recompute of late points makes): that minute and the later ones are read again.
      const minute = T0 + 3 * HOUR_MS;
      const at = new Date(minute).toISOString();
      const inOctets = `bucket = ? AND shape LIKE '%/in-octets' AND device_id = ANY(?::int[])`;
      const updated = (await f.tdb.db.raw(`UPDATE fleet_rates_1m SET rate_sum = rate_sum + 1000 WHERE ${inOctets}`, [at, f.deviceIds])).rowCount as number;
      assert.ok(updated > 0, 'the minute has fleet rates to change');
      try {
        const changed = await queryFleet(pool, q);
        assert.equal(readsOf(), 1, 'the changed minutes are read again');
        const before = first.groups[0].points.find((p) => p.t === minute)!.v!;
        const after = changed.groups[0].points.find((p) => p.t === minute)!.v!;
        assert.ok(Math.abs(after - before - 1000 * updated) < 1e-6, `the changed minute: ${before} -> ${after}`);
        assert.deepEqual(
          changed.groups[0].points.filter((p) => p.t !== minute),
          first.groups[0].points.filter((p) => p.t !== minute),
          'every other minute as before',
        );
      } finally {
        await f.tdb.db.raw(`UPDATE fleet_rates_1m SET rate_sum = rate_sum - 1000 WHERE ${inOctets}`, [at, f.deviceIds]);
      }
      assertSame(await queryFleet(pool, q), first, 'the change undone is seen too');
      assert.equal(readsOf(), 1);
    });

    it('rollups completed from raw samples past their newest bucket (points not rolled up yet)', async () => {
      // sw1 Ethernet2 goes on for 20 minutes after END; no maintenance run brings it into the rollups.
      const k = 1;
      const last = f.rows.filter((r) => r.s === f.seriesIds[k]).reduce((a, b) => (b.t > a.t ? b : a));
      const more: RawRow[] = [];
      for (let t = END; t < END + 20 * 60_000; t += 10_000) more.push({ s: f.seriesIds[k], t, v: (last.v + ((t - last.t) / 10_000) * 3_000_000) % 2 ** 32 });
      await insertRows(f.tdb, more);
      f.rows.push(...more);
      const q = { path: IN('*'), from: END - 60 * 60_000, to: more[more.length - 1].t, widthPx: 60, rate: true, agg: 'sum', groupBy: 'device' } as const;
      const got = await check(q, (k2) => (isIn(k2) ? deviceOf(k2).name : undefined), '1m with raw tail');
      assert.equal(got.resolution, '1m');
      const sw1 = got.groups.find((g) => g.key === 'fq-sw1')!.points.filter((p) => p.t >= END);
      assert.ok(sw1.length >= 19 && sw1.every((p) => p.v !== null && Math.abs(p.v - 300_000) < 1e-6), `the tail's rate: ${sw1.map((p) => p.v).slice(0, 5)}`);
      // At 1-minute steps: the fleet rates up to two minutes before the rollup's newest bucket, the rollup and raw samples after.
      const fine = await check({ ...q, widthPx: 80, resolution: '1m' }, (k2) => (isIn(k2) ? deviceOf(k2).name : undefined), '1m steps with fleet rates and a raw tail');
      assert.deepEqual([fine.resolution, fine.bucketMs], ['1m', 60_000]);
      assert.ok(readFleetRates, 'the steps before the tail read the fleet rates');
    });

    it('the matched series are kept per pattern and matched again when series are added or removed; devices are read afresh', async () => {
      // The pool itself (not a wrapper per call, as check uses): the cache is per pool.
      const q = { path: IN('*'), from: T0 + 60 * 60_000, to: END - 60 * 60_000, widthPx: 240, rate: true, agg: 'sum', groupBy: 'site', deviceIds: f.deviceIds } as const;
      const first = await queryFleet(f.tdb.pool, q);
      assert.deepEqual(first.groups.map((g) => [g.key, g.series]), [['ams', 4], ['fra', 2]]);
      const [added] = await f.tdb.db('series').insert({ device_id: f.deviceIds[2], path: IN('Ethernet9'), kind: 'number' }).returning('id');
      try {
        const more = await queryFleet(f.tdb.pool, q);
        assert.deepEqual(more.groups.map((g) => [g.key, g.series]), [['ams', 4], ['fra', 3]], 'a new series is matched at once');
        await f.tdb.db('devices').where({ id: f.deviceIds[2] }).update({ site: 'lon' });
        const moved = await queryFleet(f.tdb.pool, q);
        assert.deepEqual(moved.groups.map((g) => [g.key, g.series]), [['ams', 4], ['lon', 3]], 'a device moved to another site groups there at once');
      } finally {
        await f.tdb.db('devices').where({ id: f.deviceIds[2] }).update({ site: DEVICES[2].site });
        await f.tdb.db('series').where({ id: Number(added.id) }).delete();
      }
      const after = await queryFleet(f.tdb.pool, q);
      assert.deepEqual(after.groups.map((g) => [g.key, g.series]), [['ams', 4], ['fra', 2]], 'a removed series is gone at once');
      assertSame(after, first, 'the same answer as before');
    });

    it('the budget sees the rows the chosen sources read: fleet rates and ranked candidates count far less than series × range', async () => {
      const costs: FleetQueryCost[] = [];
      const budget = (c: FleetQueryCost) => (costs.push(c), undefined);
      await queryFleet(f.tdb.pool, { path: IN('*'), from: T0, to: END, widthPx: 360, rate: true, agg: 'sum', deviceIds: f.deviceIds }, { budget });
      await queryFleet(f.tdb.pool, { path: IN('*'), from: T0 + HOUR_MS, to: T0 + 2 * HOUR_MS, widthPx: 600, rate: true, groupBy: 'series', top: 1, deviceIds: f.deviceIds }, { budget, candidates: 2 });
      await queryFleet(f.tdb.pool, { path: IN('*'), from: T0 + HOUR_MS, to: T0 + 2 * HOUR_MS, widthPx: 600, rate: true, groupBy: 'device', deviceIds: f.deviceIds }, { budget });
      const [rates, ranked, plain] = costs;
      // Three devices × one shape × 360 minutes, plus six series over the tail's minutes (here the rollup covers the range: a few).
      assert.ok(rates.rowsRead >= 3 * 300 && rates.rowsRead < 6 * 360, `fleet rates: ${rates.rowsRead} rows`);
      // Six series' 60 rollup minutes to rank, then two candidates' raw hour (one sample a second assumed).
      assert.equal(ranked.rowsRead, 6 * 60 + 2 * 3600);
      assert.equal(plain.rowsRead, 6 * 3600, 'otherwise series × range');
      await assert.rejects(
        queryFleet(f.tdb.pool, { path: IN('*'), from: T0, to: END, widthPx: 360, rate: true, agg: 'sum', deviceIds: f.deviceIds }, { budget: (c) => (c.rowsRead > 100 ? `over budget: ${c.rowsRead} rows; ask for a shorter range` : undefined) }),
        /over budget: \d+ rows; ask for a shorter range/,
      );
    });

    it('refuses what it cannot answer, naming what to change', async () => {
      await assert.rejects(queryFleet(f.tdb.pool, { path: IN('*'), from: T0, to: END, groupBy: 'series', top: 2, bottom: 2 }), /top or bottom, not both/);
      await assert.rejects(queryFleet(f.tdb.pool, { path: IN('*'), from: T0, to: END, top: 2 }), /give groupBy too/);
      await assert.rejects(queryFleet(f.tdb.pool, { path: 'interfaces[', from: T0, to: END }), /INVALID_PATH/);
      await assert.rejects(queryFleet(f.tdb.pool, { path: 'interfaces: bogus', from: T0, to: END }), /Unknown metric/);
      const none = await queryFleet(f.tdb.pool, { path: IN('*'), from: T0, to: END, groupBy: 'lldp[name]' });
      assert.equal(none.seriesCount, 0, 'no series has that key');
    });
  });
}
