/**
 * The device-session workflow: one per device, a small state machine whose
 * state Temporal Web shows (search attribute SessionState, current details,
 * memo, activity and timer summaries). It runs the session activity in a
 * cancellation scope, retries broken sessions itself with capped, jittered
 * backoff (docs/decisions/040), parks on non-retryable failures, obeys pause /
 * resume / reconfigure / stop, and continues-as-new after each lease or when
 * history grows. Deterministic: imports activity types only; Date.now() and
 * Math.random() are the workflow's replay-safe versions.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityInterfaceFor,
} from '@temporalio/workflow';
import type { ControlActivities, DeviceSummary, SessionActivities } from '../activities/types';
import {
  COLLECTOR_LEAVING,
  SA,
  TASK_QUEUES,
  pauseSignal,
  pauseUpdate,
  reconfigureSignal,
  reconfigureUpdate,
  resumeSignal,
  resumeUpdate,
  sessionEventSignal,
  statusQuery,
  stopSignal,
  type CarriedSessionState,
  type DeviceSessionInput,
  type DeviceSessionOptions,
  type DeviceSessionStatus,
  type ReconfigureRequest,
  type RunSessionResult,
  type SessionHeartbeat,
  type SessionState,
} from '../core/names';

/** Defaults of DeviceSessionOptions. */
export const SESSION_DEFAULTS: Required<DeviceSessionOptions> = {
  heartbeatTimeoutMs: 10_000,
  leaseMs: 4 * 3600_000,
  maxBackoffMs: 30_000,
  maxHistoryEvents: 10_000,
  initialBackoffMs: 1_000,
};

/** The backoff never exceeds this, whatever the options say (issue 5: ≤ 30 s). */
const BACKOFF_CEILING_MS = 30_000;

/** Error types (ApplicationFailure.type) that park the workflow, and the state they park it in. */
const PARKING: Record<string, 'auth-failed' | 'config-invalid'> = {
  AUTH_FAILED: 'auth-failed',
  CONFIG_INVALID: 'config-invalid',
  HOST_KEY_MISMATCH: 'config-invalid',
  HOST_KEY_UNKNOWN: 'config-invalid',
  TLS_FAILED: 'config-invalid',
};

/**
 * Temporal fires a timer shorter than about a second after about a second (measured on
 * the dev server: 100–900 ms timers all fired at 1.02–1.05 s; Temporal's docs advise
 * against relying on sub-second timers). Jitter drawn below this would collapse: every
 * device would retry at the same instant. See docs/decisions/042.
 */
const MIN_TIMER_MS = 1_000;

/** The jittered retry delay after `failures` breaks in a row (ADR 040, 042). */
function retryDelay(opts: Required<DeviceSessionOptions>, failures: number, random: number): number {
  const base = Math.min(opts.maxBackoffMs, opts.initialBackoffMs * 2 ** (failures - 1));
  if (!patched('backoff-one-second-floor')) return Math.round(base * (0.5 + random * 0.5)); // workflows started before ADR 042
  // [base/2, base], but never below the timer floor and always at least a second wide.
  const low = Math.max(MIN_TIMER_MS, base / 2);
  const high = Math.max(low + MIN_TIMER_MS, base);
  return Math.round(low + random * (high - low));
}

/** A session that streamed at least this long resets the backoff. */
const HEALTHY_SESSION_MS = 30_000;
/** Collector losses in a row retried without backoff before the normal backoff applies. */
const IMMEDIATE_FAILOVERS = 3;
/** Pause before restarting a session that completed by itself (ONCE subscriptions). */
const COMPLETED_RESTART_MS = 1_000;
const RECENT_STATES = 20;
/** A run needs a few dozen events before its first session; a lower limit would continue-as-new forever. */
const MIN_HISTORY_EVENTS = 40;
/** States in which no session runs or is about to. */
const IDLE_STATES: ReadonlySet<SessionState> = new Set(['paused', 'auth-failed', 'config-invalid', 'disabled', 'backoff']);
const MAX_REASON = 500;

type Outcome = { kind: 'result'; result: RunSessionResult } | { kind: 'error'; error: unknown };

