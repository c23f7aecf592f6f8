/**
 * core/group-commit.ts: keyed look-ups that arrive together run as one batch (placement, device loads; ADR 200, 261).
 */
import assert from 'node:assert/strict';
import { groupCommit, type BatchAnswer } from '../../core/group-commit';

/** A batch function that records its batches and answers key * 10; `gate` holds each batch until released. */
function recorder(opts: { fail?: (keys: number[]) => boolean; failedKeys?: number[] } = {}) {
  const batches: number[][] = [];
  let release: () => void = () => {};
  let gate: Promise<void> | undefined;
  const run = async (keys: number[]): Promise<BatchAnswer<number, number>> => {
    batches.push(keys);
    if (gate) await gate;
    if (opts.fail?.(keys)) throw new Error(`batch ${keys.join(',')} failed`);
    const failed = new Map((opts.failedKeys ?? []).filter((k) => keys.includes(k)).map((k) => [k, new Error(`key ${k} failed`)]));
    return { values: new Map(keys.filter((k) => !failed.has(k)).map((k) => [k, k * 10])), failed };
  };
  return {
    batches,
    run,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => {
      gate = undefined;
      release();
    },
  };
}

describe('group commit (core/group-commit.ts)', () => {
  it('runs the calls of one event-loop turn as one batch, each answered with its own value', async () => {
    const r = recorder();
    const look = groupCommit(r.run, { maxBatch: 100 });
    const answers = await Promise.all([1, 2, 3, 2].map((k) => look(k)));
    assert.deepEqual(answers, [10, 20, 30, 20]);
    assert.deepEqual(r.batches, [[1, 2, 3]]);
  });

  it('gathers the calls arriving while a batch runs into the next one, never two batches at once', async () => {
    const r = recorder();
    const look = groupCommit(r.run, { maxBatch: 100 });
    r.hold();
    const first = look(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.batches, [[1]]);
    const later = [look(2), look(3), look(4)];
    // A batch is drained from setImmediate: three event-loop turns are when a second one would have started.
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(r.batches.length, 1, 'the next batch waits for the running one');
    r.release();
    assert.deepEqual(await Promise.all([first, ...later]), [10, 20, 30, 40]);
    assert.deepEqual(r.batches, [[1], [2, 3, 4]]);
  });

  it('splits at maxBatch', async () => {
    const r = recorder();
    const sizes: number[] = [];
    const look = groupCommit(r.run, { maxBatch: 2, onBatch: (n) => sizes.push(n) });
    assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map((k) => look(k))), [10, 20, 30, 40, 50]);
    assert.deepEqual(r.batches, [[1, 2], [3, 4], [5]]);
    assert.deepEqual(sizes, [2, 2, 1]);
  });

  it('rejects only the calls of keys that failed on their own', async () => {
    const r = recorder({ failedKeys: [2] });
    const look = groupCommit(r.run, { maxBatch: 100 });
    const settled = await Promise.allSettled([1, 2, 3].map((k) => look(k)));
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /key 2 failed/);
    assert.deepEqual(r.batches, [[1, 2, 3]]);
  });

  it('runs a failed batch again key by key: one bad key fails alone', async () => {
    const r = recorder({ fail: (keys) => keys.includes(2) });
    const look = groupCommit(r.run, { maxBatch: 100 });
    const settled = await Promise.allSettled([1, 2, 3].map((k) => look(k)));
    assert.deepEqual(
      settled.map((s) => (s.status === 'fulfilled' ? s.value : 'rejected')),
      [10, 'rejected', 30],
    );
    assert.deepEqual(r.batches, [[1, 2, 3], [1], [2], [3]]);
    // And it keeps working afterwards.
    assert.equal(await look(4), 40);
  });
});
