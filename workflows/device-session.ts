/**
 * The device-session workflow: one per device. Every decision (retry at once,
 * back off and for how long, park, restart, continue-as-new, stop, acknowledge
 * a pause) is made by the pure state machine in core/session-machine.ts; where
 * attempts run (lost queues, placements made ahead, why placement is asked, how
 * a settled or lost attempt counts) by core/session-placement-memory.ts; what is
 * shown (status, recent changes, current details) by core/session-display.ts.
 * This file interprets them with Temporal: the session activity in a
 * cancellation scope, timers, search attributes, current details, memo,
 * continue-as-new, and the update / signal / query handlers. Deterministic:
 * imports activity types only; Date.now() and Math.random() are the workflow's
 * replay-safe versions, and every `patched()` marker is asked here, exactly
 * where it always was, so recorded histories replay.
 */
import {
  CancellationScope,
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
} from '../core/names';
import {
  IDLE_STATES,
  SHOWING_ACTIONS,
  acknowledged,
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
import { SessionPlacementMemory } from '../core/session-placement-memory';
import { SessionDisplay, validateInput, validateReconfigure, validateRequest } from '../core/session-display';

/** `patched()` id of per-collector placement (ADR 110): histories recorded before it replay on the shared queue. */
const PLACEMENT_PATCH = 'collector-placement';
/** `patched()` id of the direct stop of a cancelled placed session (ADR 160): histories recorded before it replay without it. */
const DIRECT_STOP_PATCH = 'direct-session-stop';
/** `patched()` id of forgetting a lost queue that placement found live again (ADR 160). */
const PLACED_AGAIN_PATCH = 'lost-queue-placed-again';
/** `patched()` ids of the next attempt going where the monitor placed a lost session, or the leaving collector its session (ADR 200), without the placement activity. */
const PLACED_AHEAD_PATCHES = { monitor: 'placed-by-monitor', 'leaving-collector': 'placed-by-leaving-collector' } as const;
/** `patched()` id of the direct stop on the collector's stop queue (ADR 230), not the queue whose slots its sessions hold. */
const STOP_QUEUE_PATCH = 'direct-stop-own-slots';
/** `patched()` id of no direct stop to a queue reported lost (ADR 231): its row names the session's new collector, so a live one ends it at its next renewal. */
const NO_STOP_TO_LOST_PATCH = 'no-direct-stop-to-lost-queue';
/** `patched()` id of ADR 245: a placement made ahead stays good up to PLACED_AHEAD_VALID_MS while its collector is not reported lost. */
const PLACED_AHEAD_VALID_PATCH = 'placed-ahead-valid-10-min';
/** `patched()` id of ADR 292: an attempt placement could not place (no live collector) says so, and its collector moves it onto placement. */
const UNPLACED_FLAG_PATCH = 'unplaced-attempt-flag';

class DeviceSession {
  private m: SessionMachine;
  /** The state last shown (status query, Temporal Web) and the placement memory: plain state, core/. */
  private readonly display = new SessionDisplay(Date.now());
  private readonly where = new SessionPlacementMemory();
  /** Set while waiting for handlers before continue-as-new: pending updates acknowledge. */
  private draining = false;
  /** Requests (pause, resume, reconfigure) received, and how many had been seen at the last shown state. */
  private requests = 0;
  private stateSeenRequests = 0;
  private device: DeviceSummary = { exists: true, enabled: true };
  private readonly sessions: ActivityInterfaceFor<SessionActivities>;
  private readonly control: ActivityInterfaceFor<ControlActivities>;
  private readonly placement: ActivityInterfaceFor<PlacementActivities>;

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
   * The direct stop (ADR 160): ask the collector holding attempt `attempt` to end it now, not at its next heartbeat
   * response (placed sessions heartbeat seldom). Not awaited, its failure ignored: the cancellation stays requested
   * and its completion awaited (never two sessions per device). A dead collector's stop times out unstarted.
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
    return this.display.status(this.m, this.input);
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
    this.stateSeenRequests = this.requests;
    const { stateChanged, details } = this.display.show(this.m, Date.now(), { protocol: this.input.protocol, address: this.device.address });
    if (stateChanged) upsertSearchAttributes([{ key: SA.SessionState, value: this.m.state }]);
    setCurrentDetails(details);
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
        await condition(settledAfter(seq, () => acknowledged(this.m, { type: 'pause' })));
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
        if (idle) await condition(settledAfter(seq, () => acknowledged(this.m, { type: 'resume' })));
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
        const request = { type: 'reconfigure', generation: this.m.carried.generation } as const;
        await condition(settledAfter(seq, () => acknowledged(this.m, request)));
        return this.status();
      },
      { validator: (req) => (validateReconfigure(req), rejectWhenStopping()), description: 'Restart the session with the device configuration now in the database.' },
    );
    setHandler(pauseSignal, (req) => void this.step({ type: 'pause', reason: req?.reason }));
    setHandler(resumeSignal, () => void this.step({ type: 'resume', now: Date.now() }));
    setHandler(reconfigureSignal, (req) => reconfigure(req));
    setHandler(stopSignal, () => void this.step({ type: 'stop' }));
    setHandler(sessionEventSignal, (event) => {
      if (!isCurrentAttempt(this.m, event?.attempt)) return; // a stale attempt
      // State only, no commands: replays of histories without these fields are unchanged (ADR 014).
      this.display.reported(event);
      if (event.type === 'streaming') this.step({ type: 'streaming', attempt: event.attempt, now: Date.now(), detail: event.detail });
    });
    // State only, no commands; idempotent (the monitor signals each placement once, a repeat changes nothing).
    setHandler(collectorLostSignal, (lost) => this.where.collectorLost(lost?.taskQueue, lost?.placed, Date.now()));
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
    let unplaced = false;
    if (this.m.opts.placement && patched(PLACEMENT_PATCH)) {
      const { ahead, refused, asked } = this.where.takePlacedAhead(Date.now(), () => patched(PLACED_AHEAD_VALID_PATCH));
      const placed = ahead && patched(PLACED_AHEAD_PATCHES[ahead.by]) ? ahead.placement : await this.placement.placeSession(deviceId, this.where.askReason(refused));
      if (placed) {
        this.where.placedOn(placed.taskQueue, asked, () => patched(PLACED_AGAIN_PATCH));
        queue = placed.taskQueue;
        sessions = this.placedSessions(placed.taskQueue);
      } else {
        // No collector was live (the fleet started before its collectors registered): the shared queue, flagged,
        // so the collector running it moves it onto placement once another collector is live (ADR 292).
        unplaced = patched(UNPLACED_FLAG_PATCH);
      }
    }
    const lost = () => this.where.isLost(queue);
    const input = { deviceId, generation, attempt, gapFrom, gapReason, leaseMs: this.m.opts.leaseMs, ...(unplaced ? { unplaced } : {}) };
    const running = scope.run(() => sessions.runDeviceSession.executeWithOptions({ summary }, [input]));
    let outcome: AttemptOutcome | undefined;
    const settled = running.then(
      (result) => (outcome = this.where.settled(result, Date.now())),
      // Cancelled for a pause, reconfigure or stop: ended by request, not a break.
      (error) => (outcome = this.where.failed(error, interrupted(this.m, generation, false), lost())),
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
      if (!outcome) return this.where.lostAttempt(queue);
    }
    return outcome!;
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

/** One workflow per device: holds the device's telemetry session durably. */
export async function deviceSessionWorkflow(input: DeviceSessionInput): Promise<void> {
  validateInput(input);
  await new DeviceSession(input).run();
}
