/**
 * The device-session workflow: one per device, a small state machine whose
 * state Temporal Web shows (search attribute SessionState, current details,
 * memo). It runs the session activity in a cancellation scope, retries broken
 * sessions with capped, jittered backoff, parks on non-retryable failures,
 * obeys pause / resume / reconfigure, and continues-as-new after each lease.
 * Deterministic: imports activity types only.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities, SessionActivities } from '../activities/types';
import {
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
  type DeviceSessionStatus,
  type RunSessionResult,
  type SessionHeartbeat,
  type SessionState,
} from '../core/names';

const DEFAULTS = {
  heartbeatTimeoutMs: 10_000,
  leaseMs: 4 * 3600_000,
  maxBackoffMs: 30_000,
  maxHistoryEvents: 10_000,
};

/** Error types (ApplicationFailure.type) that park the workflow, and the state they park it in. */
const PARKING: Record<string, 'auth-failed' | 'config-invalid'> = {
  AUTH_FAILED: 'auth-failed',
  CONFIG_INVALID: 'config-invalid',
  HOST_KEY_MISMATCH: 'config-invalid',
  HOST_KEY_UNKNOWN: 'config-invalid',
  TLS_FAILED: 'config-invalid',
};

/** A session that streamed at least this long resets the backoff. */
const HEALTHY_SESSION_MS = 30_000;

class DeviceSession {
  private state: SessionState = 'connecting';
  private since = Date.now();
  private carried: CarriedSessionState;
  private lastError: string | undefined;
  private stopRequested = false;
  private currentAttempt = 0;
  private streamingSince: number | undefined;
  private readonly opts: typeof DEFAULTS;
  private readonly sessions: SessionActivities;
  private readonly control: ControlActivities;

