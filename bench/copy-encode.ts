/**
 * Collector CPU of the binary COPY encoding alone (storage/copy-binary.ts, ADR 100), which
 * bench/collector-cpu.ts leaves out: `encodeSamplesCopy` over 5,000-row batches (the batcher's
 * flush size) of counter-like rows. Prints process CPU ns per row, median of BENCH_RUNS runs.
 *
 *   npx tsx bench/copy-encode.ts
 */
import { encodeSamplesCopy } from '../storage/copy-binary';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const BATCH = 5000;

function batches(): Array<{ time: number[]; series: number[]; value: number[] }> {
  const out = [];
  for (let at = 0; at < ROWS; at += BATCH) {
    const time: number[] = [];
    const series: number[] = [];
    const value: number[] = [];
    for (let i = at; i < at + BATCH; i++) {
      time.push(1_764_000_000_000 + Math.floor(i / 336) * 100 + 0.123);
      series.push(1 + (i % 336));
      value.push(1e9 + i * 1_000_003);
    }
    out.push({ time, series, value });
  }
  return out;
}

function run(input: ReturnType<typeof batches>): number {
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  for (const b of input) bytes += encodeSamplesCopy(b.time, b.series, b.value).length;
  const used = process.cpuUsage(cpu0);
  if (bytes !== input.length * (19 + BATCH * 38 + 2)) throw new Error(`encoded ${bytes} bytes`);
  return ((used.user + used.system) * 1000) / (input.length * BATCH);
}

const input = batches();
run(input);
const results = Array.from({ length: RUNS }, () => run(input));
const sorted = [...results].sort((a, b) => a - b);
console.log(`runs (ns/row): ${results.map((v) => v.toFixed(1)).join(' ')}`);
console.log(`binary COPY encoding, ${BATCH}-row batches: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ns per row, min ${sorted[0].toFixed(1)} ns`);
