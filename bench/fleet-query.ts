/**
 * Fleet-query benchmark (issue 17; not part of the test run): query/fleet-query.ts over
 * BENCH_FLEET_QUERY_SERIES interfaces (default 10,000: 100 devices × 100 interfaces, 5 sites)
 * — the per-site total of in-octets rates over 1 h (raw samples), 24 h (1-minute rollup)
 * and 7 d (1-hour rollup), and the top 10 interfaces by rate over 1 h, and the 7 d per-site total
 * and 24 h fleet total again with `to` inside a rolled-up hour and minute (ADR 240, 255) — p50/p95 of
 * BENCH_RUNS runs each (after a first, cold query: coldMs), and whether /api/query's budget
 * (WEB_QUERY_MAX_POINTS, default 5,000,000 rows read by the chosen sources) lets each through.
 *
 *   DATABASE_URL=postgres://… node --import tsx bench/fleet-query.ts
 *   npm run bench -- fleet-query     (a throwaway cluster)
 *
 * Works in a scratch database next to DATABASE_URL's, dropped at the end, in the storage mode
 * BENCH_STORAGE names (`npm run bench` sets its system's mode; standalone default `native`).
 * The raw hour holds 10 s samples. Native: the rollup tables are written directly (what
 * maintenance would write for 1 s samples), which native mode allows and keeps seeding to
 * minutes. TimescaleDB: the rollups are continuous aggregates, which only a refresh writes, so
 * the raw samples go on before the hour — one a minute over the 23 h before it, one an hour over
 * the 6 days before those (the fewest that give every rollup bucket the queries read the same
 * rates) — and the continuous aggregates are refreshed over the 7 days (timed); their `min`,
 * `max`, `avg` and `count` then come from those samples, their `last` (what the rates read) is the
 * same counter. Then one maintenance run (timed) computes the pre-aggregated fleet rates (ADR 145)
 * over the 24 h. BENCH_FLEET_RATES=off leaves those out (the statement over the rollup answers
 * everything: the figures before ADR 145). The seeding time (`seedSeconds`) is in the result. The queries run with the query role's connection
 * settings (jit = off unless QUERY_JIT=true, ADR 175); BENCH_JIT=both also on the server's
 * JIT default.
 *
 * BENCH_FLEET_INGEST_RATE (points/s, default 0: an idle database; a list such as `0,20000,50000`
 * runs every case once per rate, on the same data) writes live samples into the same scratch
 * database meanwhile, through the project's write path (bench/support/steady-ingest.ts: the
 * ingest batcher and its PostgreSQL writer — binary COPY, the doorbell — in a child process, as a
 * collector would), spread over every series, stamped with the clock: after every case's `to`, so
 * the answers are those of the idle database and the difference is the cost of sharing the
 * machine and the database with ingest. After BENCH_FLEET_INGEST_WARMUP_S (10) the cases run; the
 * rate written meanwhile (and offered, dropped, flushes) and the load average before and after
 * are reported beside them. Maintenance (rollups) does not run meanwhile.
 *
 * Before the cases the seeded tables are vacuumed (`VACUUM (ANALYZE)`: BRIN ranges summarized, the
 * visibility map set), as autovacuum leaves them once it has caught up; before, they were only
 * analyzed, and the first cases' figures depended on whether autovacuum had reached the 1-minute
 * rollup yet (its BRIN on `bucket` has no autosummarize: a range not summarized is read whole by
 * every bitmap scan). BENCH_FLEET_SETTLE=none measures that state on purpose: autovacuum off on the
 * seeded tables, only ANALYZE.
 */
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { createPool, queryConnectionSettings, withServerSettings } from '../storage/pool';
import { loadConfig } from '../core/config';
import { migrateLatest } from '../migrations/index';
import { runMaintenance } from '../storage/storage-mode';
import { queryFleet, type FleetQuery } from '../query/fleet-query';
import type { Queryable } from '../query/router';
import { estimatePoints } from '../web/app/lib/query-budget';
import { openScratch, runBench } from './support/scratch';
import { seedInterfaceSeries } from './support/interface-fleet';
import { steadyIngest } from './support/steady-ingest';
import { benchStorage, checkedStorageMode, migrateOptions, refreshContinuousAggregates } from './support/storage';

