/**
 * How a collector spends its shutdown bound (COLLECTOR_SHUTDOWN_FORCE_MS; past it the process exits 1).
 *
 * The Temporal worker gives up 2 s before the bound (its force time, at least 1 s). Everything the
 * worker waits for on SIGTERM must end inside that force time with room to report: the streams kept
 * for their new collectors (make before break, ADR 236), then 0.5 s of the worker's grace for the
 * sessions to end, and the hand-over results, which wait for the leaving collector's placement
 * (ADR 231). So the overlap and the placement wait are each held to half the bound and to 1 s before
 * the worker's force time. Under a 6 s bound that is less than half of it; under 3 s, nothing: the
 * streams end at once. Drains and rebalancing moves keep the setting within half the bound, as no
 * shutdown waits for them.
 */

export interface ShutdownSettings {
  COLLECTOR_SHUTDOWN_FORCE_MS: number;
  COLLECTOR_HANDOVER_OVERLAP_MS: number;
  COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS: number;
  COLLECTOR_WARM_ADOPT_MS: number;
}

export interface ShutdownBudget {
  /** The worker's force time: after it, the worker fails with GracefulShutdownPeriodExpiredError. */
  workerForceMs: number;
  /** The worker's grace time: the leaving overlap, then 0.5 s for its sessions to end; 0.5 s or more under the force time. */
  workerGraceMs: number;
  /** How long a leaving (SIGTERM) collector keeps each stream for its new collector. */
  leavingOverlapMs: number;
  /** How long a drained or moving collector keeps each stream at least (0: make before break is off). */
  overlapMs: number;
  /** How long each hand-over result waits for the leaving collector's placement. */
  handoverWaitMs: number;
  /** How long the batcher may keep flushing once the workers are done. */
  batcherCloseMs: number;
  /** Settings the bound held below their value, and when the held value applies; each said once at start. */
  heldBelow: { setting: keyof ShutdownSettings; value: number; heldTo: number; when: 'on SIGTERM' | 'for every hand-over' }[];
}

/** Time between the end of the worker's grace and its force time, for the sessions' results to reach Temporal. */
const REPORT_MS = 500;
/** Time the sessions have, after the overlap, to end within the worker's grace. */
const END_MS = 500;

export function shutdownBudget(s: ShutdownSettings): ShutdownBudget {
  const bound = s.COLLECTOR_SHUTDOWN_FORCE_MS;
  const workerForceMs = Math.max(1000, bound - 2000);
  const half = Math.max(0, bound / 2);
  const beforeForce = Math.max(0, Math.min(half, workerForceMs - END_MS - REPORT_MS));
  const overlapSetting = s.COLLECTOR_WARM_ADOPT_MS > 0 ? Math.max(0, s.COLLECTOR_HANDOVER_OVERLAP_MS) : 0;
  const overlapMs = Math.min(overlapSetting, half);
  const leavingOverlapMs = Math.min(overlapSetting, beforeForce);
  const handoverWaitMs = Math.min(Math.max(0, s.COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS), beforeForce);
  const heldBelow: ShutdownBudget['heldBelow'] = [];
  if (leavingOverlapMs < overlapSetting) heldBelow.push({ setting: 'COLLECTOR_HANDOVER_OVERLAP_MS', value: overlapSetting, heldTo: leavingOverlapMs, when: 'on SIGTERM' });
  if (handoverWaitMs < s.COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS)
    heldBelow.push({ setting: 'COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS', value: s.COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS, heldTo: handoverWaitMs, when: 'for every hand-over' });
  return {
    workerForceMs,
    workerGraceMs: leavingOverlapMs + END_MS,
    leavingOverlapMs,
    overlapMs,
    handoverWaitMs,
    batcherCloseMs: Math.max(1000, bound - 3000),
    heldBelow,
  };
}
