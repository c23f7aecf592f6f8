/**
 * The collectorLost signals of a lost collector's sessions, held while their new collectors bring
 * the warm streams up (ADR 297).
 *
 * A claim places a lost collector's sessions elsewhere and announces the running ones to their new
 * collectors, which dial them at once (warm hand-over, ADR 235): their points flow again before any
 * workflow hears of the loss. Telling the workflows is bookkeeping (a signal, a workflow task, the
 * next attempt adopting the stream), and at thousands of sessions it took more of the machine than
 * the redial itself while both ran together. So a claim's warm sessions are told together once
 * every one of them streams on its new collector (`session_up`), or when none of them came up for
 * `quietMs` (the redial finished or is stuck), or after `holdMs`, whichever comes first. Sessions
 * not announced warm (placed nowhere, or not reported running) are told at once by the caller.
 */
import type { LostPlacement } from '../storage/collectors';

/** One claim's warm sessions waiting to be told. */
interface HeldClaim {
  lost: LostPlacement[];
  /** Device → the queue whose `session_up` releases it. */
  waiting: Map<number, string>;
  heldAt: number;
  /** The last time one of them came up (the hold's start before that). */
  lastUpAt: number;
}

/** Why a held claim was let go: logged, and counted by the tests. */
export type ReleaseReason = 'up' | 'quiet' | 'bound' | 'stop';

export interface SignalHoldOptions {
  /** At most this long (ms) after the claim. */
  holdMs: number;
  /** Let go when none came up for this long (ms). */
  quietMs: number;
  /** Tell these sessions (errors are the sender's to handle). */
  send(lost: LostPlacement[], reason: ReleaseReason, heldMs: number): Promise<void>;
  now?: () => number;
}

export class SignalHold {
  private readonly claims: HeldClaim[] = [];
  private readonly now: () => number;
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly opts: SignalHoldOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Sessions held now. */
  get size(): number {
    return this.claims.reduce((n, c) => n + c.lost.length, 0);
  }

  /** Of those, the ones streaming on their new collector already (the rest are still being dialled). */
  get upCount(): number {
    return this.claims.reduce((n, c) => n + c.lost.length - c.waiting.size, 0);
  }

  /** Hold a claim's warm sessions (each with its placement); released by `up`, `check` or `flush`. */
  hold(lost: LostPlacement[]): void {
    const waiting = new Map<number, string>();
    for (const l of lost) if (l.placed) waiting.set(l.deviceId, l.placed.taskQueue);
    if (waiting.size === 0) {
      this.release({ lost, waiting, heldAt: this.now(), lastUpAt: this.now() }, 'up');
      return;
    }
    const at = this.now();
    this.claims.push({ lost, waiting, heldAt: at, lastUpAt: at });
  }

  /** `queue`'s collector streams these devices now (`session_up`). */
  up(queue: string, deviceIds: readonly number[]): void {
    const at = this.now();
    for (const claim of [...this.claims]) {
      let heard = false;
      for (const id of deviceIds)
        if (claim.waiting.get(id) === queue) {
          claim.waiting.delete(id);
          heard = true;
        }
      if (!heard) continue;
      claim.lastUpAt = at;
      if (claim.waiting.size === 0) this.release(claim, 'up');
    }
  }

  /** Let go of the claims that waited long enough (called every few hundred ms). */
  check(): void {
    const at = this.now();
    for (const claim of [...this.claims]) {
      if (at - claim.heldAt >= this.opts.holdMs) this.release(claim, 'bound');
      else if (at - claim.lastUpAt >= this.opts.quietMs) this.release(claim, 'quiet');
    }
  }

  /** Tell every held session now, and wait for every signal under way (a stopping monitor loses none). */
  async flush(): Promise<void> {
    for (const claim of [...this.claims]) this.release(claim, 'stop');
    await Promise.all([...this.sending]);
  }

  private release(claim: HeldClaim, reason: ReleaseReason): void {
    const i = this.claims.indexOf(claim);
    if (i >= 0) this.claims.splice(i, 1);
    const sent = this.opts
      .send(claim.lost, reason, this.now() - claim.heldAt)
      .catch(() => undefined)
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }
}
