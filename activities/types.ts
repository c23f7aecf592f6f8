/**
 * Activity signatures the workflows call. Workflows import this file as types
 * only; the workers wire the implementations built by the factories.
 */
import type { ProbeDeviceInput, ProbeDeviceResult, RunSessionInput, RunSessionResult, SessionPlacement } from '../core/names';
import type { DeviceSummary } from '../storage/devices';

/** Activities on the `device-sessions` task queue (collector workers). */
export interface SessionActivities {
  /** Hold the device's gNMI stream or NETCONF session until cancelled, lease end, or failure. */
  runDeviceSession(input: RunSessionInput): Promise<RunSessionResult>;
}

/** Test connection, also on the `device-sessions` task queue (activities/probe.ts; name PROBE_ACTIVITY). */
export interface ProbeActivities {
  probeDevice(input: ProbeDeviceInput): Promise<ProbeDeviceResult>;
}

/** Session placement, on the `control` task queue (activities/placement.ts, ADR 110). */
export interface PlacementActivities {
  /** The collector (task queue) the device's next attempt runs on; undefined: none registered, use the shared queue. */
  placeSession(deviceId: number): Promise<SessionPlacement | undefined>;
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
