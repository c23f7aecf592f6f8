/**
 * The placement activity (task queue `control`, ADR 110): before each attempt the
 * device-session workflow asks which collector's task queue to schedule it on.
 * Undefined when no collector is registered and live: the shared queue is used.
 */
import type { Knex } from 'knex';
import type { SessionPlacement } from '../core/names';
import { placeSession } from '../storage/collectors';
import type { PlacementActivities } from './types';

/** Build the placement activities (the control worker wires the database). */
export function createPlacementActivities(deps: { db: Knex }): PlacementActivities {
  return {
    async placeSession(deviceId: number): Promise<SessionPlacement | undefined> {
      return placeSession(deps.db, deviceId);
    },
  };
}
