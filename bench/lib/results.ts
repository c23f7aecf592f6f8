/** Where a standalone benchmark keeps its figures: bench/results/<name>-<time>.json. */
import fs from 'node:fs';
import path from 'node:path';

/** Write `result` as bench/results/<name>-<at>.json (`at` an ISO time) and say where. */
export function writeBenchResult(name: string, at: string, result: unknown): string {
  const out = path.resolve(import.meta.dirname, '..', 'results', `${name}-${at.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  return out;
}

/** Median and p95 (ms, one decimal) of a benchmark's timings. */
export function timingStats(ms: number[]): { medianMs: number; p95Ms: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { medianMs: +s[Math.floor(s.length / 2)].toFixed(1), p95Ms: +s[Math.min(s.length - 1, Math.floor(s.length * 0.95))].toFixed(1) };
}
