/**
 * A bulk pause carried out where the sessions run (ADR 250): the bulk action's preparation tells
 * each collector, by NOTIFY, which of the planned devices it last reported running; the collector
 * answers in the plan (storage/bulk-actions.ts answerBulkPause: `ended` for the attempts it runs,
 * `not-running` for the others, which the bulk action then signals) and ends its attempts with a
 * `paused` result. The workflow reads that result as a pause: one workflow task per device, with
 * no signal, no cancellation and no direct stop.
 */
import type { Knex } from 'knex';
import type { MetricsRegistry } from '../core/metrics';
import type { BulkPauseEnding } from '../core/names';
import type { Logger } from '../core/session';
import { BULK_PAUSE_CHANNEL, answerBulkPause, parseBulkPause, unendBulkPause } from '../storage/bulk-actions';
import type { NotificationRoute } from '../storage/listen';

/** Running attempts of this collector by device: ends the attempt as paused; false when it was already ending otherwise. */
export type LocalPauses = Map<number, (pause: BulkPauseEnding) => boolean>;

/** What the collector's bulk-pause handling needs. */
export interface BulkPauseDeps {
  db: Knex;
  /** This collector's own task queue: notifications for other collectors are ignored. */
  taskQueue: string;
  pauses: LocalPauses;
  metrics: MetricsRegistry;
  log: Logger;
}

/**
 * Answer one bulk pause heard for this collector and end the attempts it runs; returns the devices
 * ended here. An attempt that ended otherwise between the answer and its end goes back to the signal.
 */
export async function pauseHere(deps: BulkPauseDeps, bulkId: number, deviceIds: number[]): Promise<number[]> {
  const here = new Set(deviceIds.filter((id) => deps.pauses.has(id)));
  const { end, reason } = await answerBulkPause(deps.db, bulkId, deviceIds, here);
  const pause: BulkPauseEnding = { reason: reason ?? `bulk pause (#${bulkId})`, at: Date.now() };
  const ended: number[] = [];
  const missed: number[] = [];
  for (const id of end) (deps.pauses.get(id)?.(pause) ? ended : missed).push(id);
  if (missed.length > 0) await unendBulkPause(deps.db, bulkId, missed);
  deps.metrics.inc('session_bulk_pauses_total', ended.length, { result: 'ended' });
  deps.metrics.inc('session_bulk_pauses_total', deviceIds.length - ended.length, { result: 'not_here' });
  deps.log.info('bulk pause: ended the attempts running here', { bulkId, asked: deviceIds.length, ended: ended.length, missed: missed.length });
  return ended;
}

/** The bulk pauses for this collector, as heard on a reconnecting LISTEN connection: carried out here. */
export function bulkPauseRoute(deps: BulkPauseDeps): NotificationRoute {
  deps.metrics.describe('session_bulk_pauses_total', 'Devices of bulk pauses this collector was asked to end (ADR 250), by whether it ended their attempt');
  return {
    channels: [BULK_PAUSE_CHANNEL],
    onNotification(_channel, payload) {
      const heard = payload ? parseBulkPause(payload) : undefined;
      if (!heard || heard.taskQueue !== deps.taskQueue || heard.deviceIds.length === 0) return;
      // Unanswered, the bulk action signals these devices after its wait (BULK_LOCAL_PAUSE_WAIT_MS).
      pauseHere(deps, heard.bulkId, heard.deviceIds).catch((err) => deps.log.warn('bulk pause: could not answer', { bulkId: heard.bulkId, error: (err as Error).message }));
    },
  };
}