  constructor(private readonly input: DeviceSessionInput) {
    this.opts = { ...DEFAULTS, ...stripUndefined(input.options ?? {}) };
    this.carried = input.carried ?? { paused: false, generation: 0, attempts: 0 };
    this.lastError = this.carried.parked?.error;
    this.sessions = proxyActivities<SessionActivities>({
      taskQueue: TASK_QUEUES.sessions,
      heartbeatTimeout: this.opts.heartbeatTimeoutMs,
      startToCloseTimeout: this.opts.leaseMs + 10 * 60_000,
      // Retries are ours (jittered backoff, visible states), not the server's.
      retry: { maximumAttempts: 1 },
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
      state: this.state,
      since: this.since,
      attempt: this.currentAttempt,
      generation: this.carried.generation,
      lastPointAt: this.carried.lastPointAt,
      lastError: this.lastError,
      paused: this.carried.paused,
    };
  }

  private setState(state: SessionState, detail?: string): void {
    if (state !== this.state) {
      this.state = state;
      this.since = Date.now();
      upsertSearchAttributes([{ key: SA.SessionState, value: state }]);
    }
    setCurrentDetails(`**${state}**${detail ? ` — ${detail}` : ''} (attempt ${this.currentAttempt}, generation ${this.carried.generation})`);
  }

  private installHandlers(): void {
    const pause = () => {
      this.carried.paused = true;
    };
    const resume = () => {
      this.carried.paused = false;
      this.carried.parked = undefined;
      this.carried.disabled = false;
    };
    const reconfigure = () => {
      this.carried.generation++;
      this.carried.parked = undefined;
      this.carried.disabled = false;
    };
    setHandler(pauseUpdate, async (req) => {
      pause();
      await condition(() => this.state === 'paused' || this.stopRequested);
      return this.status();
    });
    setHandler(resumeUpdate, async () => {
      resume();
      await condition(() => this.state !== 'paused' || this.stopRequested);
      return this.status();
    });
    setHandler(reconfigureUpdate, async () => {
      const target = this.carried.generation + 1;
      reconfigure();
      // Acknowledged once the session restarted with the new generation (or parked/paused).
      await condition(() => this.runningGeneration >= target || this.state !== 'streaming' || this.stopRequested);
      return this.status();
    });
    setHandler(pauseSignal, () => pause());
    setHandler(resumeSignal, () => resume());
    setHandler(reconfigureSignal, () => reconfigure());
    setHandler(stopSignal, () => {
      this.stopRequested = true;
    });
    setHandler(sessionEventSignal, (event) => {
      if (event.attempt !== this.currentAttempt) return; // a stale attempt
      if (event.type === 'streaming') {
        this.streamingSince = event.at;
        this.setState('streaming', event.detail);
      }
    });
    setHandler(statusQuery, () => this.status());
  }

  private runningGeneration = -1;

  /** True when the running session must end (pause, reconfigure, stop). */
  private interrupted(generation: number): boolean {
    return this.carried.paused || this.carried.generation !== generation || this.stopRequested;
  }

  async run(): Promise<void> {
    this.installHandlers();
    const { deviceId, deviceName, protocol } = this.input;
    upsertSearchAttributes([
      { key: SA.DeviceId, value: String(deviceId) },
      { key: SA.DeviceName, value: deviceName },
      { key: SA.Protocol, value: protocol },
    ]);
    const described = await this.control.describeDevice(deviceId);
    if (!described.exists) {
      this.setState('disabled', 'device deleted');
      return;
    }
    upsertMemo({ address: described.address, profiles: described.profiles ?? [] });
    let consecutiveFailures = 0;

    while (!this.stopRequested) {
      if (this.shouldContinueAsNew()) return this.continueAsNew();
      if (this.carried.paused) {
        this.setState('paused');
        await condition(() => !this.carried.paused || this.stopRequested || this.shouldContinueAsNew());
        continue;
      }
      if (this.carried.parked) {
        this.setState(this.carried.parked.state, this.carried.parked.error);
        const gen = this.carried.generation;
        await condition(() => !this.carried.parked || this.carried.generation !== gen || this.carried.paused || this.stopRequested || this.shouldContinueAsNew());
        consecutiveFailures = 0;
        continue;
      }
      if (this.carried.disabled) {
        this.setState('disabled');
        const gen = this.carried.generation;
        await condition(() => this.carried.generation !== gen || !this.carried.disabled || this.stopRequested || this.shouldContinueAsNew());
        continue;
      }

      this.carried.attempts++;
      this.currentAttempt = this.carried.attempts;
      this.streamingSince = undefined;
      const generation = this.carried.generation;
      this.setState('connecting');
      const scope = new CancellationScope();
      const attempt = scope.run(() =>
        this.sessions.runDeviceSession.executeWithOptions(
          { staticSummary: `${protocol} session with ${deviceName} (${described.address ?? ''})` },
          [
            {
              deviceId,
              generation,
              attempt: this.currentAttempt,
              gapFrom: this.carried.brokenSince,
              gapReason: this.carried.brokenReason,
              leaseMs: this.opts.leaseMs,
            },
          ],
        ),
      );
      this.runningGeneration = generation;
      let outcome: { result?: RunSessionResult; error?: unknown } = {};
      const settled = attempt.then(
        (result) => (outcome = { result }),
        (error) => (outcome = { error }),
      );
      await Promise.race([settled, condition(() => this.interrupted(generation))]);
      const interrupted = !outcome.result && !outcome.error;
      if (interrupted) {
        scope.cancel();
        await settled;
      }
      const healthy = this.streamingSince !== undefined && Date.now() - this.streamingSince >= HEALTHY_SESSION_MS;

      if (outcome.result) {
        const r = outcome.result;
        if (r.lastPointAt) this.carried.lastPointAt = r.lastPointAt;
        this.carried.brokenSince = undefined;
        this.carried.brokenReason = undefined;
        consecutiveFailures = 0;
        if (r.reason === 'deleted') {
          this.setState('disabled', 'device deleted');
          return;
        }
        if (r.reason === 'disabled') {
          this.carried.disabled = true;
          continue;
        }
        if (r.reason === 'lease') return this.continueAsNew();
        continue; // 'completed' (ONCE subscriptions): start again
      }

      const error = outcome.error;
      if (interrupted && (isCancellation(error) || error === undefined)) {
        // Paused, reconfigured or stopped by request: not a failure, no gap to record.
        const details = heartbeatOf(error);
        if (details?.lastPointAt) this.carried.lastPointAt = details.lastPointAt;
        this.carried.brokenSince = undefined;
        continue;
      }
      const { type, message, heartbeat } = describeFailure(error);
      this.lastError = message;
      if (heartbeat?.lastPointAt) this.carried.lastPointAt = heartbeat.lastPointAt;
      if (type && PARKING[type]) {
        this.carried.parked = { state: PARKING[type], error: message };
        this.carried.brokenSince = undefined;
        continue;
      }
      // A broken session: remember where the gap starts, back off with jitter, try again.
      if (this.carried.lastPointAt && this.carried.brokenSince === undefined) {
        this.carried.brokenSince = this.carried.lastPointAt;
      }
      this.carried.brokenReason = message.slice(0, 500);
      consecutiveFailures = healthy ? 1 : consecutiveFailures + 1;
      const base = Math.min(this.opts.maxBackoffMs, 500 * 2 ** (consecutiveFailures - 1));
      const delay = Math.round(base * (0.5 + Math.random() * 0.5));
      this.setState('backoff', `${message.slice(0, 200)}; retrying in ${delay} ms`);
      await condition(() => this.interrupted(generation) || this.carried.parked !== undefined, delay);
    }
    this.setState('disabled', 'stopped');
    await condition(allHandlersFinished);
  }

  private shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > this.opts.maxHistoryEvents;
  }

