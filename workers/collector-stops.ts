/**
 * The worker of a collector's stop queue (ADR 230): only `endLocalSession`, the workflow's direct
 * stop of a placed session (ADR 160). The own-queue worker's activity slots are sized for the
 * sessions (COLLECTOR_MAX_SESSIONS), each held for hours: a collector at capacity had no slot for
 * a direct stop scheduled there, which then waited for the session's 30 s heartbeat instead.
 */
import { collectorStopQueue } from '../core/names';
import type { LocalSessionActivities } from '../activities/types';

/** Direct stops running at once on one collector (each ends in milliseconds; a bulk pause queues the rest briefly). */
const STOP_SLOTS = 50;

/** Worker options (without the connection) for the stop queue of the collector polling `collectorQueue`. */
export function localStopWorkerOptions(collectorQueue: string, activities: LocalSessionActivities) {
  return {
    taskQueue: collectorStopQueue(collectorQueue),
    activities: { endLocalSession: activities.endLocalSession },
    maxConcurrentActivityTaskExecutions: STOP_SLOTS,
    maxConcurrentActivityTaskPolls: 2,
  };
}
