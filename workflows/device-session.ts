/**
 * The device-session workflow: one per device. Every decision (retry at once,
 * back off and for how long, park, restart, continue-as-new, stop, acknowledge
 * a pause) is made by the pure state machine in core/session-machine.ts; this
 * file interprets its actions with Temporal: the session activity in a
 * cancellation scope, timers, search attributes, current details, memo,
 * continue-as-new, and the update / signal / query handlers. Deterministic:
 * imports activity types only; Date.now() and Math.random() are the workflow's
 * replay-safe versions, and the `patched()` marker of ADR 042 is asked exactly
 * where it always was (when a backoff is drawn), so recorded histories replay.
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
import type { ControlActivities, DeviceSummary, LocalSessionActivities, PlacementActivities, SessionActivities } from '../activities/types';
import {
  SA,
  TASK_QUEUES,
  collectorStopQueue,
  collectorLostSignal,
  pauseSignal,
  pauseUpdate,
  reconfigureSignal,
  reconfigureUpdate,
  resumeSignal,
  resumeUpdate,
  sessionEventSignal,
  statusQuery,
  stopSignal,
  type DeviceSessionInput,
  type DeviceSessionStatus,
  type ReconfigureRequest,
  type SessionHeartbeat,
  type SessionPlacement,
  type SessionState,
} from '../core/names';
import {
  IDLE_STATES,
  MAX_REASON,
  SHOWING_ACTIONS,
  decide,
  initialMachine,
  interrupted,
  interruptionReason,
  isCurrentAttempt,
  waitOver,
  type AttemptOutcome,
  type SessionAction,
  type MachineEvent,
  type SessionMachine,
} from '../core/session-machine';
import { placedAheadFor, placementAskReason, type PlacedAhead, type PreviousAttempt } from '../core/placement';

const RECENT_STATES = 20;
/** `patched()` id of per-collector placement (ADR 110): histories recorded before it replay on the shared queue. */
const PLACEMENT_PATCH = 'collector-placement';
/** Lost collector queues remembered (a loss signalled while the placement answer was on its way). */
const LOST_QUEUES_KEPT = 8;
/** `patched()` id of the direct stop of a cancelled placed session (ADR 160): histories recorded before it replay without it. */
const DIRECT_STOP_PATCH = 'direct-session-stop';
/** `patched()` id of forgetting a lost queue that placement found live again (ADR 160). */
const PLACED_AGAIN_PATCH = 'lost-queue-placed-again';
/** `patched()` ids of the next attempt going where the monitor placed a lost session, or the leaving collector its session (ADR 200), without the placement activity. */
const PLACED_BY_MONITOR_PATCH = 'placed-by-monitor';
const PLACED_BY_LEAVING_COLLECTOR_PATCH = 'placed-by-leaving-collector';
/** `patched()` id of the direct stop on the collector's stop queue (ADR 230), not the queue whose slots its sessions hold. */
const STOP_QUEUE_PATCH = 'direct-stop-own-slots';
/** `patched()` id of no direct stop to a queue reported lost (ADR 231): its row names the session's new collector, so a live one ends it at its next renewal. */
const NO_STOP_TO_LOST_PATCH = 'no-direct-stop-to-lost-queue';
/**
 * `patched()` id of ADR 245: a placement made ahead stays good while its collector is not reported lost (its
 * row records it, so placement would answer the same), up to PLACED_AHEAD_VALID_MS (core/placement.ts): an
 * attempt that Temporal starts minutes after a hand-over still goes there without a placement transaction.
 */
const PLACED_AHEAD_VALID_PATCH = 'placed-ahead-valid-10-min';