class DeviceSession {
  private state: SessionState = 'connecting';
  private since = Date.now();
  private detail = '';
  private readonly recent: NonNullable<DeviceSessionStatus['recent']> = [];
  private carried: CarriedSessionState;
  private lastError: string | undefined;
  /** gNMI encoding and Capabilities outcome the latest session reported (status query only). */
  private encoding: string | undefined;
  private capabilities: DeviceSessionStatus['capabilities'];
  private stopRequested = false;
  /** Set while waiting for handlers before continue-as-new: pending updates acknowledge. */
  private draining = false;
  private currentAttempt = 0;
  /** Generation of the attempt that runs now (-1: none). */
  private runningGeneration = -1;
  /** Workflow time the current attempt reported its first points. */
  private streamingSince: number | undefined;
  /** Bumped by resume while backing off: retry now. */
  private retryNow = 0;
  /** Requests (pause, resume, reconfigure) received, and how many the state machine had seen at its last state change. */
  private requests = 0;
  private stateSeenRequests = 0;
  private device: DeviceSummary = { exists: true, enabled: true };
  /** The running backoff: when it started and how long it is (status query only). */
  private backoff: { at: number; ms: number } | undefined;
  private readonly opts: Required<DeviceSessionOptions>;
  private readonly sessions: ActivityInterfaceFor<SessionActivities>;
  private readonly control: ActivityInterfaceFor<ControlActivities>;

  constructor(private readonly input: DeviceSessionInput) {
    this.opts = { ...SESSION_DEFAULTS, ...stripUndefined(input.options ?? {}) };
    this.opts.maxBackoffMs = Math.min(this.opts.maxBackoffMs, BACKOFF_CEILING_MS);
    this.opts.maxHistoryEvents = Math.max(this.opts.maxHistoryEvents, MIN_HISTORY_EVENTS);
    this.carried = input.carried ?? { paused: false, generation: 0, attempts: 0 };
    this.currentAttempt = this.carried.attempts;
    this.lastError = this.carried.parked?.error;
    this.sessions = proxyActivities<SessionActivities>({
      taskQueue: TASK_QUEUES.sessions,
      heartbeatTimeout: this.opts.heartbeatTimeoutMs,
      startToCloseTimeout: this.opts.leaseMs + 10 * 60_000,
      // Retries are ours (visible states, jittered backoff, immediate failover): ADR 040.
      retry: { maximumAttempts: 1 },
      // A cancelled attempt must have ended before another starts: never two sessions per device.
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    });
    this.control = proxyActivities<ControlActivities>({
      taskQueue: TASK_QUEUES.control,
      startToCloseTimeout: '30 seconds',
      retry: { maximumInterval: '10 seconds' },
    });
  }

  status(): DeviceSessionStatus {
    return {
      deviceId: this.input.deviceId,
      deviceName: this.input.deviceName,
      state: this.state,
      since: this.since,
      detail: this.detail,
      attempt: this.currentAttempt,
      generation: this.carried.generation,
      lastPointAt: this.carried.lastPointAt,
      lastError: this.lastError,
      paused: this.carried.paused,
      recent: [...this.recent],
      encoding: this.encoding,
      capabilities: this.capabilities,
      failingSince: isoOf(this.carried.failingSince),
      nextRetryAt: this.state === 'backoff' && this.backoff ? isoOf(this.backoff.at + this.backoff.ms) : undefined,
      backoffMs: this.state === 'backoff' ? this.backoff?.ms : undefined,
      parkedReason: this.carried.parked?.error,
    };
  }

  private setState(state: SessionState, detail = ''): void {
    this.stateSeenRequests = this.requests;
    if (state !== this.state || detail !== this.detail) {
      this.recent.push({ state, at: Date.now(), detail: detail || undefined });
      if (this.recent.length > RECENT_STATES) this.recent.shift();
    }
    if (state !== this.state) {
      this.state = state;
      this.since = Date.now();
      upsertSearchAttributes([{ key: SA.SessionState, value: state }]);
    }
    this.detail = detail;
    const where = this.device.address ? ` · ${this.device.address}` : '';
    const lines = [
      `**${state}**${detail ? ` — ${detail}` : ''}`,
      `${this.input.protocol}${where} · attempt ${this.currentAttempt} · generation ${this.carried.generation}`,
    ];
    if (this.lastError && state !== 'streaming') lines.push(`last error: ${this.lastError.slice(0, 300)}`);
    setCurrentDetails(lines.join('\n\n'));
  }

