/**
 * A saturated collector keeps its lease (issue 20, ADR 165), standalone:
 * `node --import tsx bench/collector-lease.ts` (throwaway PostgreSQL and Temporal, the real
 * simulator, control worker and collector; also `npm run bench -- lease`). Knobs:
 * BENCH_LEASE_DEVICES, BENCH_LEASE_INTERFACES, BENCH_LEASE_INTERVAL_MS, BENCH_LEASE_SECONDS,
 * BENCH_LEASE_MS (bench/README.md). Writes bench/results/collector-lease-<time>.json.
 */
import { writeBenchResult } from './lib/results';
import { startBenchSystem } from './lib/system';
import { collectorLease, collectorLeaseOptions } from './scenarios/collector-lease';
import { runBench } from './support/scratch';

async function main() {
  const startedAt = new Date().toISOString();
  const sys = await startBenchSystem();
  try {
    const result = await collectorLease(sys, collectorLeaseOptions());
    writeBenchResult('collector-lease', startedAt, { ...result, startedAt });
  } finally {
    await sys.stop();
  }
}

runBench(main);
