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
 * The sessions of a lost collector that its new collectors dial at once (warm hand-over) are told
 * once those streams are up, so the redial has the machine first (ADR 297, lost-signal-hold.ts).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Knex } from 'knex';
import { metrics as processMetrics, type MetricsRegistry } from '../core/metrics';
import { collectorLostSignal, deviceSessionWorkflowId } from '../core/names';
import type { Logger } from '../core/session';
import {
  claimAndPlaceLost,
  claimHandedOverFromLost,
  endLeasesOfGoneCollectors,
  forgetLostCollectors,
  parseHandoff,
  requestMoves,
  unclaimLostPlacement,
  UP_CHANNEL,
  type LostPlacement,
} from '../storage/collectors';
import { listenReconnecting } from '../storage/listen';
import { SignalHold } from './lost-signal-hold';

/** Settings and dependencies of the monitor. */
export interface PlacementMonitorDeps {
  db: Knex;
  client: Client;
  log: Logger;
  everyMs: number;
  maxMoves: number;
  /** The collectors' lease: after the monitor itself could not see the database, it waits this long before calling anyone lost. */
  leaseMs: number;
  /**
   * Hold a lost collector's warm sessions' signals until their streams are up on the new collectors, at most
   * this long (ms, ADR 297); 0 or no `databaseUrl` (where `session_up` is heard): told at once.
   */
  lostSignalHoldMs?: number;
  /** A held claim is let go when none of its sessions came up for this long (ms; default 2 s). */
  lostSignalQuietMs?: number;
  databaseUrl?: string;
  /** `placement_lost_told_total{when}`, `placement_lost_held` (default: the process's registry). */
  metrics?: MetricsRegistry;
}

/** A move not done after this long is given up (its collector is stuck or gone) and may be asked again. */
const MOVE_STALE_MS = 30_000;
/** A lost collector's hand-overs are looked at this long after its lease ended: its sessions' own claim has run by then (ADR 262). */
const HANDED_OVER_AFTER_MS = 5_000;
/** How often the liveness check runs (ms; at most once a tick). */
const LIVENESS_CHECK_MS = 250;
/** A held claim is let go when none of its sessions came up for this long (ms): the redial is over, or stuck. */
const HOLD_QUIET_MS = 2_000;
/** Rows of collectors lost longer than this are forgotten. */
const FORGET_AFTER_MS = 10 * 60_000;