  private installHandlers(): void {
    const rejectWhenStopping = () => {
      if (this.stopRequested) throw new Error('the session workflow is stopping');
    };
    const pause = (req?: { reason?: string }) => {
      this.carried.paused = true;
      this.carried.pausedReason = reasonOf(req);
    };
    const resume = () => {
      this.carried.paused = false;
      this.carried.pausedReason = undefined;
      this.carried.parked = undefined;
      this.carried.disabled = false;
      this.retryNow++;
    };
    const reconfigure = (req?: ReconfigureRequest) => {
      this.carried.generation++;
      this.carried.parked = undefined;
      this.carried.disabled = false;
      if (req?.deviceName && req.deviceName !== this.input.deviceName) {
        this.input.deviceName = req.deviceName;
        upsertSearchAttributes([{ key: SA.DeviceName, value: req.deviceName }]);
      }
    };
    const done = () => this.stopRequested || this.draining;
    /** True once the state machine changed state after request number `seq` and `pred` holds. */
    const settledAfter = (seq: number, pred: () => boolean) => () => (this.stateSeenRequests >= seq && pred()) || done();

    setHandler(
      pauseUpdate,
      async (req) => {
        const alreadyPaused = this.state === 'paused';
        pause(req);
        const seq = ++this.requests;
        if (alreadyPaused) return this.status();
        // Acknowledged once the session has ended (WAIT_CANCELLATION_COMPLETED): no more points.
        await condition(settledAfter(seq, () => this.state === 'paused'));
        return this.status();
      },
      { validator: (req) => (validateRequest(req), rejectWhenStopping()), description: 'Stop collecting; returns once the session has ended.' },
    );
    setHandler(
      resumeUpdate,
      async (req) => {
        const idle = IDLE_STATES.has(this.state);
        resume();
        const seq = ++this.requests;
        // From paused, parked, disabled or backoff: acknowledged once the next attempt starts.
        if (idle) await condition(settledAfter(seq, () => !IDLE_STATES.has(this.state) || this.carried.paused));
        return this.status();
      },
      { validator: (req) => (validateRequest(req), rejectWhenStopping()), description: 'Resume collecting (also retries a parked or disabled session at once).' },
    );
    setHandler(
      reconfigureUpdate,
      async (req) => {
        reconfigure(req);
        const seq = ++this.requests;
        // While paused nothing runs: the new configuration applies on resume.
        if (this.state === 'paused' && this.carried.paused) return this.status();
        const target = this.carried.generation;
        // Acknowledged once a session with the new configuration started, or the state machine
        // settled in a state without one (paused, parked again, disabled, backing off).
        await condition(settledAfter(seq, () => this.runningGeneration >= target || IDLE_STATES.has(this.state)));
        return this.status();
      },
      {
        validator: (req) => {
          validateRequest(req);
          if (req?.deviceName !== undefined && (typeof req.deviceName !== 'string' || !req.deviceName.trim() || req.deviceName.length > 255)) {
            throw new Error('deviceName must be a non-empty string of at most 255 characters');
          }
          rejectWhenStopping();
        },
        description: 'Restart the session with the device configuration now in the database.',
      },
    );
    setHandler(pauseSignal, (req) => pause(req));
    setHandler(resumeSignal, () => resume());
    setHandler(reconfigureSignal, (req) => reconfigure(req));
    setHandler(stopSignal, () => {
      this.stopRequested = true;
    });
    setHandler(sessionEventSignal, (event) => {
      if (event?.attempt !== this.currentAttempt || this.runningGeneration === -1) return; // a stale attempt
      // State only, no commands: replays of histories without these fields are unchanged (ADR 014).
      if (typeof event.encoding === 'string') this.encoding = event.encoding.slice(0, 100);
      if (event.capabilities) this.capabilities = event.capabilities;
      if (event.type === 'streaming' && this.state !== 'streaming') {
        this.streamingSince = Date.now();
        this.carried.failingSince = undefined;
        this.setState('streaming', event.detail ?? 'receiving points');
      }
    });
    setHandler(statusQuery, () => this.status());
  }

  /** True when the running session must end (pause, reconfigure, stop, history limit). */
  private interrupted(generation: number): boolean {
    return this.carried.paused || this.carried.generation !== generation || this.stopRequested || this.shouldContinueAsNew();
  }

  private async describe(): Promise<boolean> {
    this.device = await this.control.describeDevice(this.input.deviceId);
    if (!this.device.exists) return false;
    upsertMemo({
      address: this.device.address ?? null,
      profiles: this.device.profiles ?? [],
      protocol: this.input.protocol,
      site: this.device.site ?? null,
    });
    if (this.device.name && this.device.name !== this.input.deviceName) {
      this.input.deviceName = this.device.name;
      upsertSearchAttributes([{ key: SA.DeviceName, value: this.device.name }]);
    }
    return true;
  }

