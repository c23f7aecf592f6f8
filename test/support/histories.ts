/**
 * Recording workflow histories for the replay test (test/unit/session-replay.test.ts):
 * the e2e session tests and the workflow-logic tests call this at their end.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import protos from '@temporalio/proto';

/** Write the histories of some workflows to test/fixtures/histories (when RECORD_HISTORIES=1). */
export async function recordHistories(client: Client, workflowIds: string[], label: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const dir = path.resolve(import.meta.dirname, '..', 'fixtures', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  for (const [i, id] of workflowIds.entries()) {
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      // Binary protobuf: the JSON form needs historyFromJSON, which fails with the protobufjs
      // copies installed here ("type must be a Type"); the binary form needs only @temporalio/proto.
      const history = await client.workflow.getHandle(id, wf.runId).fetchHistory();
      const file = path.join(dir, `${label}-${i + 1}-${wf.runId.slice(0, 8)}.binpb`);
      fs.writeFileSync(file, protos.temporal.api.history.v1.History.encode(history).finish());
    }
  }
}
