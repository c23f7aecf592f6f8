/**
 * Names that cross process boundaries: task queues, workflow ids, search
 * attributes, and the device-session workflow's updates, signals and queries.
 * The workers, the web app and the ctl command all import this one module.
 * Safe inside workflow code (no Node built-ins).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Task queues. */
export const TASK_QUEUES = {
  /** Workflows and short activities. */
  control: 'control',
  /** Long-running protocol sessions and the ingest batcher. */
  sessions: 'device-sessions',
  /**
   * Bulk-action workflows and their activities (ADR 170), polled by the control worker too: on
   * `control` they would wait behind the thousands of session workflow tasks a bulk pause makes.
   */
  bulk: 'control-bulk',
} as const;

/**
 * Task queue of one collector incarnation (issue 20, ADR 110): placed sessions are scheduled
 * here, so the placement decision, not whichever worker polls first, picks the collector.
 */
export function collectorTaskQueue(collectorId: string, incarnation: string): string {
  return `${TASK_QUEUES.sessions}/${collectorId}/${incarnation}`;
}

/**
 * A collector's stop queue (ADR 230): the direct stop of its placed sessions (ADR 160) runs here, on a
 * worker of its own, so it never waits for an activity slot that its sessions hold for hours.
 */
export function collectorStopQueue(collectorQueue: string): string {
  return `${collectorQueue}/stops`;
}

/** Workflow id of a device's session workflow. */
export function deviceSessionWorkflowId(deviceId: number): string {
  return `device-session/${deviceId}`;
}

/** Device id from a session workflow id, or undefined. */
export function deviceIdFromWorkflowId(workflowId: string): number | undefined {
  const m = /^device-session\/(\d+)$/.exec(workflowId);
  return m ? Number(m[1]) : undefined;
}

/** Workflow type names (the exported workflow functions in workflows/index.ts). */
export const WORKFLOW_TYPES = {
  deviceSession: 'deviceSessionWorkflow',
  fleetReconcile: 'fleetReconcileWorkflow',
  storageMaintenance: 'storageMaintenanceWorkflow',
  /** Test connection (device form): one short probe activity on the collectors' queue. */
  deviceProbe: 'deviceProbeWorkflow',
  /** One per alert rule (issue 18): evaluates it on durable timers, notifies transitions. */
  alertRule: 'alertRuleWorkflow',
  /** Run by the alert-reconcile Schedule: rule workflows match the alert_rules table. */
  alertReconcile: 'alertReconcileWorkflow',
  /** One per confirmed bulk action (issue 19, ADR 170): runs it to the end whichever process dies. */
  bulkAction: 'bulkActionWorkflow',
} as const;

/**
 * Workflow id of a bulk action's runner. The record's id plus its start time: bulk ids are per
 * database, so two databases on one Temporal namespace (test suites) never share a workflow.
 */
export function bulkActionWorkflowId(bulkId: number, startedAtMs: number): string {
  return `bulk-action/${bulkId}-${startedAtMs.toString(36)}`;
}

/** Input of the bulk-action workflow: the bulk_actions record it runs (its plan is in the database). */
export interface BulkActionInput {
  bulkId: number;
  /** Devices driven through Temporal at once; the control worker's BULK_CONCURRENCY when absent. */
  concurrency?: number;
}

/** What a finished bulk action reports (its per-device results are in bulk_actions). */
export interface BulkActionSummary {
  bulkId: number;
  count: number;
  ok: number;
  failed: number;
  /** Calls made to Temporal by the last attempt of the runner (signals, updates, starts, visibility pages). */
  temporalCalls: number;
}

/** Activity type of the Test connection probe (activities/probe.ts; task queue `device-sessions`). */
export const PROBE_ACTIVITY = 'probeDevice';

/** Workflow id of one Test connection run (a fresh nonce each time; nothing else is kept). */
export function deviceProbeWorkflowId(nonce: string): string {
  return `device-probe/${nonce}`;
}

