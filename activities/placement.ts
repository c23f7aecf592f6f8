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
import type { PlacementActivities } from './types';

/** Sessions placed in one transaction at most. */
const MAX_BATCH = 2_000;

/**
 * Group commit of placements: while one batch's transaction runs, the calls that arrive wait and
 * go together in the next. A lone call runs at once (no added delay). A batch that fails is tried
 * again device by device, so one bad device does not fail the others.
 */
export function placementBatcher(db: Knex, onTransaction: () => void = () => {}): (deviceId: number) => Promise<SessionPlacement | undefined> {
  let waiting: Array<{ deviceId: number; resolve: (p: SessionPlacement | undefined) => void; reject: (e: unknown) => void }> = [];
  let busy = false;
  const drain = async () => {
    busy = true;
    try {
      while (waiting.length) {
        const batch = waiting.slice(0, MAX_BATCH);
        waiting = waiting.slice(batch.length);
        try {
          onTransaction();
          const placed = await placeSessions(
            db,
            batch.map((w) => w.deviceId),
          );
          for (const w of batch) w.resolve(placed.get(w.deviceId));
        } catch (err) {
          if (batch.length === 1) batch[0].reject(err);
          else
            for (const w of batch) {
              onTransaction();
              await placeSessions(db, [w.deviceId]).then((p) => w.resolve(p.get(w.deviceId)), w.reject);
            }
        }
      }
    } finally {
      busy = false;
    }
  };
  return (deviceId) =>
    new Promise((resolve, reject) => {
      waiting.push({ deviceId, resolve, reject });
      if (!busy) void drain();
    });
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