class DeviceSession {
  private m: SessionMachine;
  /** The state last shown, since when, its detail, and the recent changes (status query, Temporal Web). */
  private shown: SessionState = 'connecting';
  private since = Date.now();
  private shownDetail = '';
  private readonly recent: NonNullable<DeviceSessionStatus['recent']> = [];
  /** gNMI encoding and Capabilities outcome the latest session reported (status query only). */
  private encoding: string | undefined;
  private capabilities: DeviceSessionStatus['capabilities'];
  /** Set while waiting for handlers before continue-as-new: pending updates acknowledge. */
  private draining = false;
  /** Requests (pause, resume, reconfigure) received, and how many had been seen at the last shown state. */
  private requests = 0;
  private stateSeenRequests = 0;
  private device: DeviceSummary = { exists: true, enabled: true };
  private readonly sessions: ActivityInterfaceFor<SessionActivities>;
  private readonly control: ActivityInterfaceFor<ControlActivities>;
  private readonly placement: ActivityInterfaceFor<PlacementActivities>;
  /** Collector task queues reported lost (ADR 110), each with the number of the loss signal. */
  private readonly lostQueues: Array<{ queue: string; seq: number }> = [];
  private lostSignals = 0;
  /** Where the monitor (collector lost) or the leaving collector (hand-over) placed the next attempt (ADR 200), for that attempt only. */
  private placedAhead: PlacedAhead | undefined;
  /** How this run's previous attempt ended: the placement activity counts why an attempt asks it (ADR 260). State only. */
  private previousAttempt: PreviousAttempt | undefined;

