/**
 * Alert rule preview benchmark (issue 18; not part of the test run): what the rule editor's
 * 24 h preview (query/alert-preview.ts: one fleet query over the day, then the replay of
 * core/alert-preview.ts) costs over a fleet of BENCH_DEVICES × 10 interfaces with a day of
 * 1-minute in-octets samples (rolled up by the maintenance run, as the collector's data is):
 *  - rate of in-octets max by site, every minute (1,440 steps from the 1-minute rollups);
 *  - the same summed by interface[name];
 *  - every 10 s: 8,640 evaluations, replayed at 30 s steps from raw samples.
 * Each case is timed both ways the preview can read the day: in statements of
 * PREVIEW_CHUNK_STEPS steps (what the preview does) and as one statement over the day (before);
 * with the longest single statement of each, which is what the web app's statement timeout
 * (WEB_STATEMENT_TIMEOUT_MS, 10 s) bounds. Prints each case's median and p95 (query and replay
 * together) and the replay's share, then writes bench/results/alert-preview-<time>.json.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:54329/switch_telemetry node --import tsx bench/alert-preview.ts
 *
 * Works in a scratch database next to DATABASE_URL's (native mode), dropped at the end.
 */
import os from 'node:os';
import { replayThreshold } from '../core/alert-preview';
import type { ThresholdSpec } from '../core/alert-rules';
import { migrateLatest } from '../migrations/index';
import { PREVIEW_CHUNK_STEPS, previewAlertRule } from '../query/alert-preview';
import type { Queryable } from '../query/router';
import { queryFleet } from '../query/fleet-query';
import { runMaintenance } from '../storage/storage-mode';
import { openScratch, runBench } from './support/scratch';
import { seedInterfaceSeries } from './support/interface-fleet';
import { timingStats, writeBenchResult } from './lib/results';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 100);
const INTERFACES = 10;
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const PATH = '/interfaces/interface[name=*]/state/counters/in-octets';

async function main() {
  const scratch = await openScratch('bench_alert_preview', 4, 4);
  const { db, pool } = scratch;
  try {
    await migrateLatest(db, { storageTimescaledb: 'off' });
    const started = performance.now();
    await seedInterfaceSeries(pool, { devices: DEVICES, interfaces: INTERFACES });
    // A day of 1-minute counters; every series busier for an hour a few times a day.
    await pool.query(
      `INSERT INTO samples (time, series_id, value)
       SELECT date_trunc('minute', now()) - make_interval(mins => t), s.id,
              (1440 - t) * 60 * 1000.0 * (1 + s.id % 7) + CASE WHEN (t / 60 + s.id) % 7 = 0 THEN (1440 - t) * 60 * 5000.0 ELSE 0 END
         FROM series s CROSS JOIN generate_series(0, 1440) t`,
    );
    const report = await runMaintenance(db, { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 2, lateSpanPerRunMs: 48 * 3_600_000 });
    await pool.query('ANALYZE devices; ANALYZE series; ANALYZE samples');
    const series = Number((await pool.query('SELECT count(*) AS n FROM series')).rows[0].n);
    const rows = Number((await pool.query('SELECT count(*) AS n FROM samples')).rows[0].n);
    console.log(
      `seeded ${DEVICES} devices, ${series.toLocaleString('en')} series, ${rows.toLocaleString('en')} samples (24 h) and rolled them up (${report.mode}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const spec = (over: Partial<ThresholdSpec>): ThresholdSpec => ({ kind: 'threshold', path: PATH, rate: true, agg: 'max', groupBy: 'site', op: '>', threshold: 5000, recovery: 4000, windowMs: 60_000, ...over });
    const cases: Record<string, { spec: ThresholdSpec; intervalMs: number }> = {
      'rate max by site, every 1 min': { spec: spec({}), intervalMs: 60_000 },
      'rate sum by interface[name], every 1 min': { spec: spec({ agg: 'sum', groupBy: 'interface[name]', threshold: 50_000 * DEVICES, recovery: 40_000 * DEVICES }), intervalMs: 60_000 },
      'rate max by site, every 10 s (30 s steps, raw)': { spec: spec({}), intervalMs: 10_000 },
    };
    // BENCH_CASES: a comma-separated list of words; only the cases whose name contains one of them run.
    const only = process.env.BENCH_CASES?.split(',').map((w) => w.trim()).filter(Boolean);
    for (const name of Object.keys(cases)) if (only && !only.some((w) => name.includes(w))) delete cases[name];
    const results: Record<string, unknown> = {};
    // The longest statement of the preview under way (each statement timed as it runs).
    let longest = 0;
    const timed: Queryable = {
      async query<R>(text: string, values?: unknown[]) {
        const t = performance.now();
        try {
          return (await pool.query(text, values)) as unknown as { rows: R[] };
        } finally {
          longest = Math.max(longest, performance.now() - t);
        }
      },
    };
    const ways: Record<string, number> = { [`in parts of ${PREVIEW_CHUNK_STEPS} steps`]: PREVIEW_CHUNK_STEPS, 'one statement': Number.POSITIVE_INFINITY };
    for (const [name, c] of Object.entries(cases)) {
      const rule = { spec: c.spec, forMs: 300_000, intervalMs: c.intervalMs };
      const first = await previewAlertRule(pool, rule); // warm-up
      const byWay: Record<string, unknown> = {};
      for (const [way, chunkSteps] of Object.entries(ways)) {
        const ms: number[] = [];
        const statementMs: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          longest = 0;
          const t = performance.now();
          await previewAlertRule(timed, rule, { chunkSteps });
          ms.push(performance.now() - t);
          statementMs.push(longest);
        }
        const s = timingStats(ms);
        const l = timingStats(statementMs);
        byWay[way] = { ...s, longestStatement: l };
        console.log(`${name.padEnd(48)} ${way.padEnd(22)} median ${s.medianMs} ms, p95 ${s.p95Ms} ms; longest statement median ${l.medianMs} ms, p95 ${l.p95Ms} ms`);
      }
      // The replay alone, on the answer of one query at the same step.
      const to = Date.now();
      const answer = await queryFleet(pool, { path: PATH, rate: c.spec.rate, agg: c.spec.agg, groupBy: c.spec.groupBy, from: to - 86_400_000, to, widthPx: first.steps });
      const replayMs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        replayThreshold(rule, answer.groups, answer.bucketMs);
        replayMs.push(performance.now() - t);
      }
      const r = timingStats(replayMs);
      results[name] = { ...byWay, replay: r, steps: first.steps, stepMs: first.stepMs, resolution: first.resolution, coarser: first.coarser ?? null, instances: first.instances.length + first.quietInstances, notifications: first.notifications };
      console.log(
        `${name.padEnd(48)} replay alone ${r.medianMs} ms; ${first.steps} steps of ${first.stepMs / 1000} s from ${first.resolution}, ${first.instances.length + first.quietInstances} instances, ${first.notifications} notifications`,
      );
    }
    const result = {
      benchmark: 'alert-preview',
      at: new Date().toISOString(),
      server: (await pool.query('SHOW server_version')).rows[0].server_version,
      fleet: { devices: DEVICES, series, samples: rows, sampleIntervalS: 60, sites: 10 },
      runs: RUNS,
      loadavg: os.loadavg(),
      cases: results,
    };
    writeBenchResult('alert-preview', result.at, result);
  } finally {
    await scratch.close();
  }
}

runBench(main);
