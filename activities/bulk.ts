/**
 * The bulk-action workflow's activities (ADR 170), registered by the control worker: a thin
 * door to fleet/bulk.ts — check the record and make the action's SQL change, carry the action
 * out over the devices still without a result (heartbeating progress), record a failure of
 * the whole action. A record missing or belonging to another workflow is a non-retryable failure.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { BulkActionInput, BulkActionSummary, DeviceSessionOptions } from '../core/names';
import { BulkRecordError, carryOutBulkAction, prepareBulkAction } from '../fleet/bulk';
import { bulkActionPlan, failBulkAction } from '../storage/bulk-actions';

/** Dependencies of the bulk activities. */
export interface BulkActivityDeps {
  db: Knex;
  client: Client;
  sessionOptions: DeviceSessionOptions;
  /** Devices driven through Temporal at once when the action does not say (BULK_CONCURRENCY). */
  concurrency: number;
}

/** The bulk-action workflow's activities. */
export interface BulkActivities {
  /** Check the record is this workflow's and make the action's SQL change (idempotent). */
  bulkPrepare(bulkId: number): Promise<{ action: string; count: number; finished: boolean }>;
  /** Act on every device still without a result, then finish the record; heartbeats progress. */
  bulkCarryOut(input: BulkActionInput): Promise<BulkActionSummary>;
  /** Record why the whole action stopped (on this workflow's record only). */
  bulkRecordFailure(bulkId: number, error: string): Promise<void>;
}

/** Run `fn`, turning a BulkRecordError into a non-retryable failure. */
async function recordChecked<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BulkRecordError) throw ApplicationFailure.nonRetryable(err.message, 'BULK_RECORD');
    throw err;
  }
}

/** Build the bulk activities. */
export function createBulkActivities(deps: BulkActivityDeps): BulkActivities {
  // Every bulk activity runs for a workflow (never alone), so the execution is always there.
  const workflowId = () => Context.current().info.workflowExecution?.workflowId ?? '';
  return {
    bulkPrepare: (bulkId) => recordChecked(() => prepareBulkAction(deps.db, bulkId, workflowId())),
    bulkCarryOut: (input) =>
      recordChecked(() =>
        carryOutBulkAction({ ...deps, concurrency: Math.max(1, input.concurrency ?? deps.concurrency) }, input.bulkId, {
          workflowId: workflowId(),
          heartbeat: (progress) => Context.current().heartbeat(progress),
          signal: Context.current().cancellationSignal,
        }),
      ),
    async bulkRecordFailure(bulkId, error) {
      const plan = await bulkActionPlan(deps.db, bulkId);
      if (plan?.workflowId === workflowId()) await failBulkAction(deps.db, bulkId, error);
    },
  };
}