/** Start the monitor; `stop()` ends it after the tick under way. */
export function startPlacementMonitor(deps: PlacementMonitorDeps): { stop(): Promise<void> } {
  let lastOk = Date.now();
  let sightedAt = Date.now();
  let lastForget = 0;
  /** Tell lost sessions where they were placed; one that could not be told is unclaimed, so a later tick tries again. */
  const tell = (lost: LostPlacement[]) =>
    Promise.all(
      lost.map(async (l) => {
        try {
          await deps.client.workflow.getHandle(deviceSessionWorkflowId(l.deviceId)).signal(collectorLostSignal, { taskQueue: l.taskQueue, collectorId: l.collectorId, placed: l.placed });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return;
          deps.log.warn('could not tell a session its collector is lost; retrying', { deviceId: l.deviceId, error: (err as Error).message });
          await unclaimLostPlacement(deps.db, { ...l, placedQueue: l.placed?.taskQueue });
        }
      }),
    ).then(() => undefined);
  const metrics = deps.metrics ?? processMetrics;
  metrics.describe(
    'placement_lost_told_total',
    "Sessions of lost collectors told where they went, by when: at once, or held until their new streams were up (ADR 297: all up, none came up for 2 s, the hold's bound, the monitor stopping)",
  );
  const holdMs = deps.lostSignalHoldMs ?? 0;
  // Where `session_up` is heard: only when signals are held at all.
  const upUrl = holdMs > 0 ? deps.databaseUrl : undefined;
  const hold = upUrl
    ? new SignalHold({
        holdMs,
        quietMs: Math.min(deps.lostSignalQuietMs ?? HOLD_QUIET_MS, holdMs),
        send: async (lost, reason, heldMs) => {
          deps.log.info('telling failed-over sessions where they went', { sessions: lost.length, released: reason, heldMs });
          metrics.inc('placement_lost_told_total', lost.length, { when: reason });
          await tell(lost);
        },
      })
    : undefined;
  if (hold) {
    metrics.describe('placement_lost_held', 'Sessions of lost collectors not told yet while their new collectors bring their streams up (ADR 297), by whether the stream is up already');
    metrics.gauge('placement_lost_held', () => [
      [{ stream: 'up' }, hold.upCount],
      [{ stream: 'coming' }, hold.size - hold.upCount],
    ]);
  }
  // Who streams what now: the hold's release (a notification missed while reconnecting costs the quiet wait).
  const upListener =
    hold && upUrl
      ? listenReconnecting({
          databaseUrl: upUrl,
          channels: [UP_CHANNEL],
          onNotification(_channel, payload) {
            const heard = payload ? parseHandoff(payload) : undefined;
            if (heard) hold.up(heard.taskQueue, heard.deviceIds);
          },
          onError: (err) => deps.log.debug('session_up listener: connection failed (retrying)', { error: err.message }),
        })
      : undefined;
  const tick = async () => {
    const now = Date.now();
    // Blind for a while (database away): collectors could not renew either; give them a lease's time.
    if (now - lastOk > 3 * deps.everyMs) sightedAt = now;
    if (now - sightedAt >= deps.leaseMs) {
      // Claimed and placed elsewhere in one transaction (ADR 200); the signal names the new queue.
      const lost = await claimAndPlaceLost(deps.db);
      if (lost.length) deps.log.warn('collector lease lapsed: failing its sessions over', { sessions: lost.length, collectors: [...new Set(lost.map((l) => l.collectorId))] });
      // Streams being dialled by their new collectors (warm) are told once those are up, while the listener hears it; the rest now.
      // (`warm` is only ever set on a session the claim placed.)
      const holding = Boolean(hold && upListener?.connected);
      const warm = holding ? lost.filter((l) => l.warm) : [];
      const atOnce = holding ? lost.filter((l) => !l.warm) : lost;
      if (warm.length) hold!.hold(warm);
      if (atOnce.length) metrics.inc('placement_lost_told_total', atOnce.length, { when: 'at-once' });
      await tell(atOnce);
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
  const ticks = repeating(deps.everyMs, tick, (err) => deps.log.warn('placement monitor tick failed', { error: err.message }));

  // The liveness check (ADRs 296 and 299), one cheap statement, four times a tick: a collector whose process died lost its
  // liveness lock with its connections; its lease ends now and a tick fails its sessions over at once.
  const check = async () => {
    hold?.check();
    if (Date.now() - sightedAt < deps.leaseMs) return;
    const gone = await endLeasesOfGoneCollectors(deps.db);
    for (const g of gone)
      deps.log.warn(
        g.rule === 'connections-gone'
          ? 'collector process gone (its liveness lock and the connection it renews on both went): its lease ends now'
          : 'collector process gone (its liveness lock went with its database connection, and it missed a renewal): its lease ends now',
        { collector: g.id, renewedMsAgo: g.renewedMsAgo },
      );
    if (gone.length) ticks.soon();
  };
  const checks = repeating(Math.max(50, Math.min(LIVENESS_CHECK_MS, deps.everyMs)), check, (err) => deps.log.debug('liveness check failed (the next check looks again)', { error: err.message }));
  return {
    async stop() {
      await Promise.all([ticks.stop(), checks.stop()]);
      await hold?.flush();
      await upListener?.close();
    },
  };
}

/**
 * `task` every `everyMs`, counted from the end of the run before; `soon()` runs it now, or as soon as
 * the run under way ends; `stop()` ends the repetition after the run under way.
 */
function repeating(everyMs: number, task: () => Promise<void>, onError: (err: Error) => void): { soon(): void; stop(): Promise<void> } {
  let stopped = false;
  let running = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const run = () => {
    if (stopped) return;
    running = true;
    current = task()
      .catch((err) => onError(err as Error))
      .finally(() => {
        running = false;
        if (stopped) return;
        timer = setTimeout(run, again ? 0 : everyMs);
        again = false;
      });
  };
  timer = setTimeout(run, everyMs);
  return {
    soon() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(timer);
      run();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
