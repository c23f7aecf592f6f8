/**
 * Test connection (ADR 091): runs the probe activity once on the collectors' task
 * queue and returns what it found. No retries (the operator presses the button
 * again), no state, no signals.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ProbeActivities } from '../activities/types';
import { TASK_QUEUES, type ProbeDeviceInput, type ProbeDeviceResult } from '../core/names';

/** Probe a device with the form's settings and report. */
export async function deviceProbeWorkflow(input: ProbeDeviceInput): Promise<ProbeDeviceResult> {
  const { probeDevice } = proxyActivities<ProbeActivities>({
    taskQueue: TASK_QUEUES.sessions,
    // Time to be picked up by a collector, plus the probe's own deadline.
    scheduleToCloseTimeout: input.timeoutMs + 10_000,
    startToCloseTimeout: input.timeoutMs + 5_000,
    heartbeatTimeout: 5_000,
    retry: { maximumAttempts: 1 },
  });
  return probeDevice(input);
}
