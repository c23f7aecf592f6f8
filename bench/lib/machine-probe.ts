/**
 * A fixed amount of CPU work, timed before each benchmark unit: the same code on the same machine takes
 * up to four times as long from one hour to the next here (a shared VM whose slowness `/proc/stat`
 * does not show as steal), so a run made in parts needs a yardstick to tell the machine's hours apart
 * from the code's changes. Lower is faster; compare units by their ratio.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';

export interface MachineProbe {
  /** Median wall time of one round of the fixed work (ms). */
  workMs: number;
  /** The fastest and the slowest round (ms): a wide spread means something else ran meanwhile. */
  minMs: number;
  maxMs: number;
  /** The 1-minute load average when the probe ran. */
  loadAverage1m: number;
}

/** One round: SHA-256 over 8 MiB (native code) and a JSON round trip of 20,000 small objects (JavaScript, allocation, GC). */
function round(buf: Buffer): number {
  const t0 = performance.now();
  createHash('sha256').update(buf).digest();
  const objects = Array.from({ length: 20_000 }, (_, i) => ({ id: i, path: `/interfaces/interface[name=eth${i % 48}]/state/counters/in-octets`, value: i * 7919 }));
  const back = JSON.parse(JSON.stringify(objects)) as unknown[];
  if (back.length !== objects.length) throw new Error('machine probe: the JSON round trip lost objects');
  return performance.now() - t0;
}

/** Time `rounds` rounds of the fixed work (after one untimed warm-up round) and report their median. */
export function probeMachine(rounds = 7): MachineProbe {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`machine probe: rounds must be a positive integer, not ${rounds}`);
  const buf = Buffer.alloc(8 * 2 ** 20, 0x5a);
  round(buf);
  const times = Array.from({ length: rounds }, () => round(buf)).sort((a, b) => a - b);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return { workMs: r1(times[Math.floor(rounds / 2)]), minMs: r1(times[0]), maxMs: r1(times[rounds - 1]), loadAverage1m: r1(os.loadavg()[0]) };
}

/** `probe` as a line for the run's output. */
export function describeProbe(probe: MachineProbe): string {
  return `machine probe: ${probe.workMs} ms per round of fixed work (${probe.minMs}–${probe.maxMs}; load average ${probe.loadAverage1m}; lower is faster)`;
}
