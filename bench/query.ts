/**
 * Query benchmark (not part of the test run): latency of a dashboard panel of
 * 20 series over 24 hours, 1000 px wide, through the query router with rollups
 * (it picks the 1-minute rollup) against the same panel forced to raw samples.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:54329/switch_telemetry node --import tsx bench/query.ts
 *
 * Works in a scratch database next to DATABASE_URL's, seeded with 24 h of 1-second samples
 * (BENCH_INTERVAL_S), dropped at the end. Its storage mode: BENCH_STORAGE (`timescaledb` or
 * `native`; `npm run bench` sets its system's mode), else as STORAGE_TIMESCALEDB and the server
 * decide (docs/storage.md). Rolled up the way the mode does it: native by the maintenance
 * activity, TimescaleDB by refreshing the continuous aggregates over the day (their policies'
 * work, done at once).
 */
import { runMaintenance } from '../storage/storage-mode';
import { migrateLatest } from '../migrations/index';
import { querySeries, type SeriesQuery } from '../query/router';
import { openScratch, runBench } from './support/scratch';
import { benchStorage, checkedStorageMode, migrateOptions, refreshContinuousAggregates } from './support/storage';
import { timingStats, writeBenchResult } from './lib/results';

const SERIES = 20;
const INTERVAL_S = Number(process.env.BENCH_INTERVAL_S ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

async function main() {
  const scratch = await openScratch('bench_query', 2, 4);
  const { db, pool } = scratch;
  try {
    const asked = benchStorage();
    await migrateLatest(db, migrateOptions(asked));
    const storage = await checkedStorageMode(db, asked);
    const [dev] = await db('devices').insert({ name: 'bench', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
    const to = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const from = to - 24 * 3_600_000;
    const seriesIds: number[] = [];
    for (let i = 0; i < SERIES; i++) {
      const [s] = await db('series')
        .insert({ device_id: dev.id, path: `/interfaces/interface[name=Ethernet${i}]/state/counters/in-octets`, kind: 'number' })
        .returning('id');
      seriesIds.push(Number(s.id));
    }
    const seedStarted = performance.now();
    let started = seedStarted;
    for (const id of seriesIds) {
      await pool.query(
        `INSERT INTO samples (time, series_id, value)
         SELECT to_timestamp($1::float8 / 1000) + make_interval(secs => g * $4::int), $2, g * 1250.0 + random() * 100
           FROM generate_series(0, $3::int) g`,
        [from, id, Math.floor((24 * 3600) / INTERVAL_S), INTERVAL_S],
      );
    }
    await pool.query('ANALYZE samples');
    const rawRows = Number((await pool.query('SELECT count(*) AS n FROM samples')).rows[0].n);
    console.log(`seeded ${rawRows.toLocaleString('en')} raw rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    started = performance.now();
    // The refresh ANALYZEs the continuous aggregates' tables itself (ANALYZE of their views is skipped).
    if (storage === 'timescaledb') await refreshContinuousAggregates(pool, from, to + 60_000);
    else {
      await runMaintenance(db, { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 3 });
      await pool.query('ANALYZE samples_1m; ANALYZE samples_1h');
    }
    const seedSeconds = +((performance.now() - seedStarted) / 1000).toFixed(1);
    console.log(`rolled up (${storage}) in ${((performance.now() - started) / 1000).toFixed(1)} s; seeded in ${seedSeconds} s`);

    const panel: SeriesQuery = { seriesIds, from, to, widthPx: 1000, agg: 'avg', rate: true };
    const time = async (q: SeriesQuery) => {
      const out: number[] = [];
      let points = 0;
      let resolution = '';
      await querySeries(pool, q); // warm-up
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        const r = await querySeries(pool, q);
        out.push(performance.now() - t);
        points = r.series.reduce((n, s) => n + s.points.length, 0);
        resolution = `${r.resolution}/${r.bucketMs / 1000}s`;
      }
      return { ...timingStats(out), points, resolution };
    };
    const rollup = await time(panel);
    const raw = await time({ ...panel, resolution: 'raw' });
    const result = {
      benchmark: 'query',
      at: new Date().toISOString(),
      server: (await pool.query('SHOW server_version')).rows[0].server_version,
      storage,
      seedSeconds,
      panel: { series: SERIES, hours: 24, widthPx: 1000, rawIntervalS: INTERVAL_S, rawRows, rate: true },
      rollup,
      raw,
      rawToRollupRatio: +(raw.medianMs / rollup.medianMs).toFixed(1),
    };
    console.log(`with rollups (${rollup.resolution}): median ${rollup.medianMs} ms, p95 ${rollup.p95Ms} ms, ${rollup.points} points`);
    console.log(`raw          (${raw.resolution}): median ${raw.medianMs} ms, p95 ${raw.p95Ms} ms, ${raw.points} points`);
    console.log(`ratio        : raw takes ${result.rawToRollupRatio}× as long`);
    writeBenchResult('query', result.at, result);
  } finally {
    await scratch.close();
  }
}

runBench(main);
