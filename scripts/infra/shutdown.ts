/**
 * How `npm start` stops what it started: one part at a time, dependents before what
 * they depend on — the web app and the collectors (which hand their sessions back
 * through Temporal) first, then the control worker and the simulator, then Temporal,
 * then PostgreSQL — and how long each part and the whole stop took.
 */

/** Stop order: each part still has everything it needs while it stops. */
export const STOP_ORDER = ['web', 'collector', 'control', 'simulator', 'temporal', 'postgres'] as const;
export type StopPart = (typeof STOP_ORDER)[number];

/** What stopping one part took. */
export interface StopTiming {
  part: StopPart;
  ms: number;
  error?: string;
}

/** Registry of the parts that were started, stopped in STOP_ORDER whatever order they started in. */
export class OrderedShutdown {
  private readonly parts = new Map<StopPart, () => Promise<void>>();

  /** Record how to stop a part (once; a second registration replaces the first). */
  register(part: StopPart, stop: () => Promise<void>): void {
    this.parts.set(part, stop);
  }

  /** Stop every registered part in order, one after the other; a failure is reported and the rest still stop. */
  async stopAll(write: (line: string) => void = (l) => process.stderr.write(l)): Promise<StopTiming[]> {
    const started = Date.now();
    const timings: StopTiming[] = [];
    for (const part of STOP_ORDER) {
      const stop = this.parts.get(part);
      if (!stop) continue;
      this.parts.delete(part);
      const t0 = Date.now();
      let error: string | undefined;
      try {
        await stop();
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const ms = Date.now() - t0;
      timings.push({ part, ms, ...(error ? { error } : {}) });
      write(`  ${part} stopped (${seconds(ms)})${error ? ` with an error: ${error}` : ''}\n`);
    }
    write(`Stopped in ${seconds(Date.now() - started)}.\n`);
    return timings;
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
