/**
 * Group commit of keyed look-ups: calls that arrive in the same event-loop turn, or while the
 * previous batch runs, go together in one batch (one transaction, one `= ANY($1)` query) instead of
 * one round trip each. Used by placement (activities/placement.ts, ADR 200) and the session
 * activity's device loads (ADR 261). One batch runs at a time; a lone call waits one turn at most.
 */

/** What one batch found: a value per key (missing: undefined), and keys that failed alone. */
export interface BatchAnswer<K, V> {
  values: ReadonlyMap<K, V>;
  /** Keys whose own look-up failed (e.g. secrets that cannot be decrypted): their calls reject with it. */
  failed?: ReadonlyMap<K, unknown>;
}

/** Options of groupCommit. */
export interface GroupCommitOptions {
  /** Keys in one batch at most. */
  maxBatch: number;
  /** Called with each batch's size before it runs (metrics, tests). */
  onBatch?: (size: number) => void;
}

/**
 * A function that looks one key up by way of `run` over batches of keys. A batch that fails as a
 * whole is run again key by key, so one bad key does not fail the others; a lone key's failure
 * rejects its call.
 */
export function groupCommit<K, V>(run: (keys: K[]) => Promise<BatchAnswer<K, V>>, opts: GroupCommitOptions): (key: K) => Promise<V | undefined> {
  type Call = { key: K; resolve: (v: V | undefined) => void; reject: (e: unknown) => void };
  let waiting: Call[] = [];
  let busy = false;
  const settle = (calls: Call[], answer: BatchAnswer<K, V>) => {
    for (const c of calls) {
      if (answer.failed?.has(c.key)) c.reject(answer.failed.get(c.key));
      else c.resolve(answer.values.get(c.key));
    }
  };
  const runBatch = async (batch: Call[]) => {
    opts.onBatch?.(batch.length);
    return run([...new Set(batch.map((c) => c.key))]);
  };
  const drain = async () => {
    try {
      while (waiting.length) {
        const batch = waiting.slice(0, opts.maxBatch);
        waiting = waiting.slice(batch.length);
        try {
          settle(batch, await runBatch(batch));
        } catch (err) {
          if (batch.length === 1) batch[0].reject(err);
          else for (const c of batch) await runBatch([c]).then((answer) => settle([c], answer), c.reject);
        }
      }
    } finally {
      busy = false;
    }
  };
  return (key) =>
    new Promise((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      if (busy) return;
      busy = true;
      // The calls of this turn go with this one.
      setImmediate(() => void drain());
    });
}
