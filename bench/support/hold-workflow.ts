/**
 * Workflow of bench/session-memory.ts's Temporal layers: it runs one long activity that
 * heartbeats until cancelled, as a device-session workflow runs its session activity, so the
 * activity worker's memory per running activity can be measured.
 */
import { proxyActivities } from '@temporalio/workflow';

/**
 * Hold one activity (on `taskQueue`) for the life of the workflow: `holdSession` (no protocol),
 * or the collector's own `runDeviceSession` with `input`.
 */
export async function holdWorkflow(taskQueue: string, activity: 'holdSession' | 'runDeviceSession' = 'holdSession', input?: unknown): Promise<void> {
  const activities = proxyActivities<Record<typeof activity, (input?: unknown) => Promise<unknown>>>({
    taskQueue,
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: '60 seconds',
    retry: { maximumAttempts: 1 },
  });
  await activities[activity](input);
}
