/** A per-key bound on work running at once (web history queries, alert evaluation queries). */

/**
 * Runs at most `perKey()` requests per key at once; later ones wait their turn
 * (a dashboard loads all its charts together), up to `maxWaiting` per key —
 * beyond that `enter` answers undefined and the caller refuses (429).
 */
export class ConcurrencyLimit {
  private readonly running = new Map<number, number>();
  private readonly waiting = new Map<number, Array<() => void>>();
  constructor(
    private readonly perKey: () => number,
    private readonly maxWaiting = 16,
  ) {}

  /** Requests of `key` running and waiting now. */
  load(key: number): { running: number; waiting: number } {
    return { running: this.running.get(key) ?? 0, waiting: this.waiting.get(key)?.length ?? 0 };
  }

  /** Take a slot for `key` (waiting for one if need be); resolves with the release function, or undefined when too many wait. */
  async enter(key: number): Promise<(() => void) | undefined> {
    if ((this.running.get(key) ?? 0) >= this.perKey()) {
      const queue = this.waiting.get(key) ?? [];
      if (queue.length >= this.maxWaiting) return undefined;
      this.waiting.set(key, queue);
      await new Promise<void>((resolve) => queue.push(resolve));
    }
    this.running.set(key, (this.running.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.running.get(key) ?? 1) - 1;
      if (left > 0) this.running.set(key, left);
      else this.running.delete(key);
      const queue = this.waiting.get(key);
      const next = queue?.shift();
      if (queue && queue.length === 0) this.waiting.delete(key);
      next?.();
    };
  }
}
