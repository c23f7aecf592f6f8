/**
 * CPU in slices while a step runs: each process group's share (% of one core) and the whole
 * machine's busy time (% of one core, at most 100 × cores), per `sliceMs`. A window's average hides
 * a burst; the slices show whether some process or the machine was saturated in the first seconds.
 */
import { CpuMeter, machineBusySeconds } from './procstat';

/** One slice: seconds from the start to its end, and each group's CPU over it, with `machine`. */
export type CpuSlice = { untilS: number } & Record<string, number>;

export class CpuTimeline {
  private readonly meter: CpuMeter;
  private readonly slices: CpuSlice[] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private sliceAt = 0;
  private machineAt = 0;

  constructor(
    pids: () => Record<string, number[]>,
    private readonly sliceMs = 5000,
  ) {
    this.meter = new CpuMeter(pids);
  }

  start(): void {
    this.startedAt = this.sliceAt = performance.now();
    this.machineAt = machineBusySeconds();
    this.meter.begin();
    this.timer = setInterval(() => this.cut(), this.sliceMs);
    this.timer.unref();
  }

  /** End the last slice; every slice since start(). */
  stop(): CpuSlice[] {
    clearInterval(this.timer);
    if (performance.now() - this.sliceAt >= 500) this.cut();
    return this.slices;
  }

  private cut(): void {
    const groups = this.meter.end();
    const now = performance.now();
    const machine = machineBusySeconds();
    const seconds = (now - this.sliceAt) / 1000;
    this.slices.push({ untilS: Math.round((now - this.startedAt) / 100) / 10, ...groups, machine: Math.round(((machine - this.machineAt) / seconds) * 1000) / 10 });
    this.sliceAt = now;
    this.machineAt = machine;
    this.meter.begin();
  }
}
