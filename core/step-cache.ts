/**
 * A short-lived, single-flight cache of answers keyed by an evaluation step (ADR 190): every
 * caller asking for the same key while its answer is being computed awaits the same promise,
 * and callers arriving later, until the entry expires, get the settled answer. A failure is
 * never kept: the next caller computes afresh. Used by the alert evaluation activity so that
 * rules sharing a fleet query run it once per step.
 */

/** What a StepCache has done since it was made (or since the last takeStats()). */
export interface StepCacheStats {
  /** Calls answered (computed or shared). */
  calls: number;
  /** Calls that computed their answer (cache misses). */
  computed: number;
  /** Calls answered by a computation another caller started (in flight or settled). */
  shared: number;
  /** Computations that failed. */
  failed: number;
}

interface Entry<T> {
  promise: Promise<T>;
  /** Clock reading after which the entry no longer answers (set when the computation settles). */
  expiresAt: number;
}

/** The single-flight cache (see the module comment). `now` is the clock (tests pass their own). */
export class StepCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private stats: StepCacheStats = { calls: 0, computed: 0, shared: 0, failed: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The answer for `key`: shared when another caller computes or computed it and it has not
   * expired; else `compute()`'s, kept for `ttlMs` after it settles.
   */
  get(key: string, ttlMs: number, compute: () => Promise<T>): Promise<T> {
    this.sweep();
    this.stats.calls++;
    const hit = this.entries.get(key);
    if (hit) {
      this.stats.shared++;
      return hit.promise;
    }
    this.stats.computed++;
    const entry: Entry<T> = { promise: Promise.resolve().then(compute), expiresAt: Infinity };
    this.entries.set(key, entry);
    entry.promise.then(
      () => void (entry.expiresAt = this.now() + ttlMs),
      () => {
        this.stats.failed++;
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.promise;
  }

  /** Entries kept now (in flight or settled and unexpired). */
  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  /** The counts since the last call (or since the cache was made), and start counting afresh. */
  takeStats(): StepCacheStats {
    const s = this.stats;
    this.stats = { calls: 0, computed: 0, shared: 0, failed: 0 };
    return s;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(key);
  }
}