const SERIES = Number(process.env.BENCH_FLEET_QUERY_SERIES ?? 10_000);
const PER_DEVICE = 100;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MAX_POINTS = Number(process.env.WEB_QUERY_MAX_POINTS ?? 5_000_000);
const INGEST_RATES = (process.env.BENCH_FLEET_INGEST_RATE ?? '0').split(',').map(Number);
const INGEST_WARMUP_MS = Number(process.env.BENCH_FLEET_INGEST_WARMUP_S ?? 10) * 1000;
const SETTLE = process.env.BENCH_FLEET_SETTLE === 'none' ? 'none' : 'vacuum';
const HOUR = 3_600_000;
const RESULTS = process.env.BENCH_OUT ? path.resolve(process.env.BENCH_OUT) : path.join(import.meta.dirname, 'results');

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return { medianMs: +s[Math.floor(s.length / 2)].toFixed(1), p95Ms: +s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)].toFixed(1) };
}

const since = (t: number) => `${((performance.now() - t) / 1000).toFixed(1)} s`;

/** BENCH_EXPLAIN=1: a pool that prints the plans (EXPLAIN ANALYZE) of the fleet statements before running them. */
function explaining(pool: Queryable): Queryable {
  return {
    async query<R>(text: string, values?: unknown[]) {
      if (/^(WITH|SELECT .* FROM samples_1m)/s.test(text)) {
        const plan = await pool.query<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
        console.log(plan.rows.map((r) => Object.values(r)[0]).join('\n'));
      }
      return pool.query<R>(text, values);
    },
  };
}

