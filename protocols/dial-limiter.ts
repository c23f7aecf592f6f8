/**
 * Caps how many sessions of one collector may be connecting at the same time, so a
 * reconnect storm (every device dropped at once) becomes a bounded, orderly queue
 * instead of hundreds of simultaneous TLS/SSH handshakes. A permit is held from the
 * dial until the session reports it is connected (or fails, or a timeout passes).
 */

/** A FIFO counting semaphore for dials. */
export class DialLimiter {
  private inUse = 0;
  private readonly queue: Array<{ grant: () => void; fail: (err: unknown) => void }> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`dial limit must be a positive integer, got ${max}`);
  }

  /** Dials in progress. */
  get active(): number {
    return this.inUse;
  }

  /** Sessions waiting for a permit. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Wait for a permit; resolves with its release function (idempotent). Rejects with the
   * signal's reason if aborted while waiting. `holdMs` releases the permit by itself so a
   * dial that hangs cannot keep it.
   */
  acquire(signal?: AbortSignal, holdMs = 15_000): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const grant = () => {
        this.inUse++;
        let released = false;
        const timer = setTimeout(() => release(), holdMs);
        timer.unref?.();
        const release = () => {
          if (released) return;
          released = true;
          clearTimeout(timer);
          this.inUse--;
          this.queue.shift()?.grant();
        };
        resolve(release);
      };
      if (this.inUse < this.max) return grant();
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          grant();
        },
        fail: reject,
      };
      const onAbort = () => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
    });
  }
}