  async run(): Promise<void> {
    this.installHandlers();
    const { deviceId, deviceName, protocol } = this.input;
    upsertSearchAttributes([
      { key: SA.DeviceId, value: String(deviceId) },
      { key: SA.DeviceName, value: deviceName },
      { key: SA.Protocol, value: protocol },
    ]);
    if (!(await this.describe())) {
      this.setState('disabled', 'device deleted');
      return;
    }
    let describedGeneration = this.carried.generation;
    let consecutiveFailures = 0;
    let immediateFailovers = 0;

    while (!this.stopRequested) {
      if (this.carried.paused) {
        this.setState('paused', this.carried.pausedReason ?? 'paused by request');
        await condition(() => !this.carried.paused || this.stopRequested || this.shouldContinueAsNew());
        if (this.carried.paused && this.shouldContinueAsNew()) return this.continueAsNew();
        continue;
      }
      if (this.shouldContinueAsNew()) return this.continueAsNew();
      if (this.carried.parked) {
        this.setState(this.carried.parked.state, 'waiting for the device to be fixed (edit it, or resume / reconfigure)');
        await condition(() => !this.carried.parked || this.carried.paused || this.stopRequested || this.shouldContinueAsNew());
        consecutiveFailures = 0;
        continue;
      }
      if (this.carried.disabled) {
        this.setState('disabled', 'device disabled in the database');
        await condition(() => !this.carried.disabled || this.carried.paused || this.stopRequested || this.shouldContinueAsNew());
        continue;
      }
      if (describedGeneration !== this.carried.generation) {
        // Reconfigured: refresh the memo (profiles, address) before the new session.
        describedGeneration = this.carried.generation;
        if (!(await this.describe())) {
          this.setState('disabled', 'device deleted');
          return;
        }
        continue; // the state may have changed while we asked
      }

      this.carried.attempts++;
      this.currentAttempt = this.carried.attempts;
      this.streamingSince = undefined;
      const generation = this.carried.generation;
      this.runningGeneration = generation;
      this.setState('connecting', this.carried.brokenSince !== undefined ? 'reconnecting after a break' : 'starting a session');
      const outcome = await this.runAttempt(generation);
      this.runningGeneration = -1;
      const healthy = this.streamingSince !== undefined && Date.now() - this.streamingSince >= HEALTHY_SESSION_MS;
      const lastPointAt = lastPointOf(outcome);
      if (lastPointAt) this.carried.lastPointAt = Math.max(this.carried.lastPointAt ?? 0, lastPointAt);

      if (outcome.kind === 'result' || (outcome.kind === 'error' && this.interrupted(generation))) {
        // Ended by request (pause, reconfigure, stop, history limit) or by the session itself: not a break.
        // Even when the cancelled attempt failed or timed out (its collector died meanwhile) no gap is
        // recorded: collection was meant to stop here.
        this.carried.brokenSince = undefined;
        this.carried.brokenReason = undefined;
        consecutiveFailures = 0;
        immediateFailovers = 0;
        if (outcome.kind === 'error') continue;
        const r = outcome.result;
        if (r.reason === 'deleted') {
          this.setState('disabled', 'device deleted');
          return;
        }
        if (r.reason === 'disabled') {
          this.carried.disabled = true;
          continue;
        }
        if (r.reason === 'lease') return this.continueAsNew();
        // 'completed' (ONCE subscriptions): start again shortly.
        await condition(() => this.interrupted(generation), COMPLETED_RESTART_MS, { summary: 'restart after a completed session' });
        continue;
      }

      const { type, message } = describeFailure(outcome.error);
      this.lastError = message;
      this.carried.failingSince ??= Date.now();
      if (type && PARKING[type]) {
        this.carried.parked = { state: PARKING[type], error: message };
        this.carried.brokenSince = undefined;
        this.carried.brokenReason = undefined;
        continue;
      }
      // A broken session: the gap starts at the last point seen before the break.
      if (this.carried.lastPointAt && this.carried.brokenSince === undefined) this.carried.brokenSince = this.carried.lastPointAt;
      this.carried.brokenReason = message.slice(0, MAX_REASON);
      if (healthy) {
        consecutiveFailures = 0;
        immediateFailovers = 0;
      }
      const collectorGone = type === COLLECTOR_LEAVING || type === 'TIMEOUT';
      if (collectorGone && immediateFailovers < IMMEDIATE_FAILOVERS) {
        // The device is probably fine; its collector is not. Another collector takes over now.
        immediateFailovers++;
        continue;
      }
      consecutiveFailures++;
      const delay = retryDelay(this.opts, consecutiveFailures, Math.random());
      this.setState('backoff', `${message.slice(0, 200)}; retry ${consecutiveFailures} in ${(delay / 1000).toFixed(1)} s`);
      const kick = this.retryNow;
      this.backoff = { at: Date.now(), ms: delay };
      await condition(
        () => this.interrupted(generation) || this.carried.parked !== undefined || this.retryNow !== kick,
        delay,
        { summary: `backoff ${(delay / 1000).toFixed(1)} s before retry ${consecutiveFailures}` },
      );
      this.backoff = undefined;
    }
    this.setState('disabled', 'stopped: device removed');
    await condition(allHandlersFinished);
  }

