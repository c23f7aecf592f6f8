/**
 * One workflow per confirmed bulk action (issue 19, ADR 170), `bulk-action/<id>-<start>` on the
 * control worker's `control-bulk` task queue: the action's SQL change, then its devices in chunks by one heartbeating
 * activity that records each device's result as it comes. A control worker that dies mid-way
 * loses nothing: the activity's heartbeat times out and it runs again on a live worker, carrying
 * on with the devices still without a result. An action that stops as a whole records why.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { BulkActivities } from '../activities/bulk';
import { TASK_QUEUES, type BulkActionInput, type BulkActionSummary } from '../core/names';

const retry = { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 };

const { bulkPrepare } = proxyActivities<BulkActivities>({ taskQueue: TASK_QUEUES.bulk, startToCloseTimeout: '5 minutes', retry });

// Long (10,000 acknowledged updates take minutes); a dead worker is found by the heartbeat (every 500 ms while it works).
const { bulkCarryOut } = proxyActivities<BulkActivities>({
  taskQueue: TASK_QUEUES.bulk,
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry,
});

const { bulkRecordFailure } = proxyActivities<BulkActivities>({
  taskQueue: TASK_QUEUES.bulk,
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** Run a recorded bulk action to its end; its per-device results are in bulk_actions. */
export async function bulkActionWorkflow(input: BulkActionInput): Promise<BulkActionSummary> {
  if (!input || !Number.isInteger(input.bulkId) || input.bulkId <= 0) {
    throw ApplicationFailure.nonRetryable('bulkActionWorkflow needs the id of a bulk_actions record', 'INVALID_INPUT');
  }
  try {
    await bulkPrepare(input.bulkId);
    return await bulkCarryOut(input);
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    await bulkRecordFailure(input.bulkId, (cause ?? (err as Error)).message);
    throw err;
  }
}
