/**
 * Activity signatures the workflows call. Workflows import this file as types
 * only; the workers wire the implementations built by the factories.
 */
import type { EndLocalSessionInput, ProbeDeviceInput, ProbeDeviceResult, RunSessionInput, RunSessionResult, SessionHeartbeat, SessionPlacement } from '../core/names';
import type { DeviceSummary, SessionDevice } from '../storage/devices';
import type { PlacementAskReason } from '../core/placement';
import type { PointSink, SessionEvent } from '../core/session';
import type { AlertEvaluation } from '../core/alert-machine';
import type { AlertNotification } from '../core/alert-notification';

/** Activities on the `device-sessions` task queue (collector workers). */
export interface SessionActivities {
  /** Hold the device's gNMI stream or NETCONF session until cancelled, lease end, or failure. */
  runDeviceSession(input: RunSessionInput): Promise<RunSessionResult>;
}

/**
 * The direct stop (ADR 160), on the collector's own task queue next to the session it ends: the
 * workflow schedules it when it cancels a placed session, so the cancellation does not wait for a
 * heartbeat response. `ended`: the attempt was running here and is ending; `not-running`: it is not
 * (or not yet: it is then ended as soon as it starts here).
 */
export interface LocalSessionActivities {
  endLocalSession(input: EndLocalSessionInput): Promise<'ended' | 'not-running'>;
}

/** What one session attempt needs of the activity it runs in: the session activity builds it from Temporal's activity context. */
export interface SessionAttemptHost {
  /** Progress details for the workflow and Temporal Web (the worker throttles what reaches the server). */
  heartbeat(details: SessionHeartbeat): void;
  /**
   * Hand progress to `heartbeat` at most this often, ms; every heartbeat tick when absent. The worker sends at most one
   * heartbeat per throttle interval, with the newest details, so handing them over more often only replaces details not yet
   * sent, and each hand-over costs a call into the SDK's native core (ADR 294).
   */
  readonly heartbeatRecordEveryMs?: number;
  /** Aborted when Temporal cancels the attempt; the reason's message says why (CANCELLED, WORKER_SHUTDOWN, NOT_FOUND, TIMED_OUT). */
  readonly cancellation: AbortSignal;
  readonly workflowId?: string;
  readonly runId?: string;
}

/** The collector's session runner (workers/collector-session-runner.ts), as the session activity drives it. */
export interface SessionRunner {
  /** One attempt of a device session, until it ends (see SessionActivities.runDeviceSession). */
  run(input: RunSessionInput, host: SessionAttemptHost): Promise<RunSessionResult>;
  /** The direct stop of one attempt (see LocalSessionActivities.endLocalSession). */
  endLocal(input: EndLocalSessionInput): Promise<'ended' | 'not-running'>;
}

/** Where an adopted warm stream's points and events go: the adopting attempt's own handlers. */
export interface StreamTarget {
  sink: PointSink;
  onEvent(event: SessionEvent): void;
}

/** A stream the collector dialled on a hand-over before its attempt came (ADR 235), as the session activity adopts it. */
export interface WarmStreamHandle {
  readonly startedAt: number;
  /** Points received before adoption. */
  readonly points: number;
  readonly firstPointAt?: number;
  readonly lastPointAt?: number;
  /** The protocol run: resolves when the stream ended as asked, rejects when the device broke it. */
  readonly done: Promise<void>;
  attach(target: StreamTarget): void;
  stop(reason?: unknown): void;
}

/** The collector's warm streams (workers/collector-warm-sessions.ts): claimed when an attempt begins, adopted once it loaded its device, released when it ends. */
export interface WarmStreams {
  claim(deviceId: number): WarmStreamHandle | undefined;
  adopt(stream: WarmStreamHandle | undefined, loaded: SessionDevice): WarmStreamHandle | undefined;
  release(deviceId: number): void;
}

/** Test connection, also on the `device-sessions` task queue (activities/probe.ts; name PROBE_ACTIVITY). */
export interface ProbeActivities {
  probeDevice(input: ProbeDeviceInput): Promise<ProbeDeviceResult>;
}

/** Session placement, on the `control` task queue (activities/placement.ts, ADR 110). */
export interface PlacementActivities {
  /** The collector (task queue) the device's next attempt runs on; undefined: none registered, use the shared queue. */
  placeSession(deviceId: number, reason?: PlacementAskReason): Promise<SessionPlacement | undefined>;
}

/** A device as the control side sees it (no secrets). */
export type { DeviceSummary } from '../storage/devices';

/** Activities on the `control` task queue (control worker). */
export interface ControlActivities {
  describeDevice(deviceId: number): Promise<DeviceSummary>;
  /** Start, reconfigure or stop session workflows so they match the devices table. */
  reconcileFleet(): Promise<ReconcileReport>;
}

/** What a reconciliation did. */
export interface ReconcileReport {
  /** Devices in the table. */
  ensured: number;
  /** Workflows started because none ran. */
  started: number;
  /** Workflows told to reload their device (disabled, enabled or renamed meanwhile). */
  reconfigured: number;
  /** Workflows ended because their device is gone. */
  stopped: number;
}

/** What one evaluation of an alert rule found (query/alert-evaluation.ts), and one notification to deliver. */
export type { AlertEvaluation } from '../core/alert-machine';
export type { AlertNotification } from '../core/alert-notification';

/** What an alert reconciliation did. */
export interface AlertReconcileReport {
  rules: number;
  started: number;
  updated: number;
  stopped: number;
}

/** Alerting activities on the `control` task queue (issue 18). */
export interface AlertActivities {
  /**
   * Evaluate a rule: a fleet query (threshold), newest samples (absence), the session-state mirror (session).
   * With `step.at` (the interval boundary the workflow slept to, ADR 190) the data is read up to that time and
   * rules asking the same question at the same step share one answer; without it, up to now, unshared.
   * `step.dueAt`: when the workflow woke for it (the step plus the rule's phase, ADR 225), for the lateness figures.
   */
  evaluateAlertRule(rule: import('../core/alert-rules').AlertRuleDefinition, step?: { at: number; dueAt?: number }): Promise<AlertEvaluation>;
  /** Mirror the rule's instances and record its transitions (idempotent). */
  recordAlertState(input: {
    ruleId: number;
    instances: import('../core/alert-machine').AlertInstance[];
    transitions: Array<import('../core/alert-machine').AlertTransition & { silenced: boolean }>;
  }): Promise<void>;
  /** POST one transition to a webhook contact point (signed, idempotency key in header and body); each attempt recorded. */
  deliverAlertNotification(n: AlertNotification): Promise<{ status: number; attempt: number }>;
  /** Start, update or stop alert-rule workflows so they match the alert_rules table. */
  reconcileAlertRules(): Promise<AlertReconcileReport>;
}
