/**
 * The device-session workflow's decisions as a pure state machine:
 * `decide(state, event, random)` → `{ state, action }`. Nothing here talks to
 * Temporal, reads a clock or draws randomness of its own; the workflow
 * (workflows/device-session.ts) feeds it events (what happened, with the time)
 * and interprets its actions (timers, search attributes, details,
 * continue-as-new). docs/sessions.md has the table this module implements;
 * test/unit/session-machine.test.ts checks every row. Safe inside workflow code.
 */
import type { BulkPauseEnding, CarriedSessionState, DeviceSessionOptions, RunSessionResult, SessionState } from './names';
import { failureHandling } from './session';

/** Defaults of DeviceSessionOptions. */
export const SESSION_DEFAULTS: Required<DeviceSessionOptions> = {
  heartbeatTimeoutMs: 10_000,
  leaseMs: 4 * 3600_000,
  maxBackoffMs: 30_000,
  maxHistoryEvents: 10_000,
  initialBackoffMs: 1_000,
  placement: false,
  placedHeartbeatTimeoutMs: 60_000,
  placementStartTimeoutMs: 15_000,
};

/** The backoff never exceeds this, whatever the options say (issue 5: ≤ 30 s). */
export const BACKOFF_CEILING_MS = 30_000;
/**
 * Temporal fires a timer shorter than about a second after about a second (measured on
 * the dev server: 100–900 ms timers all fired at 1.02–1.05 s). Jitter drawn below this
 * would collapse: every device would retry at the same instant. ADR 042.
 */
export const MIN_TIMER_MS = 1_000;
/** A session that streamed at least this long resets the backoff. */
export const HEALTHY_SESSION_MS = 30_000;
/** Collector losses in a row retried without backoff before the normal backoff applies. */
export const IMMEDIATE_FAILOVERS = 3;
/** Pause before restarting a session that completed by itself (ONCE subscriptions). */
export const COMPLETED_RESTART_MS = 1_000;
/** A run needs a few dozen events before its first session; a lower limit would continue-as-new forever. */
export const MIN_HISTORY_EVENTS = 40;
/** Longest reason or error text kept. */
export const MAX_REASON = 500;
/** States in which no session runs or is about to. */
export const IDLE_STATES: ReadonlySet<SessionState> = new Set(['paused', 'auth-failed', 'config-invalid', 'disabled', 'backoff']);

/** Everything the decisions depend on; plain data. */
export interface SessionMachine {
  readonly opts: Required<DeviceSessionOptions>;
  /** What survives continue-as-new. */
  readonly carried: CarriedSessionState;
  /** The state shown (SessionState search attribute) and its one-line detail. */
  readonly state: SessionState;
  readonly detail: string;
  /** Number of the latest attempt. */
  readonly attempt: number;
  /** The attempt in flight: its configuration generation, and when it reported its first points. */
  readonly running?: { readonly generation: number; readonly streamingSince?: number };
  /** Generation whose device description (memo, name) was last read. */
  readonly describedGeneration: number;
  /** Breaks in a row (the backoff exponent) and collector losses in a row retried at once. */
  readonly failures: number;
  readonly immediateFailovers: number;
  readonly lastError?: string;
  readonly stopRequested: boolean;
  /** Bumped by resume: a running backoff ends at once. */
  readonly resumes: number;
  /** Workflow time of the latest resume of this run: a pause the collector carried out before it is overridden (ADR 250). */
  readonly resumedAt?: number;
  /** The backoff under way: when it started, its delay, its retry number, the resume count at its start. */
  readonly backoff?: { readonly at: number; readonly ms: number; readonly retry: number; readonly resumes: number };
}

/** How an attempt ended, as the workflow saw it. */
export type AttemptOutcome =
  /** `pause`: with reason `paused`, the pause the collector carried out (ADR 250). */
  | { kind: 'result'; reason: RunSessionResult['reason']; lastPointAt?: number; streamedUntil?: number; pause?: BulkPauseEnding }
  /** `type`: the ApplicationFailure type (a session error code, COLLECTOR_LEAVING) or TIMEOUT (heartbeat lost). */
  | { kind: 'error'; type?: string; message: string; lastPointAt?: number };

