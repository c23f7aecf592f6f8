/**
 * What the device-session workflow remembers about where its attempts run (ADR 110, 160, 200, 245, 260),
 * and how a settled or lost attempt is classified, as plain state and pure decisions: the collector queues
 * reported lost (each with the number of its loss signal), the placement made ahead for the next attempt
 * (by the monitor or by a leaving collector), and how the run's previous attempt ended (the reason the next
 * one asks placement). No Temporal calls: the workflow passes the clock and asks its `patched()` markers
 * through callbacks exactly where it always did, so recorded histories replay unchanged.
 * Unit-tested in test/unit/session-placement-memory.test.ts.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import type { RunSessionResult, SessionHeartbeat, SessionPlacement } from './names';
import { placedAheadFor, placementAskReason, type PlacedAhead, type PlacementAskReason, type PreviousAttempt } from './placement';
import type { AttemptOutcome } from './session-machine';

/** Lost collector queues remembered (a loss signalled while the placement answer was on its way). */
export const LOST_QUEUES_KEPT = 8;

/** The placement made ahead an attempt takes, or why it was refused, and how many losses had been signalled when it asked. */
export interface PlacedAheadTaken {
  ahead?: PlacedAhead;
  refused?: 'lost' | 'too-old';
  /** Loss signals seen before the placement was asked: a queue lost up to then and placed again is live (`placedOn`). */
  asked: number;
}

export class SessionPlacementMemory {
  private readonly lost: Array<{ queue: string; seq: number }> = [];
  private lostSignals = 0;
  private ahead: PlacedAhead | undefined;
  private previous: PreviousAttempt | undefined;

  /** Queues reported lost, oldest first (at most LOST_QUEUES_KEPT). */
  get lostQueues(): string[] {
    return this.lost.map((l) => l.queue);
  }

  /** The placement made ahead and not taken yet. */
  get placedAhead(): PlacedAhead | undefined {
    return this.ahead;
  }

  /** How this run's previous attempt ended (none yet: undefined). */
  get previousAttempt(): PreviousAttempt | undefined {
    return this.previous;
  }

  /**
   * The collector-lost signal (ADR 110): remember `taskQueue` as lost, and where the monitor placed the session
   * meanwhile (ADR 200). Idempotent: a queue already remembered (or a malformed payload) changes nothing.
   */
  collectorLost(taskQueue: unknown, placed: SessionPlacement | undefined, now: number): void {
    if (typeof taskQueue !== 'string' || this.isLost(taskQueue)) return;
    this.lost.push({ queue: taskQueue, seq: ++this.lostSignals });
    if (this.lost.length > LOST_QUEUES_KEPT) this.lost.shift();
    this.keepPlacedAhead(placed, 'monitor', now);
  }

  /** Whether `queue` (where the attempt runs; undefined: the shared queue) was reported lost. */
  isLost(queue: string | undefined): boolean {
    return queue !== undefined && this.lost.some((l) => l.queue === queue);
  }

  /** Keep a placement made ahead for the next attempt; a malformed one is ignored. */
  keepPlacedAhead(placed: SessionPlacement | undefined, by: PlacedAhead['by'], now: number): void {
    if (typeof placed?.taskQueue !== 'string' || typeof placed.collectorId !== 'string') return;
    this.ahead = { placement: { taskQueue: placed.taskQueue, collectorId: placed.collectorId }, at: now, by };
  }

  /**
   * The placement made ahead for the attempt starting at `now`, taken once (core/placement.ts placedAheadFor
   * decides; `validPatched` is the ADR 245 marker, asked only where placedAheadFor asks it).
   */
  takePlacedAhead(now: number, validPatched: () => boolean): PlacedAheadTaken {
    const asked = this.lostSignals;
    const ahead = this.ahead;
    this.ahead = undefined;
    return { ...placedAheadFor(ahead, this.lostQueues, now, validPatched), asked };
  }

  /** Why this attempt asks the placement activity (ADR 260): the refused placement made ahead, else how the previous attempt ended. */
  askReason(refused: PlacedAheadTaken['refused']): PlacementAskReason {
    return placementAskReason(this.previous, refused);
  }

  /**
   * Placement answered `queue`, asked after `asked` loss signals. A collector whose lease lapsed and was renewed
   * (alive after all, e.g. under load) keeps its queue: placed again, it is live, not lost (otherwise every attempt
   * placed there would count as lost at once, round after round). `placedAgainPatched` (ADR 160's marker) is asked
   * only when such a queue is remembered; the queue is forgotten only when it says so.
   */
  placedOn(queue: string, asked: number, placedAgainPatched: () => boolean): void {
    const again = this.lost.findIndex((l) => l.queue === queue && l.seq <= asked);
    if (again >= 0 && placedAgainPatched()) this.lost.splice(again, 1);
  }

  /** The attempt returned `result` at `now`: its outcome (a hand-over's next placement is kept for the next attempt). */
  settled(result: RunSessionResult, now: number): AttemptOutcome {
    if (result.reason === 'handover') this.keepPlacedAhead(result.next, 'leaving-collector', now);
    this.previous = { kind: 'result', reason: result.reason, next: result.next !== undefined };
    return { kind: 'result', reason: result.reason, lastPointAt: result.lastPointAt, streamedUntil: result.streamedUntil, ...(result.pause ? { pause: result.pause } : {}) };
  }

  /**
   * The attempt failed with `error`: its outcome. `byRequest`: it was cancelled for a pause, reconfigure or stop
   * (ended by request, not a break); `lost`: its queue was reported lost.
   */
  failed(error: unknown, byRequest: boolean, lost: boolean): AttemptOutcome {
    const { timeout, ...failure } = describeFailure(error);
    const outcome: AttemptOutcome = { kind: 'error', ...failure, lastPointAt: heartbeatOf(error)?.lastPointAt };
    this.previous = byRequest ? { kind: 'result', reason: 'interrupted' } : { kind: 'error', type: outcome.type, lost, ...(timeout ? { timeout } : {}) };
    return outcome;
  }

  /** The attempt on `queue` never confirmed its cancellation and its collector was reported lost: it counts as a timeout. */
  lostAttempt(queue: string | undefined): AttemptOutcome {
    this.previous = { kind: 'error', type: 'TIMEOUT', lost: true };
    return { kind: 'error', type: 'TIMEOUT', message: `collector lost (lease of ${queue} lapsed)` };
  }
}

/** The last heartbeat a failed attempt carried (a timeout's, or the details of the session's own failure). */
export function heartbeatOf(error: unknown): SessionHeartbeat | undefined {
  let e: unknown = error;
  while (e instanceof Error) {
    if (e instanceof TimeoutFailure && e.lastHeartbeatDetails) return e.lastHeartbeatDetails as SessionHeartbeat;
    if (e instanceof ApplicationFailure && e.details?.[0]) return e.details[0] as SessionHeartbeat;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The failure type and a readable message of a failed attempt (and, for a timeout, its kind: heartbeat, schedule-to-start, …). */
export function describeFailure(error: unknown): { type?: string; message: string; timeout?: string } {
  let cause: unknown = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
  if (cause instanceof TimeoutFailure) {
    const kind = String(cause.timeoutType).toLowerCase().replace('timeout_type_', '').replace(/_/g, '-');
    return { type: 'TIMEOUT', message: `collector lost (${kind} timeout)`, timeout: kind };
  }
  while (cause instanceof Error && (cause as { cause?: unknown }).cause) cause = (cause as { cause?: unknown }).cause;
  return { message: cause instanceof Error ? cause.message : String(cause) };
}
