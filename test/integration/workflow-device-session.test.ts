/**
 * The device-session workflow's own logic on a real Temporal server, with its
 * activities replaced by scripted fakes: backoff and its bounds, the gap carried
 * from the last point, parking on credentials, immediate failover when a
 * collector is lost, pause / resume / reconfigure acknowledgements, lease
 * continue-as-new and input validation. The real collectors are exercised end
 * to end in test/e2e/session-lifecycle.test.ts; here each case is about what the
 * workflow decides. The file runs in a namespace of its own so no other
 * workflow's activities reach these fakes.
 *
 * The decisions themselves are unit-tested without Temporal
 * (test/unit/session-machine.test.ts) and the backoff windows are walked in
 * workflow time on the time-skipping server
 * (workflow-device-session-timers.test.ts, ADR 085); these cases check the
 * workflow on the real dev server, whose one-second timer floor (ADR 042),
 * updates and cancellation they depend on. Delays are read as numbers from the
 * status query (`recent[].backoffMs`, `backoffMs`, `nextRetryAt`), and "nothing
 * happens" is read from the history (no timer, no activity open), not slept on.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DeviceSummary } from '../../activities/types';
import {
  COLLECTOR_LEAVING,
  TASK_QUEUES,
  pauseUpdate,
  reconfigureUpdate,
  resumeUpdate,
  sessionEventSignal,
  statusQuery,
  stopSignal,
  type DeviceSessionInput,
  type DeviceSessionStatus,
  type RunSessionInput,
  type RunSessionResult,
} from '../../core/names';
import { until } from '../../testkit/until';
import { startDeviceSession } from '../../temporal/fleet-client';
import { waitQuiet } from '../support/workflow-quiet';
import { recordHistories } from '../support/histories';
import { openTestNamespace } from '../support/temporal-namespace';


/** One call of the fake session activity. */
interface Call {
  input: RunSessionInput;
  startedAt: number;
  endedAt?: number;
  outcome?: string;
}

/** What one attempt does: return a result, throw, or (undefined) hold the session until cancelled. */
type Step = ((input: RunSessionInput) => RunSessionResult | Error) | undefined;

/** Scripted stand-ins for the collector's session activity and the control worker's describeDevice. */
class FakeFleet {
  readonly calls: Call[] = [];
  describes = 0;
  running = 0;
  maxRunning = 0;
  device: DeviceSummary = { exists: true, enabled: true, name: 'sw-fake', protocol: 'gnmi', address: '127.0.0.1:1', profiles: ['counters'] };

  constructor(private readonly steps: Step[] = []) {}

  readonly sessionActivities = {
    runDeviceSession: async (input: RunSessionInput): Promise<RunSessionResult> => {
      const call: Call = { input, startedAt: Date.now() };
      this.calls.push(call);
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      try {
        const step = this.steps[this.calls.length - 1];
        if (step) {
          const r = step(input);
          call.outcome = r instanceof Error ? `threw ${(r as ApplicationFailure).type ?? r.message}` : `returned ${r.reason}`;
          if (r instanceof Error) throw r;
          return r;
        }
        // Hold the session: heartbeat until the workflow cancels the attempt.
        const ctx = Context.current();
        const beat = setInterval(() => ctx.heartbeat({ attempt: input.attempt, points: 0 }), 100);
        try {
          await ctx.cancelled;
          throw new Error('unreachable');
        } catch (err) {
          call.outcome = 'cancelled';
          throw err;
        } finally {
          clearInterval(beat);
        }
      } finally {
        call.endedAt = Date.now();
        this.running--;
      }
    },
  };

  readonly controlActivities = {
    describeDevice: async (): Promise<DeviceSummary> => {
      this.describes++;
      return { ...this.device };
    },
    reconcileFleet: async () => ({ ensured: 0, started: 0, reconfigured: 0, stopped: 0 }),
  };
}

/** A broken connection as the real activity reports it: retryable, with the last heartbeat. */
function broken(message: string, lastPointAt?: number): Error {
  return ApplicationFailure.create({ message, type: 'UNAVAILABLE', details: lastPointAt ? [{ attempt: 0, lastPointAt, points: 1 }] : [] });
}