/** What happened. Times are workflow time (ms). */
export type MachineEvent =
  /** The workflow is ready for its next step; `continueAsNewDue`: Temporal suggests it or history passed the limit. */
  | { type: 'next'; continueAsNewDue: boolean }
  /** The device was read from the database (`initial`: the run's first read). */
  | { type: 'described'; exists: boolean; initial?: boolean }
  | { type: 'ended'; outcome: AttemptOutcome; now: number; continueAsNewDue: boolean }
  /** The running attempt reports points. */
  | { type: 'streaming'; attempt: number; now: number; detail?: string }
  | { type: 'pause'; reason?: string }
  /** `now`: when the workflow saw it (absent in tests of older rows: then it overrides no pause). */
  | { type: 'resume'; now?: number }
  | { type: 'reconfigure' }
  | { type: 'stop' };

/** What the workflow does next. Actions marked "shows" change the shown state. */
export type SessionAction =
  /** Shows `connecting`; run attempt `attempt` of `generation` (with the gap since the last break). */
  | { type: 'start'; attempt: number; generation: number; gapFrom?: number; gapReason?: string }
  /** Shows `paused`; wait for resume (the pause is acknowledged: nothing runs). */
  | { type: 'acknowledge-pause' }
  /** Shows `auth-failed` / `config-invalid`; wait until the device is fixed (edit, resume, reconfigure). */
  | { type: 'park' }
  /** Shows `disabled`; wait until the device is enabled again. */
  | { type: 'wait-enabled' }
  /** Read the device again (reconfigured) before the next attempt. */
  | { type: 'describe' }
  /** The collector was lost: retry at once, another collector takes over. */
  | { type: 'fail-over' }
  /** Shows `backoff`; wait `delayMs` (or less: resume, reconfigure, pause) before retry `retry`. */
  | { type: 'back-off'; delayMs: number; retry: number; generation: number }
  /** The session completed by itself: start again after `delayMs`. */
  | { type: 'restart'; delayMs: number; generation: number }
  | { type: 'continue-as-new' }
  /** Shows `disabled`; the workflow ends (after its handlers finished when `drain`). */
  | { type: 'stop'; drain: boolean }
  /** Ask again (`next`): the attempt ended by request, or a fact changed. */
  | { type: 'next' }
  /** Shows the new state (streaming). */
  | { type: 'show' }
  /** Nothing to do now: a request changed the state; waiting conditions see it. */
  | { type: 'none' };

/** Action types after which the workflow shows the (possibly unchanged) state. */
export const SHOWING_ACTIONS: ReadonlySet<SessionAction['type']> = new Set(['start', 'acknowledge-pause', 'park', 'wait-enabled', 'back-off', 'stop', 'show']);

/** A decision: the next state and what to do. */
export interface Decision {
  state: SessionMachine;
  action: SessionAction;
}

/** The machine at the start of a run (carried state from the previous run, options bounded). */
export function initialMachine(options: DeviceSessionOptions | undefined, carried: CarriedSessionState | undefined): SessionMachine {
  const opts = { ...SESSION_DEFAULTS, ...stripUndefined(options ?? {}) };
  opts.maxBackoffMs = Math.min(opts.maxBackoffMs, BACKOFF_CEILING_MS);
  opts.maxHistoryEvents = Math.max(opts.maxHistoryEvents, MIN_HISTORY_EVENTS);
  const c = carried ?? { paused: false, generation: 0, attempts: 0 };
  return {
    opts,
    carried: c,
    state: 'connecting',
    detail: '',
    attempt: c.attempts,
    describedGeneration: c.generation,
    failures: 0,
    immediateFailovers: 0,
    lastError: c.parked?.error,
    stopRequested: false,
    resumes: 0,
  };
}

/**
 * The jittered retry delay after `failures` breaks in a row (ADR 040, 042): within
 * [max(1 s, base/2), max(that + 1 s, base)], base = initial · 2^(failures−1) capped.
 * `timerFloor` false: runs started before ADR 042 drew from [base/2, base].
 */
