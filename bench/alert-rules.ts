/**
 * Alert rule workflows at scale (issue 18, ADR 190), standalone: `node --import tsx
 * bench/alert-rules.ts` (its own throwaway PostgreSQL — native mode, or BENCH_STORAGE=timescaledb —
 * and Temporal dev server, the real control worker; also `npm run bench -- alert-rules`, once per
 * storage mode). Knobs: BENCH_RULES,
 * BENCH_ALERT_SECONDS, BENCH_DEVICES, BENCH_ALERT_EVAL_CONCURRENCY (bench/README.md). Writes
 * bench/results/alert-rules-<time>.json.
 */
import { writeBenchResult } from './lib/results';
import { startBenchSystem } from './lib/system';
import { alertRules, alertRulesOptions } from './scenarios/alert-rules';
import { runBench } from './support/scratch';
import { benchStorage } from './support/storage';

async function main() {
  const sys = await startBenchSystem({ storage: benchStorage('native') });
  try {
    const result = await alertRules(sys, alertRulesOptions());
    writeBenchResult('alert-rules', result.at, result);
  } finally {
    await sys.stop();
  }
}

runBench(main);
