/**
 * Alert evaluation benchmark (issue 18; not part of the test run): what evaluating alert
 * rules costs over a fleet of 10,000 series (1,000 devices × 10 interfaces, 10 sites,
 * 10 minutes of 10-second counter samples), through the same activity the rule workflows
 * call (activities/alerts.ts evaluateAlertRule), one evaluation after another:
 *  - threshold: rate of in-octets over every interface, max by site (10 instances), 1 min window;
 *  - threshold: the same grouped by interface[name] (10 instances);
 *  - absence: newest sample of every series, per device (1,000 instances).
 * Prints each kind's median and p95 per evaluation and what 1,000 rules of that kind at a
 * 1-minute interval would ask of the database (evaluations per second × median), then
 * writes bench/results/alert-eval-<time>.json.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:54329/switch_telemetry node --import tsx bench/alert-eval.ts
 *
 * Works in a scratch database next to DATABASE_URL's (native mode), dropped at the end.
 */
import type { Client } from '@temporalio/client';
import { createAlertActivities } from '../activities/alerts';
import type { AlertRuleDefinition, AlertSpec } from '../core/alert-rules';
import { migrateLatest } from '../migrations/index';
import { parseKeyring } from '../storage/secrets';
import { seedInterfaceFleet } from './support/interface-fleet';
import { openScratch, runBench } from './support/scratch';
import { timingStats, writeBenchResult } from './lib/results';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const INTERFACES = 10;
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const RULES = 1000;
const INTERVAL_S = 60;

async function main() {
  const scratch = await openScratch('bench_alerts', 4, 4);
  const { db, pool } = scratch;
  try {
    await migrateLatest(db, { storageTimescaledb: 'off' });
    const started = performance.now();
    const { series, samples: rows } = await seedInterfaceFleet(pool, { devices: DEVICES, interfaces: INTERFACES, sites: 10, minutes: 10 });
    console.log(`seeded ${DEVICES} devices, ${series.toLocaleString('en')} series, ${rows.toLocaleString('en')} samples in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const acts = createAlertActivities({ db, pool, ring: parseKeyring(`1:${Buffer.alloc(32, 1).toString('base64')}`), client: {} as Client });
    const rule = (spec: AlertSpec): AlertRuleDefinition => ({ id: 1, name: 'bench', spec, severity: 'warning', forMs: 0, intervalMs: INTERVAL_S * 1000, labels: {}, contactPointId: null, enabled: true, version: 1 });
    const PATH = '/interfaces/interface[name=*]/state/counters/in-octets';
    const kinds: Record<string, AlertRuleDefinition> = {
      'threshold rate max by site': rule({ kind: 'threshold', path: PATH, rate: true, agg: 'max', groupBy: 'site', op: '>', threshold: 1e9, windowMs: 60_000 }),
      'threshold rate sum by interface[name]': rule({ kind: 'threshold', path: PATH, rate: true, agg: 'sum', groupBy: 'interface[name]', op: '>', threshold: 1e12, windowMs: 60_000 }),
      'absence per device': rule({ kind: 'absence', path: PATH, silentMs: 120_000 }),
    };
    const results: Record<string, unknown> = {};
    for (const [name, r] of Object.entries(kinds)) {
      const first = await acts.evaluateAlertRule(r); // warm-up
      const ms: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        await acts.evaluateAlertRule(r);
        ms.push(performance.now() - t);
      }
      const s = timingStats(ms);
      // 1,000 such rules at a 1-minute interval: evaluations per second × cost of one = busy seconds per second.
      const load = +((RULES / INTERVAL_S) * (s.medianMs / 1000)).toFixed(2);
      results[name] = { ...s, instances: first.observations.length, firing: first.observations.filter((o) => o.active).length, busySecondsPerSecondFor1000RulesEveryMinute: load };
      console.log(`${name.padEnd(40)} median ${s.medianMs} ms, p95 ${s.p95Ms} ms, ${first.observations.length} instances; 1,000 such rules every minute ≈ ${load} s of evaluation per second`);
    }
    const result = {
      benchmark: 'alert-eval',
      at: new Date().toISOString(),
      server: (await pool.query('SHOW server_version')).rows[0].server_version,
      fleet: { devices: DEVICES, series, samples: rows, sampleIntervalS: 10, sites: 10 },
      runs: RUNS,
      kinds: results,
    };
    writeBenchResult('alert-eval', result.at, result);
  } finally {
    await scratch.close();
  }
}

runBench(main);