export function retryDelay(opts: Required<DeviceSessionOptions>, failures: number, random: number, timerFloor = true): number {
  const base = Math.min(opts.maxBackoffMs, opts.initialBackoffMs * 2 ** (failures - 1));
  if (!timerFloor) return Math.round(base * (0.5 + random * 0.5));
  const low = Math.max(MIN_TIMER_MS, base / 2);
  const high = Math.max(low + MIN_TIMER_MS, base);
  return Math.round(low + random * (high - low));
}

/** The window retryDelay draws from, [low, high] ms (for status readers and tests). */
export function retryWindow(opts: Required<DeviceSessionOptions>, failures: number): [number, number] {
  return [retryDelay(opts, failures, 0), retryDelay(opts, failures, 1)];
}

/** True when an attempt of `generation` must end: pause, reconfigure, stop, continue-as-new due. */
export function interrupted(m: SessionMachine, generation: number, continueAsNewDue: boolean): boolean {
  return m.carried.paused || m.carried.generation !== generation || m.stopRequested || continueAsNewDue;
}

/** True when the wait that `action` started is over. */
export function waitOver(m: SessionMachine, action: SessionAction, continueAsNewDue: boolean): boolean {
  const c = m.carried;
  switch (action.type) {
    case 'acknowledge-pause':
      return !c.paused || m.stopRequested || continueAsNewDue;
    case 'park':
      return !c.parked || c.paused || m.stopRequested || continueAsNewDue;
    case 'wait-enabled':
      return !c.disabled || c.paused || m.stopRequested || continueAsNewDue;
    case 'back-off':
      return interrupted(m, action.generation, continueAsNewDue) || c.parked !== undefined || m.resumes !== m.backoff?.resumes;
    case 'restart':
      return interrupted(m, action.generation, continueAsNewDue);
    default:
      return true;
  }
}

/** A request an update answers once the machine has settled: pause, resume, or a reconfigure to configuration `generation`. */
export type AcknowledgedRequest = { type: 'pause' } | { type: 'resume' } | { type: 'reconfigure'; generation: number };

/**
 * Whether the update for `request` may answer (once a state was shown after it): a pause once paused (its attempt ended,
 * WAIT_CANCELLATION_COMPLETED: no more points); a resume once an attempt started (out of the idle states) or paused again;
 * a reconfigure once an attempt of the new configuration started, or the machine settled without one (paused, parked
 * again, disabled, backing off).
 */
export function acknowledged(m: SessionMachine, request: AcknowledgedRequest): boolean {
  if (request.type === 'pause') return m.state === 'paused';
  if (request.type === 'resume') return !IDLE_STATES.has(m.state) || m.carried.paused;
  return (m.running?.generation ?? -1) >= request.generation || IDLE_STATES.has(m.state);
}

/** Why the workflow ends a running attempt (the direct stop's reason, ADR 160): its collector lost, stop, pause, reconfigure, or the history limit. */
export function interruptionReason(m: SessionMachine, collectorLost: boolean): 'collector lost' | 'stop' | 'pause' | 'reconfigure' | 'history limit' {
  if (collectorLost) return 'collector lost';
  if (m.stopRequested) return 'stop';
  if (m.carried.paused) return 'pause';
  if (m.running && m.running.generation !== m.carried.generation) return 'reconfigure';
  return 'history limit';
}

/** True when session events of `attempt` are about the attempt in flight (not a stale one). */
export function isCurrentAttempt(m: SessionMachine, attempt: number | undefined): boolean {
  return attempt === m.attempt && m.running !== undefined;
}

/**
 * The decision. `random` is called only when a backoff delay is drawn, `timerFloor`
 * likewise (the workflow passes Math.random and its ADR 042 patch check, so a replay
 * consumes them exactly where the history did).
 */
