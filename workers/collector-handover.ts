/**
 * Make before break (ADR 236): a collector handing its sessions over (SIGTERM, or drained)
 * keeps each stream until the collector that takes it says it streams the device (its warm
 * stream's first point, ADR 235, announced on `session_up`), then ends it with a clean
 * hand-over; sessions not taken within the bound end then. So a planned hand-over leaves no
 * gap in a device's data, however long Temporal takes to move the session's workflow.
 */
import type { MetricsRegistry } from '../core/metrics';

/** Why a session waiting to be handed over was ended here: its new collector streams it, the bound passed, or it had nowhere to go (ADR 295). */
type EndedBy = 'up' | 'bound' | 'nowhere';

/**
 * The sessions a leaving collector keeps no stream for (ADR 295): those its hand-over placement put on
 * no collector (none live, not draining and with room), or every one when that placement failed or was
 * not done within its bound. No collector was told to take them, so none will say it streams them, and
 * their next attempts start only once these end: keeping them would only delay the stop by the overlap.
 */
export function nowhereToGo(running: readonly number[], placed: ReadonlyMap<number, unknown> | undefined): number[] {
  return placed ? running.filter((id) => placed.get(id) === undefined) : [...running];
}

/** The sessions of this collector waiting for their new collector to stream them. */
export class HandoverWhenUp {
  private readonly pending = new Map<number, NodeJS.Timeout>();
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly handOver: (deviceId: number) => void,
    private readonly metrics: MetricsRegistry,
  ) {
    metrics.describe(
      'session_handovers_total',
      'Sessions handed over by make before break (ADR 236), by what ended them here: their new collector streaming them (up), the bound, or nowhere to go (ADR 295)',
    );
    metrics.gauge('session_handovers_waiting', () => this.pending.size);
    metrics.describe('session_handovers_waiting', 'Sessions streaming here until their new collector streams them (ADR 236)');
  }

  /** End each of these sessions here once its new collector streams it, at the latest after `boundMs`. */
  expect(deviceIds: Iterable<number>, boundMs: number): void {
    for (const id of deviceIds) {
      if (this.pending.has(id)) continue;
      const timer = setTimeout(() => this.end(id, 'bound'), boundMs);
      timer.unref?.();
      this.pending.set(id, timer);
    }
  }

  /** Another collector streams these devices now. */
  up(deviceIds: Iterable<number>): void {
    for (const id of deviceIds) if (this.pending.has(id)) this.end(id, 'up');
  }

  /** End these waiting sessions now: no collector will take them (ADR 295). */
  nowhere(deviceIds: Iterable<number>): void {
    for (const id of deviceIds) if (this.pending.has(id)) this.end(id, 'nowhere');
  }

  /** The session of `deviceId` waits here for its new collector. */
  has(deviceId: number): boolean {
    return this.pending.has(deviceId);
  }

  /** Resolves once no session waits. */
  settled(): Promise<void> {
    return this.pending.size === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  private end(deviceId: number, by: EndedBy): void {
    clearTimeout(this.pending.get(deviceId));
    this.pending.delete(deviceId);
    this.metrics.inc('session_handovers_total', 1, { ended: by });
    this.handOver(deviceId);
    if (this.pending.size === 0) for (const w of this.waiters.splice(0)) w();
  }
}
