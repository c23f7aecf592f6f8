/**
 * Determinism check: histories recorded from real runs (pause, resume,
 * reconfigure, auth failure, continue-as-new, failover, reconciliation) replay
 * against today's workflow code. A change that would break running workflows
 * fails here, before it ships. Histories from before a `patched()` change (the
 * sub-second backoffs of device-session-1) replay the old branch, newer ones the
 * new. Record new ones with `RECORD_HISTORIES=1 npm test -- e2e`
 * (test/e2e/session-lifecycle.test.ts) or `-- integration --grep 'growing, jittered'`
 * (test/integration/workflow-device-session.test.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import protos from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

const DIR = path.resolve(import.meta.dirname, '..', 'fixtures', 'histories');
const WORKFLOWS = path.resolve(import.meta.dirname, '..', '..', 'workflows', 'index.ts');

describe('device-session workflow replay (recorded histories)', function () {
  this.timeout(180_000);

  it('replays every recorded history without a determinism error', async () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.binpb')).sort();
    assert.ok(files.length >= 3, `expected recorded histories in ${DIR}`);
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.binpb$/, ''),
      history: protos.temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, f))),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS, replayName: 'session-replay' }, histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.equal(replayed, files.length);
    assert.deepEqual(failures, []);
  });
});
