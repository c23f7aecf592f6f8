/**
 * Signalled bulk pause/resume (fleet/bulk.ts signalAndAwait, ADR 136): a device is
 * acknowledged when the visibility listing shows its workflow in the asked state; a rejected
 * signal fails at once; devices still waiting fail once no device has acknowledged for the
 * timeout. A fake Temporal client whose listing reveals one more workflow per read.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { signalAndAwait, type DeviceResult } from '../../fleet/bulk';
import { deviceSessionWorkflowId } from '../../core/names';

/** A client whose workflow listing returns `shown()` as paused session workflows, counting the queries. */
function fakeClient(shown: () => number[], queries: string[]): Client {
  return {
    workflow: {
      async *list({ query }: { query: string }) {
        queries.push(query);
        for (const id of shown()) {
          yield {
            workflowId: deviceSessionWorkflowId(id),
            typedSearchAttributes: { get: (key: { name: string }) => (key.name === 'SessionState' ? 'paused' : undefined) },
            status: { name: 'RUNNING' },
            startTime: new Date(),
            memo: {},
          };
        }
      },
    },
  } as unknown as Client;
}

describe('bulk actions: signals acknowledged through visibility', () => {
  it('acknowledges each device as visibility shows it, fails a rejected signal at once and the rest after the timeout without progress', async () => {
    const signalled: number[] = [];
    const queries: string[] = [];
    const reads = () => queries.length;
    // Read 1 shows device 1, read 2 adds device 2; device 3 never shows.
    const client = fakeClient(() => (reads() === 1 ? [1] : [1, 2]), queries);
    const order: DeviceResult[] = [];
    const results = await signalAndAwait(client, [1, 2, 3, 4], {
      concurrency: 2,
      signal: async (id) => {
        if (id === 4) throw new Error('workflow not found');
        signalled.push(id);
      },
      acknowledgedWhere: `SessionState = 'paused'`,
      timeoutMs: 1500,
      onResult: (r) => order.push(r),
    });
    assert.deepEqual(signalled.sort(), [1, 2, 3]);
    assert.deepEqual(
      results.map((r) => [r.deviceId, r.ok, r.state ?? r.error]),
      [
        [1, true, 'paused'],
        [2, true, 'paused'],
        [3, false, 'signal sent, not acknowledged (no device acknowledged for 2 s)'],
        [4, false, 'workflow not found'],
      ],
    );
    // Reported as they happened: the rejected signal first, the timeout last.
    assert.deepEqual(
      order.map((r) => r.deviceId),
      [4, 1, 2, 3],
    );
    assert.ok(queries.every((q) => q.includes(`(SessionState = 'paused')`) && q.includes(`ExecutionStatus = 'Running'`)));
    // Each listing asks only about the devices still waiting (by workflow id): device 1, acknowledged on the first read, is not asked about again.
    assert.ok(queries[0].includes(`WorkflowId IN ('${deviceSessionWorkflowId(1)}', '${deviceSessionWorkflowId(2)}', '${deviceSessionWorkflowId(3)}')`), queries[0]);
    assert.ok(queries.slice(1).every((q) => !q.includes(`'${deviceSessionWorkflowId(1)}'`) && q.includes(`'${deviceSessionWorkflowId(3)}'`)), queries[1]);
    // Device 2's acknowledgement on the second read restarted the 1.5 s bound: more reads followed it.
    assert.ok(reads() >= 3, `${reads()} reads`);
  });
});