/** BENCH_FLEET_SETTLE=none: autovacuum off on the seeded tables (and their partitions), so the cases meet them as loaded. */
async function autovacuumOff(pool: Queryable) {
  const tables = await pool.query<{ t: string }>(
    `SELECT c.oid::regclass::text AS t FROM pg_class c
      WHERE c.relkind = 'r' AND (c.relname = ANY($1) OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent::regclass::text = ANY($1)))`,
    [['samples', 'samples_1m', 'samples_1h', 'fleet_rates_1m']],
  );
  for (const { t } of tables.rows) await pool.query(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`);
}

/** Migrate the scratch database in BENCH_STORAGE's mode (standalone: native, as before); the mode asked for. */
async function migrateScratch(db: Parameters<typeof migrateLatest>[0]) {
  const asked = benchStorage('native');
  await migrateLatest(db, migrateOptions(asked));
  return asked;
}

async function main() {
  const scratch = await openScratch('bench_fleet_query', 2, 4);
  const { db, pool } = scratch;
  // The queries run on connections with the query role's settings (QUERY_JIT: jit = off unless asked, ADR 175); BENCH_JIT=both: each case also with the server's JIT default.
  const queries = createPool(withServerSettings(scratch.url, queryConnectionSettings(loadConfig())), 4);
  const pools: Array<[string, Queryable]> =
    process.env.BENCH_JIT === 'both'
      ? [
          ['', queries],
          [' (server JIT default)', pool],
        ]
      : [['', queries]];
  try {
    const storage = await checkedStorageMode(db, await migrateScratch(db));
    if (SETTLE === 'none') await autovacuumOff(pool);
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const devices = Math.ceil(SERIES / PER_DEVICE);
    const seedStarted = performance.now();
    let t = seedStarted;
    await seedInterfaceSeries(pool, { devices, interfaces: PER_DEVICE, sites: 5, maxSeries: SERIES });
    // Counter of series s at time t (s): rate 1000 + (s % 97) × 10 octets/s. Rows are written in time order, as ingest and maintenance write them.
    const counter = (ts: string) => `(${ts}) * (1000 + (s.id % 97) * 10)`;
    /** Raw samples every `stepS` from `fromS` to `toS` (epoch seconds, both included), in statements of about 2,000,000 rows. */
    const raw = async (fromS: number, toS: number, stepS: number) => {
      const span = Math.max(1, Math.floor(2_000_000 / SERIES)) * stepS;
      for (let lo = fromS; lo <= toS; lo += span) {
        await pool.query(
          `INSERT INTO samples (time, series_id, value)
           SELECT to_timestamp(g), s.id, ${counter('g')}
             FROM series s CROSS JOIN generate_series($1::bigint, $2::bigint, $3::bigint) g ORDER BY g, s.id`,
          [lo, Math.min(lo + span - stepS, toS), stepS],
        );
      }
    };
    await raw((now - HOUR - 60_000) / 1000, now / 1000, 10);
    console.log(`raw: ${SERIES} series × 1 h of 10 s samples in ${since(t)}`);
    t = performance.now();
    if (storage === 'timescaledb') {
      // Continuous aggregates: only a refresh writes them, from raw samples (the refresh policies' work over the 7 days at once).
      await raw((now - 24 * HOUR) / 1000, (now - HOUR - 120_000) / 1000, 60);
      await raw((now - 7 * 24 * HOUR) / 1000, (now - 25 * HOUR) / 1000, 3600);
      console.log(`raw: ${SERIES} series × 23 h of 1-minute and 6 d of 1-hour samples in ${since(t)}`);
      t = performance.now();
      await refreshContinuousAggregates(pool, now - 7 * 24 * HOUR, now);
      console.log(`continuous aggregates refreshed over 7 d in ${since(t)}`);
      t = performance.now();
    }
    for (const [table, unitS, spanH] of storage === 'timescaledb'
      ? []
      : ([
          ['samples_1m', 60, 24],
          ['samples_1h', 3600, 24 * 7],
        ] as const)) {
      // One day per statement: bounded memory and visible progress.
      for (let day = 0; day < spanH / 24; day++) {
        const hi = now / 1000 - day * 86_400;
        await pool.query(
          `INSERT INTO ${table} (series_id, bucket, min, max, avg, last, count)
           SELECT s.id, to_timestamp(b), ${counter('b')}, ${counter(`b + ${unitS} - 1`)}, ${counter(`b + ${unitS / 2}`)}, ${counter(`b + ${unitS} - 1`)}, ${unitS}
             FROM series s CROSS JOIN generate_series($1::bigint, $2::bigint, ${unitS}) b ORDER BY b, s.id`,
          [hi - 86_400, hi - unitS],
        );
      }
      console.log(`${table}: ${SERIES} series × ${spanH} h in ${since(t)}`);
      t = performance.now();
    }
    if (process.env.BENCH_FLEET_RATES !== 'off') {
      // The rollups above count as done up to now; the run computes the fleet rates over their 24 h.
      if (storage === 'native') {
        await pool.query(`INSERT INTO storage_rollup_state (name, watermark) VALUES ('samples_1m', to_timestamp($1::float8 / 1000)), ('samples_1h', to_timestamp($1::float8 / 1000))`, [now]);
      } else {
        // TimescaleDB's 1-minute rollup reaches back 7 days (hourly buckets before the last 24 h): the fleet rates start 24 h back,
        // as native's (its rollup starts there): a watermark one look-back (ROLLUP_LOOKBACK_MS, 10 min) after that.
        await pool.query(`INSERT INTO storage_rollup_state (name, watermark) VALUES ('fleet_rates_1m', to_timestamp($1::float8 / 1000))`, [now - 24 * HOUR + 10 * 60_000]);
      }
      const report = await runMaintenance(db, { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 1 });
      console.log(`maintenance run with the fleet rates over 24 h: ${since(t)} (fleet rates up to ${report.watermarkFleetRates})`);
      t = performance.now();
    }
    if (SETTLE === 'none') {
      await autovacuumOff(pool);
      await pool.query('ANALYZE');
    } else {
      // What autovacuum leaves once it has caught up: BRIN ranges summarized, the visibility map set, statistics.
      await pool.query('VACUUM (ANALYZE)');
    }
    console.log(`${SETTLE === 'none' ? 'ANALYZE (as loaded, autovacuum off)' : 'VACUUM (ANALYZE)'}: ${since(t)}`);
    const seedSeconds = +((performance.now() - seedStarted) / 1000).toFixed(1);
    console.log(`seeded (${storage}) in ${seedSeconds} s`);
    t = performance.now();

    /** 29 min 35 s before the hour: inside a minute and an hour that the rollups hold. */
    const inside = now - 29 * 60_000 - 35_000;
    const cases: Array<{ name: string; query: FleetQuery }> = [
      {
        name: 'sum by site, 1 h, 1000 px',
        query: { path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'sum', groupBy: 'site', from: now - HOUR, to: now, widthPx: 1000 },
      },
      {
        name: 'sum by site, 24 h, 1000 px',
        query: { path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'sum', groupBy: 'site', from: now - 24 * HOUR, to: now, widthPx: 1000 },
      },
      {
        name: 'sum by site, 7 d, 150 px',
        query: { path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'sum', groupBy: 'site', from: now - 7 * 24 * HOUR, to: now, widthPx: 150 },
      },
      { name: 'fleet total, 24 h, 1000 px', query: { path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'sum', from: now - 24 * HOUR, to: now, widthPx: 1000 } },
      {
        name: 'top 10 interfaces by rate, 1 h, 1000 px',
        query: { path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'sum', groupBy: 'series', top: 10, from: now - HOUR, to: now, widthPx: 1000 },
      },
      // `to` inside a rolled-up minute and hour (ADR 240, 255): the bucket holding it is not read whole from its rollup row.
      {
        name: 'sum by site, 7 d, 150 px, to inside a rolled-up hour',
        query: { path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'sum', groupBy: 'site', from: inside - 7 * 24 * HOUR, to: inside, widthPx: 150 },
      },
      {
        name: 'fleet total, 24 h, 1000 px, to inside a rolled-up minute',
        query: { path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'sum', from: inside - 24 * HOUR, to: inside, widthPx: 1000 },
      },
    ];
    const out: Array<Record<string, unknown>> = [];
    const ingestPhases: Array<Record<string, unknown>> = [];
    // BENCH_FLEET_CASES=total,top: only the cases whose name contains one of these words.
    const only = process.env.BENCH_FLEET_CASES?.split(',').filter(Boolean);
    const chosen = cases.filter((c2) => !only || only.some((w) => c2.name.includes(w)));
    const loadavg = () => os.loadavg().map((l) => +l.toFixed(2));
    for (const rate of INGEST_RATES) {
      const ingest = rate > 0 ? await steadyIngest(scratch.url, rate) : undefined;
      const ingestSuffix = rate > 0 ? `, ingesting ${rate} points/s` : '';
      if (ingest) await sleep(INGEST_WARMUP_MS);
      const mark = ingest?.since();
      const loadBefore = loadavg();
      try {
        for (const [jitSuffix, conns] of pools) {
          const suffix = jitSuffix + ingestSuffix;
          for (const c of chosen) {
            // Warm-up (the first query of a pattern also matches the series: coldMs), and the shape of the answer.
            const cold = performance.now();
            let rowsRead = 0;
            const first = await queryFleet(process.env.BENCH_EXPLAIN ? explaining(conns) : conns, c.query, { budget: (cost) => ((rowsRead = cost.rowsRead), undefined) });
            const coldMs = +(performance.now() - cold).toFixed(1);
            const ms: number[] = [];
            for (let i = 0; i < RUNS; i++) {
              const s = performance.now();
              await queryFleet(conns, c.query);
              ms.push(performance.now() - s);
            }
            // /api/query's budget counts the rows the chosen sources read (ADR 175); series × range as before, for comparison.
            const seriesTimesRange = estimatePoints(first.seriesCount, c.query.from, c.query.to, c.query.widthPx ?? 1000).points;
            const row = {
              case: c.name + suffix,
              ...stats(ms),
              coldMs,
              ingestRate: rate,
              resolution: `${first.resolution}/${first.bucketMs / 1000}s`,
              series: first.seriesCount,
              groups: first.groups.length,
              pointsPerGroup: first.groups[0]?.points.length ?? 0,
              rowsRead,
              seriesTimesRange,
              withinApiBudget: rowsRead <= MAX_POINTS,
            };
            out.push(row);
            console.log(JSON.stringify(row));
          }
        }
        // The rate written while the cases ran (the child reports every second).
        if (ingest) await sleep(1100);
        const phase = { ingestRate: rate, loadavgBefore: loadBefore, loadavgAfter: loadavg(), ...(ingest && mark ? { ingest: ingest.rateSince(mark) } : {}) };
        ingestPhases.push(phase);
        console.log(JSON.stringify(phase));
      } finally {
        await ingest?.stop();
      }
    }
    const result = { benchmark: 'fleet-query', series: SERIES, runs: RUNS, at: new Date().toISOString(), storage, seedSeconds, cases: out, ingest: ingestPhases };
    fs.mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `fleet-query-${result.at.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2));
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await queries.end();
    await scratch.close();
  }
}

runBench(main);