/** Id of the schedule that reconciles workflows with the devices table. */
export const RECONCILE_SCHEDULE_ID = 'fleet-reconcile';
/** Id of the schedule that keeps partitions and rollups current (native PostgreSQL mode). */
export const MAINTENANCE_SCHEDULE_ID = 'storage-maintenance';

/** Id of the schedule that reconciles alert-rule workflows with the alert_rules table. */
export const ALERT_RECONCILE_SCHEDULE_ID = 'alert-reconcile';

/** Workflow id of an alert rule's workflow. */
export function alertRuleWorkflowId(ruleId: number): string {
  return `alert-rule/${ruleId}`;
}

/** Rule id from an alert-rule workflow id, or undefined. */
export function ruleIdFromWorkflowId(workflowId: string): number | undefined {
  const m = /^alert-rule\/(\d+)$/.exec(workflowId);
  return m ? Number(m[1]) : undefined;
}

/** Tunables of an alert-rule workflow (workflows cannot read the environment). */
export interface AlertRuleOptions {
  /** Continue-as-new after this many evaluations (also when Temporal suggests it). */
  maxEvaluations?: number;
  /** Resolved instances stay listed this long. */
  keepResolvedMs?: number;
  /** Delivery: give up on one notification after this many attempts (the activity retry policy). */
  deliveryMaxAttempts?: number;
  /** Delivery: longest wait between attempts. */
  deliveryMaxIntervalMs?: number;
  /** Delivery: one attempt's limit (the HTTP request's own timeout is shorter). */
  deliveryAttemptTimeoutMs?: number;
}

/** Input of the alert-rule workflow: the rule (no secrets), and state carried across continue-as-new. */
export interface AlertRuleWorkflowInput {
  rule: import('./alert-rules').AlertRuleDefinition;
  options?: AlertRuleOptions;
  carried?: {
    instances: Record<string, import('./alert-machine').AlertInstance>;
    /** The whole rule is silenced until then (ms), by whom. */
    silencedUntil?: number;
    silencedBy?: string;
    evaluations: number;
  };
}

/** What the alert-rule status query and its updates return. */
export interface AlertRuleStatus {
  ruleId: number;
  name: string;
  version: number;
  enabled: boolean;
  evaluations: number;
  lastEvaluatedAt?: number;
  lastError?: string;
  silencedUntil?: number;
  counts: { pending: number; firing: number; resolved: number };
  instances: Array<import('./alert-machine').AlertInstance>;
  /** Notifications being delivered now. */
  deliveriesInFlight: number;
}

/** Replace the rule's definition (edit, enable, disable): instance state is kept. */
export const alertEditUpdate = defineUpdate<AlertRuleStatus, [import('./alert-rules').AlertRuleDefinition]>('editRule');
/** Silence the whole rule until a time (ms; 0 or past: lift it); transitions are recorded, not delivered. */
export const alertSilenceUpdate = defineUpdate<AlertRuleStatus, [{ until: number; by: string }]>('silenceRule');
/** Evaluate now (a silence or contact point changed). */
export const alertEvaluateSignal = defineSignal<[]>('evaluateNow');
/** End the rule's workflow (rule deleted): firing instances resolve first. */
export const alertStopSignal = defineSignal<[{ reason?: string }]>('stopRule');
export const alertStatusQuery = defineQuery<AlertRuleStatus>('alertStatus');

/** Search attributes the workflows keep current. */
export const SA = {
  DeviceId: defineSearchAttributeKey('DeviceId', SearchAttributeType.KEYWORD),
  DeviceName: defineSearchAttributeKey('DeviceName', SearchAttributeType.KEYWORD),
  Protocol: defineSearchAttributeKey('Protocol', SearchAttributeType.KEYWORD),
  SessionState: defineSearchAttributeKey('SessionState', SearchAttributeType.KEYWORD),
} as const;