  private async continueAsNew(): Promise<void> {
    await condition(allHandlersFinished);
    await continueAsNew<typeof deviceSessionWorkflow>({ ...this.input, carried: this.carried });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function heartbeatOf(error: unknown): SessionHeartbeat | undefined {
  let e: unknown = error;
  while (e instanceof Error) {
    if (e instanceof TimeoutFailure && e.lastHeartbeatDetails) return e.lastHeartbeatDetails as SessionHeartbeat;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The failure type, a readable message, and the last heartbeat of a failed attempt. */
function describeFailure(error: unknown): { type?: string; message: string; heartbeat?: SessionHeartbeat } {
  const heartbeat = heartbeatOf(error);
  let cause: unknown = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? undefined) as SessionHeartbeat | undefined;
    return { type: cause.type ?? undefined, message: cause.message, heartbeat: details ?? heartbeat };
  }
  if (cause instanceof TimeoutFailure) {
    return { type: 'TIMEOUT', message: `collector lost (${String(cause.timeoutType).toLowerCase().replace('timeout_type_', '')} timeout)`, heartbeat };
  }
  while (cause instanceof Error && (cause as { cause?: unknown }).cause) cause = (cause as { cause?: unknown }).cause;
  return { message: cause instanceof Error ? cause.message : String(cause), heartbeat };
}

/** One workflow per device: holds the device's telemetry session durably. */
export async function deviceSessionWorkflow(input: DeviceSessionInput): Promise<void> {
  if (!Number.isInteger(input?.deviceId) || input.deviceId <= 0) {
    throw ApplicationFailure.nonRetryable(`invalid deviceId ${JSON.stringify(input?.deviceId)}`, 'CONFIG_INVALID');
  }
  if (input.protocol !== 'gnmi' && input.protocol !== 'netconf') {
    throw ApplicationFailure.nonRetryable(`invalid protocol ${JSON.stringify(input.protocol)}`, 'CONFIG_INVALID');
  }
  await new DeviceSession(input).run();
}
