/** The leaving collector's placements of its sessions, read by the session activity (SessionDeps.handoverPlacements). */
import type { SessionPlacement } from '../core/names';

/**
 * Where a leaving collector placed its sessions' next attempts (ADR 200, 231). The placement (one
 * transaction for all of them) starts at SIGTERM while the streams end at once; each hand-over
 * result waits for it, at most `boundMs` from its start (a session not placed by then asks placement).
 */
export class HandoverPlacements {
  private readonly placed = new Map<number, SessionPlacement>();
  private ready: Promise<unknown> = Promise.resolve();

  /**
   * Start placing; `place` resolves with each device's placement (undefined: none). Resolves with that
   * placement once done, or undefined when it failed or its bound passed first (ADR 295 reads it).
   */
  start(place: () => Promise<ReadonlyMap<number, SessionPlacement | undefined>>, boundMs: number): Promise<ReadonlyMap<number, SessionPlacement | undefined> | undefined> {
    const placing = place().then(
      (placed) => {
        for (const [deviceId, p] of placed) if (p) this.placed.set(deviceId, p);
        return placed;
      },
      () => undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, boundMs, undefined)));
    const settled = Promise.race([placing, bound]).finally(() => clearTimeout(timer));
    this.ready = settled;
    return settled;
  }

  /** The next queue of a device's session, once the placement finished or its bound passed. */
  async next(deviceId: number): Promise<SessionPlacement | undefined> {
    await this.ready;
    return this.placed.get(deviceId);
  }
}