/** `name=Type` pairs for `temporal server start-dev --search-attribute` and operator registration. */
export const SEARCH_ATTRIBUTE_DEFINITIONS: ReadonlyArray<readonly [string, 'Keyword']> = [
  ['DeviceId', 'Keyword'],
  ['DeviceName', 'Keyword'],
  ['Protocol', 'Keyword'],
  ['SessionState', 'Keyword'],
];

/** States a device session can be in (the SessionState search attribute). */
export const SESSION_STATES = [
  'connecting',
  'streaming',
  'backoff',
  'paused',
  'auth-failed',
  'config-invalid',
  'disabled',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** Input of the device-session workflow: ids and non-secret settings only. */
export interface DeviceSessionInput {
  deviceId: number;
  deviceName: string;
  protocol: 'gnmi' | 'netconf';
  options?: DeviceSessionOptions;
  /** Carried across continue-as-new. */
  carried?: CarriedSessionState;
}

/** State that survives continue-as-new. */
export interface CarriedSessionState {
  paused: boolean;
  /** Why it was paused (shown in Temporal Web). */
  pausedReason?: string;
  /** Configuration generation; bumped by reconfigure so the running session restarts. */
  generation: number;
  lastPointAt?: number;
  /** Set when the previous attempt broke: the gap starts here. */
  brokenSince?: number;
  brokenReason?: string;
  attempts: number;
  /** Parked after a non-retryable failure ('auth-failed' | 'config-invalid'), with the error. */
  parked?: { state: 'auth-failed' | 'config-invalid'; error: string };
  disabled?: boolean;
  /** Workflow time of the first failure since the device last streamed (ms); cleared when points arrive. */
  failingSince?: number;
}

/** What the status query returns. */
export interface DeviceSessionStatus {
  deviceId: number;
  state: SessionState;
  since: number;
  attempt: number;
  generation: number;
  lastPointAt?: number;
  lastError?: string;
  paused: boolean;
  /** Device name as the workflow knows it. */
  deviceName?: string;
  /** One readable line about the current state (also Temporal Web's current details). */
  detail?: string;
  /** Recent state changes, newest last (this run only). */
  recent?: Array<{ state: SessionState; at: number; detail?: string; /** `backoff`: the delay chosen, ms. */ backoffMs?: number }>;
  /** gNMI: encoding(s) the latest session settled on, e.g. `JSON_IETF` (ADR 014). */
  encoding?: string;
  /** gNMI: whether the device answered Capabilities in the latest session (`unimplemented`, `timeout`: it subscribed without). */
  capabilities?: GnmiCapabilitiesState;
  /** ISO time of the first failure since the device last streamed; absent while it works. */
  failingSince?: string;
  /** In `backoff`: ISO time the next attempt starts (a resume or reconfigure starts it sooner). */
  nextRetryAt?: string;
  /** In `backoff`: the delay chosen for this retry, in ms. */
  backoffMs?: number;
  /** In `auth-failed` / `config-invalid`: the error that parked the session (a device edit, resume or reconfigure unparks it). */
  parkedReason?: string;
}

/** Whether a gNMI device answered Capabilities: subscribing without an answer is allowed (ADR 014). */
export type GnmiCapabilitiesState = 'answered' | 'unimplemented' | 'timeout';

/**
 * ApplicationFailure type of a session attempt ended because its collector is
 * shutting down (SIGTERM): the workflow retries at once, without backoff.
 */
export const COLLECTOR_LEAVING = 'COLLECTOR_LEAVING';

/** Reconfigure payload: the device's settings or profiles changed in the database. */
export interface ReconfigureRequest {
  reason?: string;
  deviceName?: string;
}

export const pauseUpdate = defineUpdate<DeviceSessionStatus, [{ reason?: string }]>('pause');
export const resumeUpdate = defineUpdate<DeviceSessionStatus, [{ reason?: string }]>('resume');
export const reconfigureUpdate = defineUpdate<DeviceSessionStatus, [ReconfigureRequest]>('reconfigure');
export const pauseSignal = defineSignal<[{ reason?: string }]>('pauseSignal');
export const resumeSignal = defineSignal<[{ reason?: string }]>('resumeSignal');
export const reconfigureSignal = defineSignal<[ReconfigureRequest]>('reconfigureSignal');
/** Ends the workflow (device deleted). */
export const stopSignal = defineSignal<[{ reason?: string }]>('stopSignal');
export const statusQuery = defineQuery<DeviceSessionStatus>('status');

/** Sent by the control worker's monitor when a collector's lease lapsed (ADR 110): sessions placed on `taskQueue` fail over at once. */
export interface CollectorLostPayload {
  taskQueue: string;
  collectorId: string;
  /** Where the monitor placed the session meanwhile (ADR 200): its next attempt runs there without asking placement. */
  placed?: SessionPlacement;
}
export const collectorLostSignal = defineSignal<[CollectorLostPayload]>('collectorLost');

/** Where the placement activity put a session (absent: no registered collector, the shared queue). */
export interface SessionPlacement {
  collectorId: string;
  taskQueue: string;
}

/** Name of the PostgreSQL NOTIFY channel rung after each flush. */
export const SAMPLES_CHANNEL = 'samples_ready';

/** NOTIFY channel rung when alert transitions of devices' instances are recorded (payload: JSON device names, or `*`); live chart markers (ADR 226). */
export const ALERT_MARKERS_CHANNEL = 'alert_markers';

/** What a session activity tells its workflow (a signal, sent only on state changes). */
export interface SessionEventPayload {
  /** `negotiated`: the encoding or Capabilities outcome became known after `streaming` was sent. */
  type: 'connected' | 'streaming' | 'negotiated';
  attempt: number;
  at: number;
  detail?: string;
  /** gNMI encoding(s) in use (ADR 014). */
  encoding?: string;
  capabilities?: GnmiCapabilitiesState;
}
export const sessionEventSignal = defineSignal<[SessionEventPayload]>('sessionEvent');

/** Input of the session activity. */
export interface RunSessionInput {
  deviceId: number;
  generation: number;
  /** Workflow-level attempt number (1-based); echoed in session events. */
  attempt: number;
  /** When the previous attempt broke, the last point before the break (ms). */
  gapFrom?: number;
  gapReason?: string;
  leaseMs?: number;
  /** Its workflow places sessions but no collector was live when it asked: run on the shared queue until its collector moves it onto placement (ADR 292). */
  unplaced?: boolean;
}

/**
 * Input of `endLocalSession` (ADR 160): end attempt `attempt` of workflow run `runId` on the collector
 * running it, as its cancellation would. Any other attempt (a newer one, another run's) is left alone.
 */
export interface EndLocalSessionInput {
  deviceId: number;
  runId: string;
  attempt: number;
  /** Why the workflow cancelled it: pause, reconfigure, stop, history limit. */
  reason: string;
}

/** How a session activity ended without failing. */
export interface RunSessionResult {
  /**
   * `handover`: the collector is leaving (SIGTERM); the attempt ends cleanly and another collector
   * takes over at once, the gap since `lastPointAt` recorded as for COLLECTOR_LEAVING (issue 21).
   * `paused`: a bulk pause ended the attempt where it ran (ADR 250); the workflow pauses (`pause`).
   */
  reason: 'lease' | 'disabled' | 'deleted' | 'completed' | 'handover' | 'paused';
  lastPointAt?: number;
  points: number;
  /** With `handover` on SIGTERM: where the leaving collector placed the next attempt (ADR 200), so it needs no placement round trip. */
  next?: SessionPlacement;
  /** With `handover`: when the attempt, streaming until then, ended here (ms). Its data is complete up to then, so a next stream that began before records no gap (make before break, ADR 236). */
  streamedUntil?: number;
  /** With `paused`: who paused it (the pause reason, e.g. `bulk pause (#12) by admin@example.com`) and when the collector heard it (ms). */
  pause?: BulkPauseEnding;
}

/** A pause delivered to the collector running the attempt (ADR 250), as the attempt's result reports it. */
export interface BulkPauseEnding {
  reason: string;
  /** The collector's clock when it ended the attempt: a resume the workflow saw later wins. */
  at: number;
}

/** Heartbeat details of a session attempt (also read from a timed-out attempt). */
export interface SessionHeartbeat {
  attempt: number;
  connectedAt?: number;
  lastPointAt?: number;
  points: number;
  /** gNMI encoding(s) the device accepted, e.g. `JSON_IETF`, or `JSON_IETF, PROTO` across profiles. */
  encoding?: string;
  /** gNMI: whether Capabilities was answered. */
  capabilities?: GnmiCapabilitiesState;
  /** `connectedAt` and `lastPointAt` as ISO times, for people reading Temporal Web (the numbers are what code reads). */
  connected?: string;
  lastPoint?: string;
}

/** Tunables of the workflow, set by whoever starts it (workflows cannot read the environment). */
export interface DeviceSessionOptions {
  heartbeatTimeoutMs?: number;
  leaseMs?: number;
  maxBackoffMs?: number;
  /** Continue-as-new when history grows past this many events (also when Temporal suggests it). */
  maxHistoryEvents?: number;
  /** First retry delay after a broken session (doubles per failure, jittered, capped by maxBackoffMs; the window never starts below 1 s — ADR 042). */
  initialBackoffMs?: number;
  /**
   * Place each attempt on a chosen collector's own task queue (ADR 110); false (the default, and
   * workflows started before issue 20) keeps the shared `device-sessions` queue.
   */
  placement?: boolean;
  /** Heartbeat timeout of placed attempts: their collector's lease detects its death, heartbeats carry progress. */
  placedHeartbeatTimeoutMs?: number;
  /** A placed attempt not picked up within this long (its collector died meanwhile) is placed again. */
  placementStartTimeoutMs?: number;
}

/**
 * Input of the Test connection probe (ADR 091): the form's unsaved, non-secret settings;
 * secrets typed in the form only as `sealedSecrets` (sealed with the secrets keyring, opened
 * by the collector); blank secrets of a saved device are read from the database by the activity.
 */
export interface ProbeDeviceInput {
  /** The saved device whose stored secrets fill blank fields (absent for a new device). */
  deviceId?: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
  host: string;
  port: number;
  username?: string;
  /** Settings as validated by core/device.ts (plain objects; no secrets in them). */
  gnmi: unknown;
  netconf: unknown;
  /** Secrets typed in the form, sealed (base64 JSON of a SealedSecret); never clear text. */
  sealedSecrets?: string;
  /** Ignore stored secrets (the form's "forget stored credentials"). */
  clearSecrets?: boolean;
  /** The profile whose first sample is fetched (the first one chosen in the form). */
  profileId?: number;
  /** Give up after this long (ms). */
  timeoutMs: number;
}

/** What the probe found; nothing of it is stored. */
export interface ProbeDeviceResult {
  ok: boolean;
  /** Milliseconds from start to the answer or the failure. */
  elapsedMs: number;
  /** gNMI Capabilities / NETCONF hello, as the session reported it. */
  connected?: string;
  /** gNMI: encoding chosen and whether Capabilities was answered. */
  negotiated?: string;
  /** The first sample of the profile. */
  sample?: { path: string; value: string; at: string };
  profileName?: string;
  /** Failure code (SessionError code, TIMEOUT or NO_PROFILE) and words. */
  code?: string;
  error?: string;
  /**
   * NETCONF: the SSH host key the device presented, beside the pinned one: `unknown` (none is
   * pinned: the operator may pin it, ADR 127), `changed` (refused), `pinned` (they match).
   */
  hostKey?: { presented: string; pinned?: string; status: 'unknown' | 'changed' | 'pinned' };
}