  constructor(private readonly input: DeviceSessionInput) {
    this.m = initialMachine(input.options, input.carried);
    this.sessions = proxyActivities<SessionActivities>({
      taskQueue: TASK_QUEUES.sessions,
      heartbeatTimeout: this.m.opts.heartbeatTimeoutMs,
      startToCloseTimeout: this.m.opts.leaseMs + 10 * 60_000,
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
    this.placement = proxyActivities<PlacementActivities>({
      taskQueue: TASK_QUEUES.control,
      startToCloseTimeout: '10 seconds',
      retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds' },
    });
  }

  /** Session activities on one collector's own queue: its lease detects its death, heartbeats carry progress only. */
  private placedSessions(taskQueue: string): ActivityInterfaceFor<SessionActivities> {
    return proxyActivities<SessionActivities>({
      taskQueue,
      heartbeatTimeout: this.m.opts.placedHeartbeatTimeoutMs,
      scheduleToStartTimeout: this.m.opts.placementStartTimeoutMs,
      startToCloseTimeout: this.m.opts.leaseMs + 10 * 60_000,
      retry: { maximumAttempts: 1 },
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    });
  }

  /**
   * The direct stop (ADR 160): ask the collector holding attempt `attempt` to end it now, as the
   * cancellation just requested would once a heartbeat response brought it there (placed sessions
   * heartbeat only every SESSION_PLACED_HEARTBEAT_THROTTLE_MS). Not awaited and its failure
   * ignored: the cancellation stays requested and its completion awaited (never two sessions per device).
   * Also for a collector reported lost: if it is alive after all (a lease that lapsed under load), its
   * attempt ends now instead of at its next heartbeat; if it is dead, the stop times out unstarted.
   */
  private stopLocally(taskQueue: string, attempt: number, lost: boolean): void {
    const reason = interruptionReason(this.m, lost);
    const direct = proxyActivities<LocalSessionActivities>({
      // A collector at COLLECTOR_MAX_SESSIONS has no activity slot free on its session queue (ADR 230).
      taskQueue: patched(STOP_QUEUE_PATCH) ? collectorStopQueue(taskQueue) : taskQueue,
      scheduleToStartTimeout: '10 seconds',
      startToCloseTimeout: '5 seconds',
      retry: { initialInterval: '1 second', maximumAttempts: 3 },
    });
    const input = { deviceId: this.input.deviceId, runId: workflowInfo().runId, attempt, reason };
    direct.endLocalSession.executeWithOptions({ summary: `end attempt ${attempt} here (${reason})` }, [input]).catch(() => undefined);
  }

  status(): DeviceSessionStatus {
    const m = this.m;
    const backoff = m.state === 'backoff' ? m.backoff : undefined;
    return {
      deviceId: this.input.deviceId,
      deviceName: this.input.deviceName,
      state: this.shown,
      since: this.since,
      detail: this.shownDetail,
      attempt: m.attempt,
      generation: m.carried.generation,
      lastPointAt: m.carried.lastPointAt,
      lastError: m.lastError,
      paused: m.carried.paused,
      recent: [...this.recent],
      encoding: this.encoding,
      capabilities: this.capabilities,
      failingSince: isoOf(m.carried.failingSince),
      nextRetryAt: backoff ? isoOf(backoff.at + backoff.ms) : undefined,
      backoffMs: backoff?.ms,
      parkedReason: m.carried.parked?.error,
    };
  }

  /** Apply an event; show the state when the action says so. Returns the action. */
  private step(event: MachineEvent): SessionAction {
    const { state, action } = decide(this.m, event, Math.random, () => patched('backoff-one-second-floor'));
    this.m = state;
    if (SHOWING_ACTIONS.has(action.type)) this.show();
    return action;
  }

  /** Show the machine's state: search attribute, recent changes, Temporal Web's current details. */
  private show(): void {
    const { state, detail, lastError, attempt, carried } = this.m;
    this.stateSeenRequests = this.requests;
    if (state !== this.shown || detail !== this.shownDetail) {
      this.recent.push({ state, at: Date.now(), detail: detail || undefined, backoffMs: state === 'backoff' ? this.m.backoff?.ms : undefined });
      if (this.recent.length > RECENT_STATES) this.recent.shift();
    }
    if (state !== this.shown) {
      this.shown = state;
      this.since = Date.now();
      upsertSearchAttributes([{ key: SA.SessionState, value: state }]);
    }
    this.shownDetail = detail;
    const where = this.device.address ? ` · ${this.device.address}` : '';
    const lines = [`**${state}**${detail ? ` — ${detail}` : ''}`, `${this.input.protocol}${where} · attempt ${attempt} · generation ${carried.generation}`];
    if (lastError && state !== 'streaming') lines.push(`last error: ${lastError.slice(0, 300)}`);
    setCurrentDetails(lines.join('\n\n'));
  }

  private installHandlers(): void {
    const rejectWhenStopping = () => {
      if (this.m.stopRequested) throw new Error('the session workflow is stopping');
    };
    const reconfigure = (req?: ReconfigureRequest) => {
      this.step({ type: 'reconfigure' });
      if (req?.deviceName && req.deviceName !== this.input.deviceName) {
        this.input.deviceName = req.deviceName;
        upsertSearchAttributes([{ key: SA.DeviceName, value: req.deviceName }]);
      }
    };
    const done = () => this.m.stopRequested || this.draining;
    /** True once the state machine showed a state after request number `seq` and `pred` holds. */
    const settledAfter = (seq: number, pred: () => boolean) => () => (this.stateSeenRequests >= seq && pred()) || done();

    setHandler(
      pauseUpdate,
      async (req) => {
        const alreadyPaused = this.m.state === 'paused';
        this.step({ type: 'pause', reason: req?.reason });
        const seq = ++this.requests;
        if (alreadyPaused) return this.status();
        // Acknowledged once the session has ended (WAIT_CANCELLATION_COMPLETED): no more points.
        await condition(settledAfter(seq, () => this.m.state === 'paused'));
        return this.status();
      },
      { validator: (req) => (validateRequest(req), rejectWhenStopping()), description: 'Stop collecting; returns once the session has ended.' },
    );
    setHandler(
      resumeUpdate,
      async () => {
        const idle = IDLE_STATES.has(this.m.state);
        this.step({ type: 'resume', now: Date.now() });
        const seq = ++this.requests;
        // From paused, parked, disabled or backoff: acknowledged once the next attempt starts.
        if (idle) await condition(settledAfter(seq, () => !IDLE_STATES.has(this.m.state) || this.m.carried.paused));
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
        if (this.m.state === 'paused' && this.m.carried.paused) return this.status();
        const target = this.m.carried.generation;
        // Acknowledged once a session with the new configuration started, or the state machine
        // settled in a state without one (paused, parked again, disabled, backing off).
        await condition(settledAfter(seq, () => (this.m.running?.generation ?? -1) >= target || IDLE_STATES.has(this.m.state)));
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
    setHandler(pauseSignal, (req) => void this.step({ type: 'pause', reason: req?.reason }));
    setHandler(resumeSignal, () => void this.step({ type: 'resume', now: Date.now() }));
    setHandler(reconfigureSignal, (req) => reconfigure(req));
    setHandler(stopSignal, () => void this.step({ type: 'stop' }));
    setHandler(sessionEventSignal, (event) => {
      if (!isCurrentAttempt(this.m, event?.attempt)) return; // a stale attempt
      // State only, no commands: replays of histories without these fields are unchanged (ADR 014).
      if (typeof event.encoding === 'string') this.encoding = event.encoding.slice(0, 100);
      if (event.capabilities) this.capabilities = event.capabilities;
      if (event.type === 'streaming') this.step({ type: 'streaming', attempt: event.attempt, now: Date.now(), detail: event.detail });
    });
    setHandler(collectorLostSignal, (lost) => {
      // State only, no commands; idempotent (the monitor signals each placement once, a repeat changes nothing).
      if (typeof lost?.taskQueue !== 'string' || this.lostQueues.some((l) => l.queue === lost.taskQueue)) return;
      this.lostQueues.push({ queue: lost.taskQueue, seq: ++this.lostSignals });
      if (this.lostQueues.length > LOST_QUEUES_KEPT) this.lostQueues.shift();
      this.keepPlacedAhead(lost.placed, 'monitor');
    });
    setHandler(statusQuery, () => this.status());
  }

  /** Read the device (memo, name); false when it no longer exists. */
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

  /** The interpreter: ask the machine, do what it says, tell it what happened. */
  async run(): Promise<void> {
    this.installHandlers();
    const { deviceId, deviceName, protocol } = this.input;
    upsertSearchAttributes([
      { key: SA.DeviceId, value: String(deviceId) },
      { key: SA.DeviceName, value: deviceName },
      { key: SA.Protocol, value: protocol },
    ]);
    let action = this.step({ type: 'described', exists: await this.describe(), initial: true });
    for (;;) {
      switch (action.type) {
        case 'start':
          action = this.step({ type: 'ended', outcome: await this.runAttempt(action), now: Date.now(), continueAsNewDue: this.shouldContinueAsNew() });
          continue;
        case 'describe':
          action = this.step({ type: 'described', exists: await this.describe() });
          continue;
        case 'acknowledge-pause':
        case 'park':
        case 'wait-enabled': {
          const waiting = action;
          await condition(() => waitOver(this.m, waiting, this.shouldContinueAsNew()));
          break;
        }
        case 'back-off': {
          const waiting = action;
          const summary = `backoff ${(action.delayMs / 1000).toFixed(1)} s before retry ${action.retry}`;
          await condition(() => waitOver(this.m, waiting, this.shouldContinueAsNew()), action.delayMs, { summary });
          break;
        }
        case 'restart': {
          const waiting = action;
          await condition(() => waitOver(this.m, waiting, this.shouldContinueAsNew()), action.delayMs, { summary: 'restart after a completed session' });
          break;
        }
        case 'continue-as-new':
          return this.continueAsNew();
        case 'stop':
          if (action.drain) await condition(allHandlersFinished);
          return;
        case 'fail-over':
        case 'next':
        case 'show':
        case 'none':
          break;
      }
      action = this.step({ type: 'next', continueAsNewDue: this.shouldContinueAsNew() });
    }
  }

  /** Run one session attempt until it ends or is interrupted (then cancel it and wait until it ended). */
  private async runAttempt(start: Extract<SessionAction, { type: 'start' }>): Promise<AttemptOutcome> {
    const { deviceId, deviceName, protocol } = this.input;
    const { attempt, generation, gapFrom, gapReason } = start;
    const scope = new CancellationScope();
    const summary = `${protocol} session · ${deviceName}${this.device.address ? ` @ ${this.device.address}` : ''} · attempt ${attempt}${generation ? ` · generation ${generation}` : ''}`;
    let sessions = this.sessions;
    let queue: string | undefined;
    if (this.m.opts.placement && patched(PLACEMENT_PATCH)) {
      const asked = this.lostSignals;
      const { ahead, refused } = this.takePlacedAhead();
      const placed =
        ahead && patched(ahead.by === 'monitor' ? PLACED_BY_MONITOR_PATCH : PLACED_BY_LEAVING_COLLECTOR_PATCH)
          ? ahead.placement
          : await this.placement.placeSession(deviceId, placementAskReason(this.previousAttempt, refused));
      // A collector whose lease lapsed and was renewed (alive after all, e.g. under load) keeps its
      // queue: when placement, asked after the loss was signalled, picks it again, it is live, not lost
      // (otherwise every attempt placed there would count as lost at once, round after round).
      const again = placed ? this.lostQueues.findIndex((l) => l.queue === placed.taskQueue && l.seq <= asked) : -1;
      if (again >= 0 && patched(PLACED_AGAIN_PATCH)) this.lostQueues.splice(again, 1);
      if (placed) {
        queue = placed.taskQueue;
        sessions = this.placedSessions(placed.taskQueue);
      }
    }
    const lost = () => queue !== undefined && this.lostQueues.some((l) => l.queue === queue);
    const lostOutcome = (): AttemptOutcome => ({ kind: 'error', type: 'TIMEOUT', message: `collector lost (lease of ${queue} lapsed)` });
    const running = scope.run(() => sessions.runDeviceSession.executeWithOptions({ summary }, [{ deviceId, generation, attempt, gapFrom, gapReason, leaseMs: this.m.opts.leaseMs }]));
    let outcome: AttemptOutcome | undefined;
    const settled = running.then(
      (result): AttemptOutcome => {
        if (result.reason === 'handover') this.keepPlacedAhead(result.next, 'leaving-collector');
        this.previousAttempt = { kind: 'result', reason: result.reason, next: result.next !== undefined };
        return (outcome = { kind: 'result', reason: result.reason, lastPointAt: result.lastPointAt, streamedUntil: result.streamedUntil, ...(result.pause ? { pause: result.pause } : {}) });
      },
      (error): AttemptOutcome => {
        const { timeout, ...failure } = describeFailure(error);
        outcome = { kind: 'error', ...failure, lastPointAt: heartbeatOf(error)?.lastPointAt };
        // Cancelled for a pause, reconfigure or stop: ended by request, not a break.
        this.previousAttempt = interrupted(this.m, generation, false)
          ? { kind: 'result', reason: 'interrupted' }
          : { kind: 'error', type: outcome.type, lost: lost(), ...(timeout ? { timeout } : {}) };
        return outcome;
      },
    );
    await Promise.race([settled, condition(() => lost() || interrupted(this.m, generation, this.shouldContinueAsNew()))]);
    if (!outcome) {
      scope.cancel();
      // Not to a queue reported lost (ADR 231): a dead collector's stop only timed out unstarted (a workflow
      // task 10 s later); a live one sees the session placed elsewhere at its next lease renewal (ADR 200).
      if (queue !== undefined && patched(DIRECT_STOP_PATCH) && !(lost() && patched(NO_STOP_TO_LOST_PATCH))) this.stopLocally(queue, attempt, lost());
      // A dead collector never confirms the cancellation: its lapsed lease ends the wait (ADR 110).
      if (queue === undefined) await settled;
      else if (!lost()) await Promise.race([settled, condition(lost)]);
      if (!outcome) {
        this.previousAttempt = { kind: 'error', type: 'TIMEOUT', lost: true };
        return lostOutcome();
      }
    }
    return outcome!;
  }

  /** Keep a placement made ahead for the next attempt (state only: replays of histories without it are unchanged). */
  private keepPlacedAhead(placed: SessionPlacement | undefined, by: 'monitor' | 'leaving-collector'): void {
    if (typeof placed?.taskQueue !== 'string' || typeof placed.collectorId !== 'string') return;
    this.placedAhead = { placement: { taskQueue: placed.taskQueue, collectorId: placed.collectorId }, at: Date.now(), by };
  }

  /** The placement made ahead for this attempt, once, if core/placement.ts's placedAheadFor still takes it. */
  private takePlacedAhead(): ReturnType<typeof placedAheadFor> {
    const ahead = this.placedAhead;
    this.placedAhead = undefined;
    const lost = this.lostQueues.map((l) => l.queue);
    return placedAheadFor(ahead, lost, Date.now(), () => patched(PLACED_AHEAD_VALID_PATCH));
  }

  private shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > this.m.opts.maxHistoryEvents;
  }

  private async continueAsNew(): Promise<void> {
    this.draining = true;
    await condition(allHandlersFinished);
    await continueAsNew<typeof deviceSessionWorkflow>({ ...this.input, carried: this.m.carried });
  }
}

function isoOf(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
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

/** The failure type and a readable message of a failed attempt (and, for a timeout, its kind: heartbeat, schedule-to-start, …). */
function describeFailure(error: unknown): { type?: string; message: string; timeout?: string } {
  let cause: unknown = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
  if (cause instanceof TimeoutFailure) {
    const kind = String(cause.timeoutType).toLowerCase().replace('timeout_type_', '').replace(/_/g, '-');
    return { type: 'TIMEOUT', message: `collector lost (${kind} timeout)`, timeout: kind };
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
