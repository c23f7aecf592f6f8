/**
 * A fact to wait for instead of "nothing happens for a while": the workflow has handled
 * everything and waits on nothing but requests (no workflow task scheduled or running, no
 * timer or activity open). From then on nothing can happen without a signal or update.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { until } from '../../testkit/until';

/** Workflow tasks, timers and activities a workflow's history leaves open. */
export async function openWork(h: WorkflowHandle): Promise<Set<string>> {
  const events = (await h.fetchHistory()).events ?? [];
  const open = new Set<string>();
  for (const e of events) {
    if (e.workflowTaskScheduledEventAttributes) open.add('workflow task');
    if (e.workflowTaskCompletedEventAttributes || e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) open.delete('workflow task');
    if (e.timerStartedEventAttributes) open.add(`timer ${e.timerStartedEventAttributes.timerId}`);
    const timerDone = e.timerFiredEventAttributes ?? e.timerCanceledEventAttributes;
    if (timerDone) open.delete(`timer ${timerDone.timerId}`);
    if (e.activityTaskScheduledEventAttributes) open.add(`activity ${e.eventId}`);
    const done =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (done) open.delete(`activity ${done.scheduledEventId}`);
  }
  return open;
}

/** Wait until the workflow waits on requests only (see above). */
export async function waitQuiet(h: WorkflowHandle, timeoutMs = 20_000): Promise<void> {
  await until('the workflow to wait on requests only', async () => (await openWork(h)).size === 0, timeoutMs, 50);
}
