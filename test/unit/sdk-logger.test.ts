/**
 * The Temporal SDK's log lines through the project's logger: one line each,
 * without task tokens or stacks; expected session failures and "no workflows
 * registered" only at debug; real warnings kept.
 */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { sdkLogger } from '../../temporal/runtime';

/** What `fn` writes to stderr. */
function stderrOf(fn: () => void): string {
  const original = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return out;
}

const activityMeta = (error: Error) => ({
  sdkComponent: 'worker',
  taskQueue: 'device-sessions',
  namespace: 'default',
  taskToken: 'CiQwMWEyMWM0Yi04Y2ZhLTc3YTAt',
  activityType: 'runDeviceSession',
  workflowId: 'device-session/2',
  attempt: 1,
  error,
});

describe('Temporal SDK log lines', () => {
  const savedFormat = process.env.LOG_FORMAT;
  before(() => {
    process.env.LOG_FORMAT = 'text';
  });
  after(() => {
    if (savedFormat === undefined) delete process.env.LOG_FORMAT;
    else process.env.LOG_FORMAT = savedFormat;
  });

  it('an expected session failure (ApplicationFailure) is not a warning', () => {
    const failure = ApplicationFailure.create({ type: 'COLLECTOR_LEAVING', message: 'COLLECTOR_LEAVING: the collector is shutting down' });
    assert.equal(stderrOf(() => sdkLogger(false).warn('Activity failed', activityMeta(failure))), '');
    const debug = stderrOf(() => sdkLogger(true).warn('Activity failed', activityMeta(failure)));
    assert.equal(debug.trim().split('\n').length, 1, debug);
    assert.match(debug, /debug .*Activity failed .*workflowId=device-session\/2 .*error=ApplicationFailure: COLLECTOR_LEAVING/);
  });

  it('an unexpected activity error stays a warning, on one line, without task token or stack', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const out = stderrOf(() => sdkLogger(false).warn('Activity failed', activityMeta(bug)));
    assert.equal(out.trim().split('\n').length, 1, out);
    assert.match(out, /warn .*\[temporal\] Activity failed .*activityType=runDeviceSession .*error=TypeError: Cannot read properties/);
    assert.doesNotMatch(out, /taskToken|CiQwMWEy|at .*\.ts:\d+/);
  });

  it('"no workflows registered" (a collector has none on purpose) and info lines show only at debug', () => {
    const logger = sdkLogger(false);
    assert.equal(stderrOf(() => logger.warn('No workflows registered, not polling for workflow tasks', { taskQueue: 'device-sessions' })), '');
    assert.equal(stderrOf(() => logger.info('Worker state changed', { state: 'RUNNING' })), '');
    assert.match(stderrOf(() => sdkLogger(true).info('Worker state changed', { state: 'RUNNING' })), /info .*Worker state changed state=RUNNING/);
  });

  it('errors are kept', () => {
    const out = stderrOf(() => sdkLogger(false).error('Workflow task failed', { workflowId: 'device-session/1', error: new Error('nondeterminism') }));
    assert.match(out, /error .*Workflow task failed .*error=Error: nondeterminism/);
  });
});
