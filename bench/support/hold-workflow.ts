/**
 * Workflow of bench/session-memory.ts's Temporal layer: it runs one long activity that
 * heartbeats until cancelled, as a device-session workflow runs its session activity, so the
 * activity worker's memory per running activity can be measured without any protocol.
 */
import { proxyActivities } from '@temporalio/workflow';

/** Hold one activity (on `taskQueue`) for the life of the workflow. */
export async function holdWorkflow(taskQueue: string): Promise<void> {
  const { holdSession } = proxyActivities<{ holdSession(): Promise<void> }>({
    taskQueue,
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: '60 seconds',
    retry: { maximumAttempts: 1 },
  });
  await holdSession();
}
