/**
 * Recording workflow histories for the replay test (test/unit/session-replay.test.ts):
 * the e2e session tests and the workflow-logic tests call this at their end.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import protos from '@temporalio/proto';

/** Write the histories of some workflows to test/fixtures/histories (when RECORD_HISTORIES=1). */
export async function recordHistories(client: Client, workflowIds: string[], label: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  for (const [i, id] of workflowIds.entries()) {
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      writeHistory(await client.workflow.getHandle(id, wf.runId).fetchHistory(), `${label}-${i + 1}-${wf.runId.slice(0, 8)}`);
    }
  }
}

/** Write the history of one workflow run (a server without visibility listing, e.g. the time-skipping one) when RECORD_HISTORIES=1. */
export async function recordHistory(handle: WorkflowHandle, label: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const runId = (await handle.describe()).runId;
  writeHistory(await handle.fetchHistory(), `${label}-1-${runId.slice(0, 8)}`);
}

function writeHistory(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>, name: string): void {
  const dir = path.resolve(import.meta.dirname, '..', 'fixtures', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  // Binary protobuf: the JSON form needs historyFromJSON, which fails with the protobufjs
  // copies installed here ("type must be a Type"); the binary form needs only @temporalio/proto.
  fs.writeFileSync(path.join(dir, `${name}.binpb`), protos.temporal.api.history.v1.History.encode(history).finish());
}
