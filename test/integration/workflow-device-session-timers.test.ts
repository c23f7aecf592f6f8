/**
 * The device-session workflow's timers in workflow time, on Temporal's time-skipping
 * test server (TestWorkflowEnvironment.createTimeSkipping; the server is fetched from
 * Maven Central by scripts/infra/temporal-test-server.ts, ADR 085): every default
 * backoff window up to the 30 s ceiling, the restart after a completed session, and a
 * parked session that stays parked for a day — minutes and hours of workflow time in
 * about a second of wall-clock time. Attempt times come from the server's own clock
 * (the activity's scheduled time), the chosen delays from the status query.
 */
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DeviceSummary } from '../../activities/types';
import { SEARCH_ATTRIBUTE_DEFINITIONS, TASK_QUEUES, collectorLostSignal, pauseSignal, resumeSignal, statusQuery, stopSignal } from '../../core/names';
import type { DeviceSessionInput, DeviceSessionStatus, RunSessionInput, RunSessionResult, SessionPlacement } from '../../core/names';
import { retryWindow, initialMachine, COMPLETED_RESTART_MS } from '../../core/session-machine';
import { ensureTemporalTestServer } from '../../scripts/infra/temporal-test-server';
import protos from '@temporalio/proto';
import { quietWorkerRuntime } from '../support/env';
import { recordHistory } from '../support/histories';

/** What each attempt does, in order: a result, or an error to throw. */
type Step = () => RunSessionResult | Error;

