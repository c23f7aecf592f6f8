/**
 * Shared alert evaluation per step (ADR 190): the single-flight step cache (core/step-cache.ts)
 * — concurrent callers of one key share one computation, later callers the settled answer
 * until it expires, failures are never kept, different keys never share — and the key a
 * threshold rule's fleet query is shared under (query/alert-evaluation.ts thresholdQuery): rules
 * differing only in their comparison, severity or `for` share it; any other difference, or
 * another step, does not.
 */
import assert from 'node:assert/strict';
import { thresholdQuery } from '../../query/alert-evaluation';
import { StepCache } from '../../core/step-cache';
import type { AlertRuleDefinition } from '../../core/alert-rules';

/** A computation that settles when the test says so, counting how often it was started. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('alert step cache (single-flight, per step)', () => {
  it('runs one computation for concurrent callers of a key and hands all of them its answer', async () => {
    const cache = new StepCache<number>();
    const d = deferred<number>();
    let runs = 0;
    const compute = () => (runs++, d.promise);
    const callers = Array.from({ length: 50 }, () => cache.get('k', 60_000, compute));
    d.resolve(42);
    assert.deepEqual(await Promise.all(callers), Array(50).fill(42));
    assert.equal(runs, 1);
    assert.deepEqual(cache.takeStats(), { calls: 50, computed: 1, shared: 49, failed: 0 });
  });

  it('keeps a settled answer until its time is up, then computes afresh', async () => {
    let now = 1_000_000;
    const cache = new StepCache<string>(() => now);
    let runs = 0;
    const compute = async () => `answer ${++runs}`;
    assert.equal(await cache.get('k', 10_000, compute), 'answer 1');
    now += 9_999;
    assert.equal(await cache.get('k', 10_000, compute), 'answer 1');
    now += 1;
    assert.equal(await cache.get('k', 10_000, compute), 'answer 2');
    assert.equal(runs, 2);
    now += 10_000;
    assert.equal(cache.size, 0, 'an expired entry is swept');
  });

  it('never expires an answer still being computed', async () => {
    let now = 0;
    const cache = new StepCache<number>(() => now);
    const d = deferred<number>();
    let runs = 0;
    const first = cache.get('k', 10, () => (runs++, d.promise));
    now += 1_000_000;
    const second = cache.get('k', 10, () => (runs++, Promise.resolve(-1)));
    d.resolve(7);
    assert.deepEqual(await Promise.all([first, second]), [7, 7]);
    assert.equal(runs, 1);
  });

  it('never shares between different keys', async () => {
    const cache = new StepCache<string>();
    const keys = ['a', 'b', 'a ', 'A', '1700000000000 fleet {"agg":"max"}', '1700000060000 fleet {"agg":"max"}'];
    const answers = await Promise.all(keys.map((k) => cache.get(k, 60_000, async () => `for ${k}`)));
    assert.deepEqual(answers, keys.map((k) => `for ${k}`));
    assert.deepEqual(cache.takeStats(), { calls: keys.length, computed: keys.length, shared: 0, failed: 0 });
  });

  it('hands a failure to the callers waiting on it but keeps nothing: the next caller computes again', async () => {
    const cache = new StepCache<number>();
    const d = deferred<number>();
    const a = cache.get('k', 60_000, () => d.promise);
    const b = cache.get('k', 60_000, async () => 0);
    d.reject(new Error('connection reset'));
    await assert.rejects(a, /connection reset/);
    await assert.rejects(b, /connection reset/);
    assert.equal(await cache.get('k', 60_000, async () => 5), 5);
    assert.deepEqual(cache.takeStats(), { calls: 3, computed: 2, shared: 1, failed: 1 });
  });
});

describe('alert step cache: which threshold rules share a fleet query', () => {
  type Spec = Extract<AlertRuleDefinition['spec'], { kind: 'threshold' }>;
  const base: Spec = { kind: 'threshold', path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'max', groupBy: 'site', op: '>', threshold: 1e9, windowMs: 60_000 };
  const key = (spec: Spec, at = 1_700_000_040_000) => JSON.stringify(thresholdQuery(spec, at));

  it('rules differing only in comparison share the query', () => {
    for (const other of [{ threshold: 5 }, { op: '<' as const, threshold: 1 }, { recovery: 100 }]) {
      assert.equal(key({ ...base, ...other }), key(base), JSON.stringify(other));
    }
  });

  it('any difference in what is asked, or another step, is another query', () => {
    const variants: Array<Partial<Spec>> = [
      { path: '/interfaces/interface[name=*]/state/counters/out-octets' },
      { rate: false },
      { agg: 'sum' },
      { groupBy: 'device' },
      { groupBy: undefined },
      { windowMs: 120_000 },
    ];
    const keys = new Set([key(base), ...variants.map((v) => key({ ...base, ...v })), key(base, 1_700_000_100_000)]);
    assert.equal(keys.size, variants.length + 2);
  });
});