export function decide(m: SessionMachine, event: MachineEvent, random: () => number, timerFloor: () => boolean = () => true): Decision {
  const carried: CarriedSessionState = { ...m.carried };
  const next = (changes: Partial<SessionMachine>, action: SessionAction): Decision => ({ state: { ...m, carried, ...changes }, action });
  const show = (state: SessionState, detail: string, changes: Partial<SessionMachine>, action: SessionAction) => next({ state, detail, ...changes }, action);

  switch (event.type) {
    case 'next': {
      const cont = event.continueAsNewDue;
      // Woken from a pause by the history limit: continue-as-new still paused.
      if (carried.paused && m.state === 'paused' && cont) return next({ backoff: undefined }, { type: 'continue-as-new' });
      if (m.stopRequested) return show('disabled', 'stopped: device removed', { backoff: undefined }, { type: 'stop', drain: true });
      if (carried.paused) return show('paused', carried.pausedReason ?? 'paused by request', { backoff: undefined }, { type: 'acknowledge-pause' });
      if (cont) return next({ backoff: undefined }, { type: 'continue-as-new' });
      if (carried.parked) {
        return show(carried.parked.state, 'waiting for the device to be fixed (edit it, or resume / reconfigure)', { backoff: undefined, failures: 0 }, { type: 'park' });
      }
      if (carried.disabled) return show('disabled', 'device disabled in the database', { backoff: undefined }, { type: 'wait-enabled' });
      if (m.describedGeneration !== carried.generation) return next({ describedGeneration: carried.generation, backoff: undefined }, { type: 'describe' });
      carried.attempts++;
      const action: SessionAction = {
        type: 'start',
        attempt: carried.attempts,
        generation: carried.generation,
        gapFrom: carried.brokenSince,
        gapReason: carried.brokenReason,
      };
      const detail = carried.brokenSince !== undefined ? 'reconnecting after a break' : 'starting a session';
      return show('connecting', detail, { attempt: carried.attempts, running: { generation: carried.generation }, backoff: undefined }, action);
    }

    case 'described':
      if (!event.exists) return show('disabled', 'device deleted', {}, { type: 'stop', drain: false });
      return next(event.initial ? { describedGeneration: carried.generation } : {}, { type: 'next' });

    case 'ended':
      return ended(m, carried, event, random, timerFloor);

    case 'streaming':
      if (!isCurrentAttempt(m, event.attempt) || m.state === 'streaming') return next({}, { type: 'none' });
      carried.failingSince = undefined;
      return show('streaming', event.detail ?? 'receiving points', { running: { ...m.running!, streamingSince: event.now } }, { type: 'show' });

    case 'pause':
      carried.paused = true;
      carried.pausedReason = event.reason ? event.reason.slice(0, MAX_REASON) : undefined;
      return next({}, { type: 'none' });

    case 'resume':
      carried.paused = false;
      carried.pausedReason = undefined;
      carried.parked = undefined;
      carried.disabled = false;
      return next({ resumes: m.resumes + 1, resumedAt: event.now ?? m.resumedAt }, { type: 'none' });

    case 'reconfigure':
      carried.generation++;
      carried.parked = undefined;
      carried.disabled = false;
      return next({}, { type: 'none' });

    case 'stop':
      return next({ stopRequested: true }, { type: 'none' });
  }
}