describe('device-session workflow logic (fake activities, real Temporal)', function () {
  this.timeout(90_000);
  const namespace = `wf-logic-${crypto.randomBytes(3).toString('hex')}`;
  let connection: NativeConnection;
  let clientConnection: Connection;
  let client: Client;
  let bundle: WorkflowBundleWithSourceMap;
  let seq = 0;
  /** Workflows started by the running test: terminated at its end whatever happened, so none leaks into the next. */
  let started: WorkflowHandle[] = [];

  before(async function () {
    this.timeout(180_000);
    ({ clientConnection, client, connection } = await openTestNamespace(namespace));
    bundle = await bundleWorkflowCode({ workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname, logger: quietLogger });
  });

  after(async () => {
    await connection?.close();
    await clientConnection?.close();
  });

  /** Run `body` with a control worker (workflows, describeDevice) and a collector worker (the fake session). */
  async function withWorkers<T>(fleet: FakeFleet, body: () => Promise<T>): Promise<T> {
    const control = await Worker.create({ connection, namespace, taskQueue: TASK_QUEUES.control, workflowBundle: bundle, activities: fleet.controlActivities });
    const sessions = await Worker.create({ connection, namespace, taskQueue: TASK_QUEUES.sessions, activities: fleet.sessionActivities });
    started = [];
    const cleanUp = async () => {
      for (const h of started) await h.terminate('test over').catch(() => undefined);
    };
    return sessions.runUntil(control.runUntil(body().finally(cleanUp)));
  }

  async function start(input: Partial<DeviceSessionInput> = {}): Promise<WorkflowHandle> {
    const workflowId = `device-session/fake-${++seq}-${crypto.randomBytes(2).toString('hex')}`;
    const args: DeviceSessionInput = {
      deviceId: 1000 + seq,
      deviceName: 'sw-fake',
      protocol: 'gnmi',
      options: { heartbeatTimeoutMs: 5_000, initialBackoffMs: 400, maxBackoffMs: 1_600 },
      ...input,
    };
    const h = await client.workflow.start('deviceSessionWorkflow', { taskQueue: TASK_QUEUES.control, workflowId, args: [args] });
    started.push(h);
    return h;
  }

  const waitFor = (what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 20_000) => until(what, pred, timeoutMs, 50);

  const status = (h: WorkflowHandle) => h.query(statusQuery);

  /** Session attempts scheduled so far and how many are open, from the workflow's history. */
  async function sessionActivities(h: WorkflowHandle): Promise<{ scheduled: number; open: number }> {
    const events = (await h.fetchHistory()).events ?? [];
    const ids = new Set<string>();
    let open = 0;
    for (const e of events) {
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'runDeviceSession') {
        ids.add(String(e.eventId));
        open++;
      }
      const done =
        e.activityTaskCompletedEventAttributes ??
        e.activityTaskFailedEventAttributes ??
        e.activityTaskTimedOutEventAttributes ??
        e.activityTaskCanceledEventAttributes;
      if (done && ids.has(String(done.scheduledEventId))) open--;
    }
    return { scheduled: ids.size, open };
  }
  const waitState = (h: WorkflowHandle, state: DeviceSessionStatus['state']) =>
    waitFor(`state ${state}`, async () => (await status(h)).state === state);

  async function stop(h: WorkflowHandle): Promise<void> {
    await h.signal(stopSignal, {});
    await h.result();
  }

  /** What the workflow may choose for retry n: [max(1 s, base/2), max(that + 1 s, base)] (ADR 040, 042). */
  function allowed(initial: number, max: number, n: number): [number, number] {
    const base = Math.min(max, initial * 2 ** (n - 1));
    const low = Math.max(1000, base / 2);
    return [low, Math.max(low + 1000, base)];
  }

  /** Each chosen delay lies in its window, and the attempts really waited that long. */
  function assertBackoffs(fleet: FakeFleet, chosen: number[], initial: number, max: number): void {
    chosen.forEach((d, i) => {
      const [low, high] = allowed(initial, max, i + 1);
      assert.ok(d >= low && d <= high, `retry ${i + 1} in ${d} ms, outside [${low}, ${high}]`);
      const waited = fleet.calls[i + 1].startedAt - fleet.calls[i].endedAt!;
      assert.ok(waited >= d - 70, `retry ${i + 1} waited ${waited} ms for a ${d} ms backoff`);
    });
  }

  it('backs off between broken attempts with growing, jittered delays, and every retry carries the gap from the last point', async function () {
    const fleet = new FakeFleet([() => broken('connection reset', 5_000), () => broken('connection refused'), () => broken('connection refused')]);
    await withWorkers(fleet, async () => {
      const h = await start({ options: { heartbeatTimeoutMs: 5_000, initialBackoffMs: 1_000, maxBackoffMs: 4_000 } });
      // While backing off, the status says how long and until when, as numbers.
      await waitState(h, 'backoff');
      const waiting = await status(h);
      assert.ok(waiting.backoffMs! >= 1_000 && waiting.backoffMs! <= 2_000, `backoffMs ${waiting.backoffMs}`);
      assert.equal(Date.parse(waiting.nextRetryAt!), waiting.since + waiting.backoffMs!);
      assert.ok(waiting.failingSince && Date.parse(waiting.failingSince) <= waiting.since, waiting.failingSince);
      await waitFor('the fourth attempt', () => fleet.calls.length >= 4);
      const st = await status(h);
      assert.equal(st.state, 'connecting');
      assert.equal(st.attempt, 4);
      assert.equal(st.lastError, 'connection refused');
      assert.ok(st.recent?.some((r) => r.state === 'backoff' && /retry 3 in \d\.\d s/.test(r.detail ?? '')), JSON.stringify(st.recent));
      // Windows [1, 2], [1, 2], [2, 4] s.
      const chosen = backoffDelays(st);
      assert.equal(chosen.length, 3, JSON.stringify(st.recent));
      assertBackoffs(fleet, chosen, 1_000, 4_000);
      // The gap starts at the last point before the first break and stays there through the retries.
      assert.equal(fleet.calls[0].input.gapFrom, undefined);
      for (const c of fleet.calls.slice(1)) assert.equal(c.input.gapFrom, 5_000);
      assert.equal(fleet.calls[1].input.gapReason, 'connection reset');
      assert.deepEqual(fleet.calls.map((c) => c.input.attempt), [1, 2, 3, 4]);

      assert.equal(st.nextRetryAt, undefined, 'no retry pending while connecting');
      assert.equal(st.failingSince, waiting.failingSince, 'failing since the first break');
      await h.signal(sessionEventSignal, { type: 'streaming', attempt: 4, at: Date.now() });
      await waitState(h, 'streaming');
      assert.equal((await status(h)).failingSince, undefined, 'points arrive: no longer failing');
      await stop(h);
      assert.equal(fleet.maxRunning, 1);
      // With RECORD_HISTORIES=1: a history with the ADR 042 backoff (patch marker) for the replay test.
      await recordHistories(client, [h.workflowId], 'backoff-floor');
    });
  });

  it('never waits longer than the configured ceiling', async () => {
    const fleet = new FakeFleet(Array.from({ length: 5 }, () => () => broken('no route to host')));
    await withWorkers(fleet, async () => {
      const h = await start({ options: { heartbeatTimeoutMs: 5_000, initialBackoffMs: 1_000, maxBackoffMs: 2_500 } });
      await waitFor('the sixth attempt', () => fleet.calls.length >= 6);
      // Windows [1, 2], [1, 2], then capped: [1.25, 2.5] s.
      const chosen = backoffDelays(await status(h));
      assert.equal(chosen.length, 5, JSON.stringify(chosen));
      assert.ok(chosen.every((d) => d <= 2_500 + 50), `delays ${chosen.join(', ')} ms`);
      assertBackoffs(fleet, chosen, 1_000, 2_500);
      await stop(h);
    });
  });

  it('raises sub-second delays to the timer floor, keeping a second of jitter (Temporal fires shorter timers late)', async () => {
    const fleet = new FakeFleet([() => broken('connection refused'), () => broken('connection refused')]);
    await withWorkers(fleet, async () => {
      const h = await start({ options: { heartbeatTimeoutMs: 5_000, initialBackoffMs: 100, maxBackoffMs: 300 } });
      await waitFor('the third attempt', () => fleet.calls.length >= 3);
      const chosen = backoffDelays(await status(h));
      assert.equal(chosen.length, 2);
      assertBackoffs(fleet, chosen, 100, 300);
      await stop(h);
    });
  });

  for (const [type, state] of [
    ['AUTH_FAILED', 'auth-failed'],
    ['HOST_KEY_MISMATCH', 'config-invalid'],
  ] as const) {
    it(`parks in ${state} on ${type}, makes no further attempt, says in Temporal Web what it waits for, and a resume retries at once`, async () => {
      const fleet = new FakeFleet([() => ApplicationFailure.nonRetryable(`${type} the device said no`, type)]);
      await withWorkers(fleet, async () => {
        // Started as the web app and ctl start it, so its Temporal Web row names the device.
        const options = { heartbeatTimeoutMs: 5_000, initialBackoffMs: 400, maxBackoffMs: 1_600 };
        const h = await startDeviceSession(client, { id: 1000 + ++seq, name: 'sw-parked', protocol: 'gnmi' }, options);
        started.push(h);
        await waitState(h, state);
        await waitQuiet(h); // no timer, no activity: nothing happens while parked
        assert.equal(fleet.calls.length, 1);
        const parked = await status(h);
        assert.match(parked.lastError ?? '', new RegExp(type));
        assert.equal(parked.parkedReason, parked.lastError);
        assert.ok(parked.failingSince);
        assert.equal(parked.nextRetryAt, undefined);
        // Temporal Web (issue 21): the list row's summary names the device; the current details say the state and what it waits for.
        assert.equal(await (await h.describe()).staticSummary(), 'Telemetry session of sw-parked (gnmi)');
        const details = (await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
        assert.match(details, new RegExp(`^\\*\\*${state}\\*\\* — waiting for the device to be fixed \\(edit it, or resume / reconfigure\\)`), details);
        assert.match(details, new RegExp(`last error: ${type} the device said no`), details);
        const resumed = await h.executeUpdate(resumeUpdate, { args: [{}] });
        assert.ok(['connecting', 'streaming'].includes(resumed.state), resumed.state);
        await waitFor('a second attempt', () => fleet.calls.length === 2);
        await stop(h);
      });
    });
  }

  it('replaces a lost collector at once three times in a row, then backs off', async () => {
    const lost = () => ApplicationFailure.create({ message: 'collector shutting down', type: COLLECTOR_LEAVING });
    const fleet = new FakeFleet([lost, lost, lost, lost]);
    await withWorkers(fleet, async () => {
      const h = await start({ options: { heartbeatTimeoutMs: 5_000, initialBackoffMs: 1_500, maxBackoffMs: 3_000 } });
      await waitFor('the fifth attempt', () => fleet.calls.length >= 5);
      const waits = fleet.calls.slice(1).map((c, i) => c.startedAt - fleet.calls[i].endedAt!);
      // The first three takeovers do not wait for a timer; the fourth loss in a row backs off ≥ 1 s.
      assert.ok(waits[3] >= 1_000 - 70, `fourth wait ${waits[3]} ms`);
      assert.ok(Math.max(...waits.slice(0, 3)) < waits[3], `immediate takeovers ${waits.slice(0, 3).join(', ')} ms vs ${waits[3]} ms`);
      const st = await status(h);
      assert.ok(st.recent?.some((r) => r.state === 'backoff'));
      assert.equal(st.recent?.filter((r) => r.state === 'backoff').length, 1, JSON.stringify(st.recent));
      await stop(h);
    });
  });

  it('acknowledges a pause only after the running attempt ended; a resume starts exactly one new attempt', async () => {
    const fleet = new FakeFleet();
    await withWorkers(fleet, async () => {
      const h = await start();
      await waitFor('the session', () => fleet.calls.length === 1);
      const paused = await h.executeUpdate(pauseUpdate, { args: [{ reason: 'maintenance window' }] });
      const ackAt = Date.now();
      assert.equal(paused.state, 'paused');
      assert.equal(paused.paused, true);
      assert.equal(paused.detail, 'maintenance window');
      assert.equal(fleet.calls[0].outcome, 'cancelled');
      assert.ok(fleet.calls[0].endedAt! <= ackAt, 'the attempt ended before the pause was acknowledged');
      // Pausing again is a no-op; nothing starts while paused.
      assert.equal((await h.executeUpdate(pauseUpdate, { args: [{}] })).state, 'paused');
      await waitQuiet(h);
      assert.equal(fleet.calls.length, 1);

      const resumed = await h.executeUpdate(resumeUpdate, { args: [{}] });
      assert.equal(resumed.paused, false);
      await waitFor('the second attempt', () => fleet.calls.length === 2);
      // Exactly one attempt was scheduled by the resume and it is the one running (read from the history).
      assert.deepEqual(await sessionActivities(h), { scheduled: 2, open: 1 });
      assert.equal(fleet.calls.length, 2);
      assert.equal(fleet.maxRunning, 1, 'never two sessions for one device');
      assert.equal(fleet.calls[1].input.gapFrom, undefined, 'a pause is not a break: no gap');
      await stop(h);
    });
  });

  it('reconfigure restarts the session with the next generation after reading the device again, renaming it', async () => {
    const fleet = new FakeFleet();
    await withWorkers(fleet, async () => {
      const h = await start();
      await waitFor('the session', () => fleet.calls.length === 1);
      assert.equal(fleet.describes, 1);
      fleet.device = { ...fleet.device, name: 'sw-renamed', address: '127.0.0.2:1', profiles: ['counters', 'optics'] };
      const st = await h.executeUpdate(reconfigureUpdate, { args: [{}] });
      assert.equal(st.generation, 1);
      assert.equal(fleet.describes, 2);
      await waitFor('the session of generation 1', () => fleet.calls.length === 2);
      assert.equal(fleet.calls[0].outcome, 'cancelled');
      assert.equal(fleet.calls[1].input.generation, 1);
      assert.equal(st.deviceName, 'sw-renamed');
      const desc = await h.describe();
      assert.deepEqual(desc.searchAttributes.DeviceName, ['sw-renamed']);
      assert.deepEqual((await desc.memo)?.profiles, ['counters', 'optics']);
      assert.equal(fleet.maxRunning, 1);
      await stop(h);
    });
  });

  it('continues as new when the lease ends, carrying attempts and the last point', async () => {
    const fleet = new FakeFleet([() => ({ reason: 'lease', points: 3, lastPointAt: 7_000 })]);
    await withWorkers(fleet, async () => {
      const h = await start();
      const firstRun = (await h.describe()).runId;
      await waitFor('the attempt after the lease', () => fleet.calls.length === 2);
      const latest = client.workflow.getHandle(h.workflowId);
      const desc = await latest.describe();
      assert.notEqual(desc.runId, firstRun, 'a new run');
      const st = await latest.query(statusQuery);
      assert.equal(st.attempt, 2);
      assert.equal(st.lastPointAt, 7_000);
      assert.equal(fleet.calls[1].input.gapFrom, undefined, 'a lease end is not a break');
      await stop(latest);
    });
  });

  it('restarts a session that completed by itself after a short pause, and ends when the device is deleted', async () => {
    const fleet = new FakeFleet([() => ({ reason: 'completed', points: 1 }), () => ({ reason: 'deleted', points: 0 })]);
    await withWorkers(fleet, async () => {
      const h = await start();
      await h.result(); // a deleted device ends the workflow
      assert.equal(fleet.calls.length, 2);
      const wait = fleet.calls[1].startedAt - fleet.calls[0].endedAt!;
      assert.ok(wait >= 1_000 - 20, `restart after ${wait} ms`);
      const st = await h.query(statusQuery);
      assert.equal(st.state, 'disabled');
      assert.equal(st.detail, 'device deleted');
    });
  });

  it('fails fast on invalid input with a non-retryable CONFIG_INVALID', async () => {
    const fleet = new FakeFleet();
    await withWorkers(fleet, async () => {
      const h = await start({ deviceId: 0 });
      await assert.rejects(h.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, 'CONFIG_INVALID');
        assert.match(err.cause.message, /invalid deviceId 0/);
        return true;
      });
      assert.equal(fleet.calls.length, 0);
    });
  });
});

/** The backoff delays (ms) the workflow chose, oldest first, as its status reports them. */
function backoffDelays(st: DeviceSessionStatus): number[] {
  return (st.recent ?? [])
    .filter((r) => r.state === 'backoff')
    .map((r) => {
      assert.equal(typeof r.backoffMs, 'number', JSON.stringify(r));
      return r.backoffMs!;
    });
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
};
