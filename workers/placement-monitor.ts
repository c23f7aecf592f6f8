/**
 * The control worker's placement monitor (ADR 110), every PLACEMENT_MONITOR_MS:
 * sessions whose collector's lease lapsed, or whose collector's process is gone (its liveness
 * lock went with its database connection, ADR 296; looked for every 250 ms, a tick follows at
 * once), are placed elsewhere in one batch and told at
 * once (the collectorLost signal names the new queue, ADR 200; each placement once,
 * whichever control worker claims it first), so failover time is the lease, not a
 * per-session heartbeat timeout nor a placement round trip per session; then at most
 * PLACEMENT_MAX_MOVES sessions at a time are asked to move off collectors above
 * their share or draining (their collector hands them over cleanly at its next
 * renewal, and placement puts them on the least loaded).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Knex } from 'knex';
import { collectorLostSignal, deviceSessionWorkflowId } from '../core/names';
import type { Logger } from '../core/session';
import { claimAndPlaceLost, claimHandedOverFromLost, endLeasesOfGoneCollectors, forgetLostCollectors, requestMoves, unclaimLostPlacement } from '../storage/collectors';

/** Settings and dependencies of the monitor. */
export interface PlacementMonitorDeps {
  db: Knex;
  client: Client;
  log: Logger;
  everyMs: number;
  maxMoves: number;
  /** The collectors' lease: after the monitor itself could not see the database, it waits this long before calling anyone lost. */
  leaseMs: number;
}

/** A move not done after this long is given up (its collector is stuck or gone) and may be asked again. */
const MOVE_STALE_MS = 30_000;
/** A lost collector's hand-overs are looked at this long after its lease ended: its sessions' own claim has run by then (ADR 262). */
const HANDED_OVER_AFTER_MS = 5_000;
/** How often the liveness check runs (ms; at most once a tick). */
const LIVENESS_CHECK_MS = 250;
/** Rows of collectors lost longer than this are forgotten. */
const FORGET_AFTER_MS = 10 * 60_000;

/** Start the monitor; `stop()` ends it after the tick under way. */
export function startPlacementMonitor(deps: PlacementMonitorDeps): { stop(): Promise<void> } {
  let stopped = false;
  let lastOk = Date.now();
  let sightedAt = Date.now();
  let lastForget = 0;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    const now = Date.now();
    // Blind for a while (database away): collectors could not renew either; give them a lease's time.
    if (now - lastOk > 3 * deps.everyMs) sightedAt = now;
    if (now - sightedAt >= deps.leaseMs) {
      // Claimed and placed elsewhere in one transaction (ADR 200); the signal names the new queue.
      const lost = await claimAndPlaceLost(deps.db);
      if (lost.length) deps.log.warn('collector lease lapsed: failing its sessions over', { sessions: lost.length, collectors: [...new Set(lost.map((l) => l.collectorId))] });
      await Promise.all(
        lost.map(async (l) => {
          try {
            await deps.client.workflow.getHandle(deviceSessionWorkflowId(l.deviceId)).signal(collectorLostSignal, { taskQueue: l.taskQueue, collectorId: l.collectorId, placed: l.placed });
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) return;
            deps.log.warn('could not tell a session its collector is lost; retrying', { deviceId: l.deviceId, error: (err as Error).message });
            await unclaimLostPlacement(deps.db, { ...l, placedQueue: l.placed?.taskQueue });
          }
        }),
      );
      // Sessions it handed over whose results may be lost with it (a forced exit, ADR 262): told where they went.
      const handedOver = await claimHandedOverFromLost(deps.db, HANDED_OVER_AFTER_MS);
      if (handedOver.length)
        deps.log.warn('collector lost after handing sessions over: telling their workflows', { sessions: handedOver.length, collectors: [...new Set(handedOver.map((l) => l.collectorId))] });
      await Promise.all(
        handedOver.map((l) =>
          deps.client.workflow
            .getHandle(deviceSessionWorkflowId(l.deviceId))
            .signal(collectorLostSignal, { taskQueue: l.taskQueue, collectorId: l.collectorId, placed: l.placed })
            .catch((err) => {
              // Not retried: such a session still fails over at its heartbeat timeout, as before.
              if (!(err instanceof WorkflowNotFoundError)) deps.log.warn('could not tell a handed-over session its collector is lost', { deviceId: l.deviceId, error: (err as Error).message });
            }),
        ),
      );
    }
    const moved = await requestMoves(deps.db, deps.maxMoves, MOVE_STALE_MS);
    if (moved.length) deps.log.info('rebalancing: sessions asked to move', { devices: moved });
    if (now - lastForget > 60_000) {
      lastForget = now;
      await forgetLostCollectors(deps.db, FORGET_AFTER_MS);
    }
    lastOk = Date.now();
  };
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let again = false;
  const loop = () => {
    if (stopped) return;
    ticking = true;
    running = tick()
      .catch((err) => deps.log.warn('placement monitor tick failed', { error: (err as Error).message }))
      .finally(() => {
        ticking = false;
        if (stopped) return;
        timer = setTimeout(loop, again ? 0 : deps.everyMs);
        again = false;
      });
  };
  /** A tick now, or as soon as the one under way ends. */
  const tickSoon = () => {
    if (stopped) return;
    if (ticking) {
      again = true;
      return;
    }
    clearTimeout(timer);
    loop();
  };
  timer = setTimeout(loop, deps.everyMs);

  // The liveness check (ADR 296), one cheap statement, four times a tick: a collector whose process died lost its
  // liveness lock with its connection; its lease ends now and a tick fails its sessions over at once.
  const checkEveryMs = Math.max(50, Math.min(LIVENESS_CHECK_MS, deps.everyMs));
  let checkTimer: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();
  const check = async () => {
    if (Date.now() - sightedAt < deps.leaseMs) return;
    const gone = await endLeasesOfGoneCollectors(deps.db);
    for (const g of gone) deps.log.warn('collector process gone (its liveness lock went with its database connection): its lease ends now', { collector: g.id, renewedMsAgo: g.renewedMsAgo });
    if (gone.length) tickSoon();
  };
  const checkLoop = () => {
    if (stopped) return;
    checking = check()
      .catch((err) => deps.log.debug('liveness check failed (the next check looks again)', { error: (err as Error).message }))
      .finally(() => {
        if (!stopped) checkTimer = setTimeout(checkLoop, checkEveryMs);
      });
  };
  checkTimer = setTimeout(checkLoop, checkEveryMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(checkTimer);
      await Promise.all([running, checking]);
    },
  };
}