/** After an attempt: the outcome classified (docs/sessions.md, "After an attempt"). */
function ended(m: SessionMachine, carried: CarriedSessionState, event: Extract<MachineEvent, { type: 'ended' }>, random: () => number, timerFloor: () => boolean): Decision {
  const { now } = event;
  // A planned hand-over (the collector left cleanly, issue 21) is handled as COLLECTOR_LEAVING,
  // except that it is no error: no last error, and the device is not failing because of it.
  const handover = event.outcome.kind === 'result' && event.outcome.reason === 'handover';
  const outcome: AttemptOutcome = handover
    ? { kind: 'error', type: 'COLLECTOR_LEAVING', message: 'COLLECTOR_LEAVING: the collector is shutting down (planned hand-over)', lastPointAt: event.outcome.lastPointAt }
    : event.outcome;
  const generation = m.running?.generation ?? carried.generation;
  const streamingSince = m.running?.streamingSince;
  const healthy = streamingSince !== undefined && now - streamingSince >= HEALTHY_SESSION_MS;
  if (outcome.lastPointAt) carried.lastPointAt = Math.max(carried.lastPointAt ?? 0, outcome.lastPointAt);
  const next = (changes: Partial<SessionMachine>, action: SessionAction): Decision => ({ state: { ...m, carried, running: undefined, ...changes }, action });

  if (outcome.kind === 'result' || interrupted(m, generation, event.continueAsNewDue)) {
    // Ended by request (pause, reconfigure, stop, history limit) or by the session itself: not a
    // break. Even a cancelled attempt that failed meanwhile records no gap: collection was meant to stop.
    carried.brokenSince = undefined;
    carried.brokenReason = undefined;
    const reset = { failures: 0, immediateFailovers: 0 };
    if (outcome.kind === 'error') return next(reset, { type: 'next' });
    switch (outcome.reason) {
      case 'deleted':
        return next({ ...reset, state: 'disabled', detail: 'device deleted' }, { type: 'stop', drain: false });
      case 'disabled':
        carried.disabled = true;
        return next(reset, { type: 'next' });
      case 'lease':
        return next(reset, { type: 'continue-as-new' });
      case 'completed':
        return next(reset, { type: 'restart', delayMs: COMPLETED_RESTART_MS, generation });
      case 'handover': // not reached: mapped to a COLLECTOR_LEAVING outcome above
        return next(reset, { type: 'next' });
      case 'paused': {
        // The collector ended the attempt for a bulk pause (ADR 250): paused as by a pause signal, with its reason;
        // unless a resume reached the workflow after the collector ended it (the resume was meant last).
        const pause = outcome.pause;
        if (pause && m.resumedAt !== undefined && m.resumedAt >= pause.at) return next(reset, { type: 'next' });
        carried.paused = true;
        carried.pausedReason = (pause?.reason || 'paused by a bulk action').slice(0, MAX_REASON);
        return next(reset, { type: 'next' });
      }
    }
  }

  const lastError = handover ? m.lastError : outcome.message;
  if (!handover) carried.failingSince ??= now;
  const handling = failureHandling(outcome.type);
  if (handling.then === 'park') {
    carried.parked = { state: handling.state, error: outcome.message };
    carried.brokenSince = undefined;
    carried.brokenReason = undefined;
    const detail = 'waiting for the device to be fixed (edit it, or resume / reconfigure)';
    return next({ lastError, state: handling.state, detail, failures: 0 }, { type: 'park' });
  }
  // A broken session: the gap starts at the last point seen before the break; after a hand-over of a
  // streaming session, when that stream ended (its data is complete until then, ADR 236).
  const streamedUntil = event.outcome.kind === 'result' ? event.outcome.streamedUntil : undefined;
  const brokenSince = Math.max(carried.lastPointAt ?? 0, streamedUntil ?? 0);
  // An attempt that streamed settled the break before it itself (its first point recorded that gap, or found the
  // hand-over overlapped, ADR 236), even if its streaming event had not reached the workflow: the break starts afresh.
  const streamed = streamedUntil !== undefined || streamingSince !== undefined;
  if (brokenSince && (carried.brokenSince === undefined || streamed)) carried.brokenSince = brokenSince;
  carried.brokenReason = outcome.message.slice(0, MAX_REASON);
  let failures = healthy ? 0 : m.failures;
  const immediateFailovers = healthy ? 0 : m.immediateFailovers;
  if (handling.then === 'fail-over' && immediateFailovers < IMMEDIATE_FAILOVERS) {
    // The device is probably fine; its collector is not. Another collector takes over now.
    return next({ lastError, failures, immediateFailovers: immediateFailovers + 1 }, { type: 'fail-over' });
  }
  failures++;
  const delayMs = retryDelay(m.opts, failures, random(), timerFloor());
  const detail = `${outcome.message.slice(0, 200)}; retry ${failures} in ${(delayMs / 1000).toFixed(1)} s`;
  return next(
    { lastError, failures, immediateFailovers, state: 'backoff', detail, backoff: { at: now, ms: delayMs, retry: failures, resumes: m.resumes } },
    { type: 'back-off', delayMs, retry: failures, generation },
  );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
