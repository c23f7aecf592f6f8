/**
 * The placement activity (task queue `control`, ADR 110): before each attempt the
 * device-session workflow asks which collector's task queue to schedule it on.
 * Undefined when no collector is registered and live: the shared queue is used.
 * Calls that arrive together (a SIGTERM hand-over, a fleet starting) are placed
 * together: one transaction per batch, not one per session under the lock (ADR 200).
 */
import type { Knex } from 'knex';
import type { SessionPlacement } from '../core/names';
import { placeSessions } from '../storage/collectors';
import type { PlacementActivities } from './types';

/** Sessions placed in one transaction at most. */
const MAX_BATCH = 2_000;

/**
 * Group commit of placements: while one batch's transaction runs, the calls that arrive wait and
 * go together in the next. A lone call runs at once (no added delay). A batch that fails is tried
 * again device by device, so one bad device does not fail the others.
 */
export function placementBatcher(db: Knex): (deviceId: number) => Promise<SessionPlacement | undefined> {
  let waiting: Array<{ deviceId: number; resolve: (p: SessionPlacement | undefined) => void; reject: (e: unknown) => void }> = [];
  let busy = false;
  const drain = async () => {
    busy = true;
    try {
      while (waiting.length) {
        const batch = waiting.slice(0, MAX_BATCH);
        waiting = waiting.slice(batch.length);
        try {
          const placed = await placeSessions(db, batch.map((w) => w.deviceId));
          for (const w of batch) w.resolve(placed.get(w.deviceId));
        } catch (err) {
          if (batch.length === 1) batch[0].reject(err);
          else
            for (const w of batch) {
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

/** Build the placement activities (the control worker wires the database). */
export function createPlacementActivities(deps: { db: Knex }): PlacementActivities {
  const place = placementBatcher(deps.db);
  return {
    async placeSession(deviceId: number): Promise<SessionPlacement | undefined> {
      return place(deviceId);
    },
  };
}