describe('device-session workflow timers (time-skipping test server)', function () {
  this.timeout(120_000);
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;
  let seq = 0;

  before(async function () {
    this.timeout(600_000); // the first run fetches the test server from Maven Central
    await quietWorkerRuntime();
    const launcher = await ensureTemporalTestServer();
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: launcher } } });
    // The test server answers AddSearchAttributes but not ListSearchAttributes (ensureSearchAttributes lists first).
    const { IndexedValueType } = protos.temporal.api.enums.v1;
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_DEFINITIONS.map(([name]) => [name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
    bundle = await bundleWorkflowCode({ workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname, logger: quietLogger });
  });
  after(async () => {
    await env?.teardown();
  });

  /** Run the workflow with scripted attempts until `body` is done; returns each attempt's scheduled time (server clock, ms). */
  async function withWorkflow(steps: Step[], options: DeviceSessionInput['options'], body: (h: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>) => Promise<void>): Promise<number[]> {
    const scheduled: number[] = [];
    const sessions = {
      runDeviceSession: async (_input: RunSessionInput): Promise<RunSessionResult> => {
        scheduled.push(Context.current().info.currentAttemptScheduledTimestampMs);
        const r = steps[scheduled.length - 1]?.() ?? { reason: 'deleted', points: 0 };
        if (r instanceof Error) throw r;
        return r;
      },
    };
    const control = {
      describeDevice: async (): Promise<DeviceSummary> => ({ exists: true, enabled: true, name: 'sw-timers', address: '127.0.0.1:1' }),
      reconcileFleet: async () => ({ ensured: 0, started: 0, reconfigured: 0, stopped: 0 }),
    };
    const connection = env.nativeConnection;
    const controlWorker = await Worker.create({ connection, taskQueue: TASK_QUEUES.control, workflowBundle: bundle, activities: control });
    const sessionWorker = await Worker.create({ connection, taskQueue: TASK_QUEUES.sessions, activities: sessions });
    const input: DeviceSessionInput = { deviceId: 5000 + ++seq, deviceName: 'sw-timers', protocol: 'gnmi', options };
    await sessionWorker.runUntil(
      controlWorker.runUntil(async () => {
        const h = await env.client.workflow.start('deviceSessionWorkflow', { taskQueue: TASK_QUEUES.control, workflowId: `device-session/timers-${seq}`, args: [input] });
        await body(h);
      }),
    );
    return scheduled;
  }

  const broken = () => ApplicationFailure.create({ message: 'connection refused', type: 'UNAVAILABLE' });

  it('waits out every default backoff window, up to the 30 s ceiling, in workflow time', async () => {
    const breaks = 8;
    let status: DeviceSessionStatus | undefined;
    const scheduled = await withWorkflow(Array.from({ length: breaks }, () => broken), undefined, async (h) => {
      await h.result(); // attempt 9 reports the device deleted; time skips through every backoff meanwhile
      status = await h.query(statusQuery);
    });
    assert.equal(scheduled.length, breaks + 1);
    const chosen = (status!.recent ?? []).filter((r) => r.state === 'backoff').map((r) => r.backoffMs!);
    // recent keeps the last 20 changes: every backoff of this run is there.
    assert.equal(chosen.length, breaks, JSON.stringify(status!.recent));
    const opts = initialMachine(undefined, undefined).opts;
    chosen.forEach((delay, i) => {
      const [low, high] = retryWindow(opts, i + 1);
      assert.ok(delay >= low && delay <= high, `retry ${i + 1}: ${delay} ms outside [${low}, ${high}]`);
      const waited = scheduled[i + 1] - scheduled[i];
      assert.ok(waited >= delay && waited < delay + 1_000, `retry ${i + 1}: waited ${waited} ms for a ${delay} ms backoff`);
    });
    assert.ok(Math.max(...chosen) <= 30_000);
    assert.ok(chosen.slice(5).every((d) => d >= 15_000), `the ceiling window from retry 6 on: ${chosen.join(', ')}`);
  });

  it('restarts a session that completed by itself after a second', async () => {
    const scheduled = await withWorkflow([() => ({ reason: 'completed', points: 1 })], undefined, (h) => h.result());
    assert.equal(scheduled.length, 2);
    const waited = scheduled[1] - scheduled[0];
    assert.ok(waited >= COMPLETED_RESTART_MS && waited < COMPLETED_RESTART_MS + 1_000, `restart after ${waited} ms`);
  });

  it('a parked session makes no attempt through a day of workflow time', async () => {
    const scheduled = await withWorkflow([() => ApplicationFailure.nonRetryable('AUTH_FAILED: the device said no', 'AUTH_FAILED')], undefined, async (h) => {
      for (;;) {
        if ((await h.query(statusQuery)).state === 'auth-failed') break;
        await env.sleep(100);
      }
      const before = await env.currentTimeMs();
      await env.sleep('1 day');
      assert.ok((await env.currentTimeMs()) - before >= 86_400_000);
      const st = await h.query(statusQuery);
      assert.equal(st.state, 'auth-failed');
      assert.equal(st.nextRetryAt, undefined);
      await h.signal(stopSignal, {});
      await h.result();
    });
    assert.equal(scheduled.length, 1);
  });

  /**
   * ADR 245: where the monitor placed a session with the claim (its row names that collector) stays good
   * for the next attempt while the collector is not reported lost, up to 10 min: an attempt starting
   * 2 min later goes there with no placement activity (before, 60 s was the bound), one 11 min later asks.
   * The session is paused meanwhile (the claim places paused sessions' rows too), resumed after the wait.
   */
  for (const [waitS, asksAgain] of [
    [120, false],
    [660, true],
  ] as const) {
    it(`an attempt starting ${waitS / 60} min after the monitor placed the session ${asksAgain ? 'asks placement again' : 'goes there without asking placement'}`, async () => {
      const queues = { lost: `timers-lost-${seq}`, ahead: `timers-ahead-${seq}`, asked: `timers-asked-${seq}` };
      const placeAnswers: SessionPlacement[] = [
        { collectorId: 'lost', taskQueue: queues.lost },
        { collectorId: 'asked', taskQueue: queues.asked },
      ];
      let placeCalls = 0;
      const attempts: Array<{ queue: string; attempt: number }> = [];
      const sessionOn = (queue: string) => ({
        runDeviceSession: async (input: RunSessionInput): Promise<RunSessionResult> => {
          attempts.push({ queue, attempt: input.attempt });
          // The first attempt breaks (the workflow backs off, then is paused); the next ends the workflow.
          if (attempts.length === 1) throw broken();
          return { reason: 'deleted', points: 0 };
        },
      });
      const control = {
        describeDevice: async (): Promise<DeviceSummary> => ({ exists: true, enabled: true, name: 'sw-ahead', address: '127.0.0.1:1' }),
        reconcileFleet: async () => ({ ensured: 0, started: 0, reconfigured: 0, stopped: 0 }),
        placeSession: async (): Promise<SessionPlacement> => placeAnswers[Math.min(placeCalls++, placeAnswers.length - 1)],
      };
      const connection = env.nativeConnection;
      const workers = [
        await Worker.create({ connection, taskQueue: TASK_QUEUES.control, workflowBundle: bundle, activities: control }),
        ...(await Promise.all(Object.values(queues).map((q) => Worker.create({ connection, taskQueue: q, activities: sessionOn(q) })))),
      ];
      const input: DeviceSessionInput = { deviceId: 6000 + ++seq, deviceName: 'sw-ahead', protocol: 'gnmi', options: { placement: true, initialBackoffMs: 20_000 } };
      const runAll = (body: () => Promise<void>) => workers.reduce<() => Promise<void>>((inner, w) => () => w.runUntil(inner()), body)();
      await runAll(async () => {
        const h = await env.client.workflow.start('deviceSessionWorkflow', { taskQueue: TASK_QUEUES.control, workflowId: `device-session/ahead-${seq}`, args: [input] });
        // Polled in real time (no time skipped): the pause must reach the workflow within its 10-20 s back-off.
        const waitState = async (state: DeviceSessionStatus['state']) => {
          while ((await h.query(statusQuery)).state !== state) await new Promise((r) => setTimeout(r, 50));
        };
        await waitState('backoff');
        await h.signal(pauseSignal, { reason: 'test' });
        await waitState('paused');
        await h.signal(collectorLostSignal, { taskQueue: queues.lost, collectorId: 'lost', placed: { collectorId: 'ahead', taskQueue: queues.ahead } });
        await env.sleep(waitS * 1000);
        await h.signal(resumeSignal, {});
        await h.result(); // the second attempt reports the device deleted
        await recordHistory(h, asksAgain ? 'placed-ahead-asked-again' : 'placed-ahead-minutes-later');
      });
      assert.deepEqual(
        attempts.map((a) => a.queue),
        [queues.lost, asksAgain ? queues.asked : queues.ahead],
      );
      assert.equal(placeCalls, asksAgain ? 2 : 1, 'placement activities');
    });
  }
});

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
