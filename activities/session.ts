/**
 * The session activity (a collector's own task queue and `device-sessions`) and the direct stop
 * (its stop queue, ADR 160, 230): Temporal's activity context adapted to the collector's session
 * runner (workers/collector-session-runner.ts), which the collector worker passes in.
 */
import { Context } from '@temporalio/activity';
import type { LocalSessionActivities, SessionActivities, SessionAttemptHost, SessionRunner } from './types';

/** What the session activities need: the runner that holds the attempts. */
export interface SessionActivityDeps {
  runner: SessionRunner;
  /**
   * The worker's heartbeat throttle interval, ms, when attempts should hand their progress to the SDK only every half
   * of it (SessionAttemptHost.heartbeatRecordEveryMs); every tick when absent.
   */
  heartbeatThrottleMs?: number;
}

/** Build the session activity and the direct stop over the collector's runner. */
export function createSessionActivities({ runner, heartbeatThrottleMs }: SessionActivityDeps): SessionActivities & LocalSessionActivities {
  return {
    // Not async: the runner's promise is the activity's, no second promise layer per attempt (issue 16).
    runDeviceSession(input) {
      return runner.run(input, attemptHost(Context.current(), heartbeatThrottleMs));
    },
    endLocalSession(input) {
      return runner.endLocal(input);
    },
  };
}

/** One small object per attempt, no closure: `heartbeat` is the context's own bound function. */
function attemptHost(ctx: Context, heartbeatThrottleMs: number | undefined): SessionAttemptHost {
  const execution = ctx.info.workflowExecution;
  return {
    heartbeat: ctx.heartbeat,
    cancellation: ctx.cancellationSignal,
    workflowId: execution?.workflowId,
    runId: execution?.runId,
    heartbeatRecordEveryMs: heartbeatThrottleMs === undefined ? undefined : recordEvery(heartbeatThrottleMs, ctx.info.heartbeatTimeoutMs),
  };
}

/**
 * Half the throttle interval the SDK applies to this attempt: the worker's, or 0.8 × the attempt's heartbeat timeout when
 * that is shorter (a workflow may ask for a shorter timeout than the collector's setting). Handed over that often, the
 * newest details are never more than half an interval old when the SDK sends them, and the server sees one heartbeat per
 * interval as before (ADR 294).
 */
export function recordEvery(throttleMs: number, heartbeatTimeoutMs: number | undefined): number {
  const effective = heartbeatTimeoutMs ? Math.min(throttleMs, 0.8 * heartbeatTimeoutMs) : throttleMs;
  return Math.floor(effective / 2);
}
