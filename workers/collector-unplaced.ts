/**
 * Sessions this collector runs from the shared queue although their workflow places sessions
 * (ADR 292): no collector was live when they asked placement, as when the control worker starts
 * a fleet's sessions before any collector has registered. Left alone they stay off placement
 * until their attempt ends (up to the session lease): placement does not count them, rebalancing
 * and drain cannot move them, and a kill -9 reaches them only at their heartbeat timeout. The
 * collector moves a few at a time to another live collector by the same make-before-break
 * hand-over as rebalancing, so they come under placement without a gap.
 */
import type { MetricsRegistry } from '../core/metrics';
import type { RunSessionInput } from '../core/names';

export class UnplacedSessions {
  /** Device → the attempt running here unplaced. */
  private readonly attempts = new Map<number, number>();
  /** Of those, the ones being moved now. */
  private readonly moving = new Set<number>();

  constructor(private readonly metrics: MetricsRegistry) {
    metrics.describe('sessions_unplaced', 'Sessions running here from the shared queue that placement could not place when they began (ADR 292)');
    metrics.gauge('sessions_unplaced', () => this.attempts.size);
    metrics.describe('session_unplaced_moves_total', 'Unplaced sessions handed over to another collector to come under placement (ADR 292)');
    metrics.inc('session_unplaced_moves_total', 0);
  }

  /** Unplaced sessions running here. */
  get size(): number {
    return this.attempts.size;
  }

  /** Run one attempt (`run` is called at once, in the activity's context); an unplaced one is remembered while it runs. */
  track<T>(input: RunSessionInput, run: () => Promise<T>): Promise<T> {
    if (!input.unplaced) return run();
    const { deviceId, attempt } = input;
    this.attempts.set(deviceId, attempt);
    return run().finally(() => {
      if (this.attempts.get(deviceId) !== attempt) return;
      this.attempts.delete(deviceId);
      this.moving.delete(deviceId);
    });
  }

  /** Up to `maxInFlight` moves at once: the sessions to move now (each `movable`), marked as moving. */
  take(maxInFlight: number, movable: (deviceId: number) => boolean): number[] {
    const ids: number[] = [];
    for (const id of this.attempts.keys()) {
      if (this.moving.size >= maxInFlight) break;
      if (this.moving.has(id) || !movable(id)) continue;
      this.moving.add(id);
      ids.push(id);
    }
    if (ids.length) this.metrics.inc('session_unplaced_moves_total', ids.length);
    return ids;
  }
}