  /** Run one session attempt until it ends or is interrupted (then cancel it and wait until it ended). */
  private async runAttempt(generation: number): Promise<Outcome> {
    const { deviceId, deviceName, protocol } = this.input;
    const scope = new CancellationScope();
    const summary = `${protocol} session · ${deviceName}${this.device.address ? ` @ ${this.device.address}` : ''} · attempt ${this.currentAttempt}${
      this.carried.generation ? ` · generation ${this.carried.generation}` : ''
    }`;
    const attempt = scope.run(() =>
      this.sessions.runDeviceSession.executeWithOptions({ summary }, [
        {
          deviceId,
          generation,
          attempt: this.currentAttempt,
          gapFrom: this.carried.brokenSince,
          gapReason: this.carried.brokenReason,
          leaseMs: this.opts.leaseMs,
        },
      ]),
    );
    let outcome: Outcome | undefined;
    const settled = attempt.then(
      (result) => (outcome = { kind: 'result', result }),
      (error) => (outcome = { kind: 'error', error }),
    );
    await Promise.race([settled, condition(() => this.interrupted(generation))]);
    if (!outcome) {
      scope.cancel();
      await settled;
    }
    return outcome!;
  }

  private shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > this.opts.maxHistoryEvents;
  }

  private async continueAsNew(): Promise<void> {
    this.draining = true;
    await condition(allHandlersFinished);
    await continueAsNew<typeof deviceSessionWorkflow>({ ...this.input, carried: this.carried });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isoOf(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function reasonOf(req?: { reason?: string }): string | undefined {
  return req?.reason ? req.reason.slice(0, MAX_REASON) : undefined;
}

function validateRequest(req: unknown): void {
  if (req === undefined || req === null) return;
  if (typeof req !== 'object' || Array.isArray(req)) throw new Error('the request must be an object');
  const reason = (req as { reason?: unknown }).reason;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON)) {
    throw new Error(`reason must be a string of at most ${MAX_REASON} characters`);
  }
}

function heartbeatOf(error: unknown): SessionHeartbeat | undefined {
  let e: unknown = error;
  while (e instanceof Error) {
    if (e instanceof TimeoutFailure && e.lastHeartbeatDetails) return e.lastHeartbeatDetails as SessionHeartbeat;
    if (e instanceof ApplicationFailure && e.details?.[0]) return e.details[0] as SessionHeartbeat;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function lastPointOf(outcome: Outcome): number | undefined {
  if (outcome.kind === 'result') return outcome.result.lastPointAt;
  return heartbeatOf(outcome.error)?.lastPointAt;
}

/** The failure type and a readable message of a failed attempt. */
function describeFailure(error: unknown): { type?: string; message: string } {
  let cause: unknown = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
  if (cause instanceof TimeoutFailure) {
    const kind = String(cause.timeoutType).toLowerCase().replace('timeout_type_', '').replace(/_/g, '-');
    return { type: 'TIMEOUT', message: `collector lost (${kind} timeout)` };
  }
  while (cause instanceof Error && (cause as { cause?: unknown }).cause) cause = (cause as { cause?: unknown }).cause;
  return { message: cause instanceof Error ? cause.message : String(cause) };
}

/** One workflow per device: holds the device's telemetry session durably. */
export async function deviceSessionWorkflow(input: DeviceSessionInput): Promise<void> {
  if (!Number.isInteger(input?.deviceId) || input.deviceId <= 0) {
    throw ApplicationFailure.nonRetryable(`invalid deviceId ${JSON.stringify(input?.deviceId)}`, 'CONFIG_INVALID');
  }
  if (input.protocol !== 'gnmi' && input.protocol !== 'netconf') {
    throw ApplicationFailure.nonRetryable(`invalid protocol ${JSON.stringify(input.protocol)}`, 'CONFIG_INVALID');
  }
  if (typeof input.deviceName !== 'string' || !input.deviceName) {
    throw ApplicationFailure.nonRetryable('deviceName is required', 'CONFIG_INVALID');
  }
  await new DeviceSession(input).run();
}
