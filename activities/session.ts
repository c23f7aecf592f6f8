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
}

/** Build the session activity and the direct stop over the collector's runner. */
export function createSessionActivities({ runner }: SessionActivityDeps): SessionActivities & LocalSessionActivities {
  return {
    // Not async: the runner's promise is the activity's, no second promise layer per attempt (issue 16).
    runDeviceSession(input) {
      return runner.run(input, attemptHost(Context.current()));
    },
    endLocalSession(input) {
      return runner.endLocal(input);
    },
  };
}

/** One small object per attempt, no closure: `heartbeat` is the context's own bound function. */
function attemptHost(ctx: Context): SessionAttemptHost {
  const execution = ctx.info.workflowExecution;
  return { heartbeat: ctx.heartbeat, cancellation: ctx.cancellationSignal, workflowId: execution?.workflowId, runId: execution?.runId };
}
