/**
 * The placement activity (task queue `control`, ADR 110): before each attempt the
 * device-session workflow asks which collector's task queue to schedule it on.
 * Undefined when no collector is registered and live: the shared queue is used.
 * Calls that arrive together (a SIGTERM hand-over, a fleet starting) are placed
 * together: one transaction per batch, not one per session under the lock (ADR 200).
 */
import type { Knex } from 'knex';
import type { SessionPlacement } from '../core/names';
import { metrics as processMetrics, type MetricsRegistry } from '../core/metrics';
import { PLACEMENT_ASK_REASONS, type PlacementAskReason } from '../core/placement';
import { placeSessions } from '../storage/collectors';
import { groupCommit } from '../core/group-commit';
import type { PlacementActivities } from './types';

/** Sessions placed in one transaction at most. */
const MAX_BATCH = 2_000;

/**
 * Group commit of placements (core/group-commit.ts): the calls that arrive together or while one
 * batch's transaction runs go together in the next; a batch that fails is tried again device by device.
 */
export function placementBatcher(db: Knex, onTransaction: () => void = () => {}): (deviceId: number) => Promise<SessionPlacement | undefined> {
  return groupCommit(async (deviceIds: number[]) => ({ values: await placeSessions(db, deviceIds) }), { maxBatch: MAX_BATCH, onBatch: onTransaction });
}

/**
 * Build the placement activities (the control worker wires the database). Counts why each attempt
 * asked (`placement_asked_total{reason}`, ADR 260) and the transactions placing them.
 */
export function createPlacementActivities(deps: { db: Knex; metrics?: MetricsRegistry }): PlacementActivities {
  const metrics = deps.metrics ?? processMetrics;
  metrics.describe('placement_asked_total', 'placeSession calls by why the attempt asked instead of going where it was placed ahead (ADR 260)');
  metrics.describe('placement_transactions_total', 'Placement transactions the placeSession calls ran (calls arriving together share one)');
  const place = placementBatcher(deps.db, () => metrics.inc('placement_transactions_total'));
  return {
    async placeSession(deviceId: number, reason?: PlacementAskReason): Promise<SessionPlacement | undefined> {
      // Workflows from before ADR 260 name no reason.
      metrics.inc('placement_asked_total', 1, { reason: reason && PLACEMENT_ASK_REASONS.includes(reason) ? reason : 'unnamed' });
      return place(deviceId);
    },
  };
}
