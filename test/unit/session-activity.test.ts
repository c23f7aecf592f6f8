/**
 * The session activity alone over the collector's session runner (workers/collector-session-runner.ts;
 * MockActivityEnvironment, a fake protocol): how
 * each way of ending becomes what the workflow sees — a worker shutdown or a
 * leaving collector is a clean `handover` result (the workflow fails over at once,
 * with the last point), a workflow cancel is a cancellation, bad credentials are a
 * non-retryable AUTH_FAILED — and the gap record after a broken attempt.
 */
import assert from 'node:assert/strict';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Knex } from 'knex';
import { DialLimiter } from '../../protocols/dial-limiter';
import { createSessionActivities as activitiesOver, recordEvery } from '../../activities/session';
import { loadConfig } from '../../core/config';
import { createSessionRunner, type SessionDeps } from '../../workers/collector-session-runner';
import { HandoverPlacements } from '../../workers/collector-handover-placements';
import type { Gap } from '../../storage/gaps';
import type { Keyring } from '../../storage/secrets';
import { GnmiDeviceSettings, NetconfDeviceSettings } from '../../core/device';
import { LagTracker, MetricsRegistry } from '../../core/metrics';
import { type RunSessionInput, type RunSessionResult, type SessionHeartbeat } from '../../core/names';
import type { TelemetryPoint } from '../../core/point';
import { SessionError, type ProtocolSession, type SessionContext } from '../../core/session';
import { until } from '../../testkit/until';
import { WarmSessions, type LoadedDevice } from '../../workers/collector-warm-sessions';
import { parseHandoff } from '../../storage/collectors';

const DEVICE_ID = 42;

/** A protocol that emits a point every 20 ms until aborted, or fails as told. */
function fakeProtocol(opts: { failWith?: SessionError; firstTimestamp?: number } = {}): ProtocolSession {
  return {
    protocol: 'gnmi',
    async run(ctx: SessionContext) {
      if (opts.failWith) throw opts.failWith;
      ctx.onEvent({ type: 'connected' });
      let t = opts.firstTimestamp ?? Date.now();
      while (!ctx.signal.aborted) {
        const point: TelemetryPoint = { deviceId: DEVICE_ID, path: '/x', timestamp: t, value: 1 } as TelemetryPoint;
        t += 20;
        await ctx.sink.push([point]);
        // The fake device's sample interval (behaviour, not synchronisation): a point every 20 ms.
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

function deps(protocol: ProtocolSession, extra: Partial<SessionDeps> = {}) {
  const pushed: TelemetryPoint[] = [];
  const gaps: Gap[] = [];
  const live = new Map<string, 'connecting' | 'streaming'>();
  const d: SessionDeps = {
    db: undefined as unknown as Knex,
    keyring: undefined as unknown as Keyring,
    sink: { push: (points) => void pushed.push(...points) },
    getProtocol: async () => protocol,
    metrics: new MetricsRegistry(),
    heartbeatEveryMs: 50,
    liveSessions: live,
    heartbeatLag: new LagTracker(),
    loadDevice: async () => ({
      enabled: true,
      config: {
        id: DEVICE_ID,
        name: 'fake',
        protocol: 'gnmi',
        host: '127.0.0.1',
        port: 1,
        secrets: {},
        gnmi: GnmiDeviceSettings.parse({}),
        netconf: NetconfDeviceSettings.parse({}),
      },
      profiles: [{ id: 1, name: 'p', protocol: 'gnmi' }],
    }),
    saveGap: async (gap) => void gaps.push(gap),
    ...extra,
  };
  return { deps: d, pushed, gaps, live };
}

/** The session activities as the collector wires them: the activity over a runner with these deps. */
const createSessionActivities = (d: SessionDeps) => activitiesOver({ runner: createSessionRunner(d) });

const input = (extra: Partial<RunSessionInput> = {}): RunSessionInput => ({ deviceId: DEVICE_ID, generation: 0, attempt: 3, ...extra });

/** Start `fn`, wait until `ready` holds (a fact: points stored, a gap written), then `act` (cancel, leave). */
async function runUntil<T>(fn: () => Promise<T>, ready: () => boolean, what: string, act: () => void): Promise<T> {
  const running = fn();
  running.catch(() => undefined); // observed below; never an unhandled rejection while waiting
  await until(what, ready, 5_000, 5);
  act();
  return running;
}

describe('session activity', () => {
  it('turns a worker shutdown into a clean hand-over carrying the last point, so the workflow fails over at once', async () => {
    const { deps: d, pushed, live } = deps(fakeProtocol());
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'device-session/42', runId: 'r' } } as never);
    const { runDeviceSession } = createSessionActivities(d);
    const result = (await runUntil(() => env.run(runDeviceSession, input()), () => pushed.length >= 3, 'three points', () => env.cancel('WORKER_SHUTDOWN'))) as RunSessionResult;
    assert.equal(result.reason, 'handover', 'a planned restart is not a failed activity');
    assert.ok(result.points > 0 && result.points === pushed.length);
    assert.equal(result.lastPointAt, pushed[pushed.length - 1].timestamp);
    assert.ok(result.streamedUntil! >= result.lastPointAt!, 'a streaming session says when it ended: its data is complete until then (ADR 236)');
    assert.equal(live.size, 0, 'the session left the live map');
  });

  it('heartbeat details carry the connection and newest point as ISO times beside the numbers (Temporal Web shows them as sent; issue 21)', async () => {
    const { deps: d, pushed } = deps(fakeProtocol());
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'device-session/42', runId: 'r' } } as never);
    const beats: SessionHeartbeat[] = [];
    env.on('heartbeat', (details: SessionHeartbeat) => beats.push(details));
    const { runDeviceSession } = createSessionActivities(d);
    const ready = () => pushed.length >= 3 && beats.some((b) => b.lastPointAt !== undefined);
    await runUntil(() => env.run(runDeviceSession, input()), ready, 'a heartbeat after points', () => env.cancel('WORKER_SHUTDOWN'));
    const beat = beats.findLast((b) => b.lastPointAt !== undefined)!;
    assert.equal(typeof beat.connectedAt, 'number');
    assert.equal(beat.connected, new Date(beat.connectedAt!).toISOString());
    assert.equal(beat.lastPoint, new Date(beat.lastPointAt!).toISOString());
    assert.match(beat.lastPoint!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('a placed session hands its progress to the SDK every half throttle interval, not every tick; the shared queue\'s every tick (ADR 294)', async () => {
    const defaults = loadConfig({});
    assert.deepEqual([defaults.SESSION_PLACED_HEARTBEAT_THROTTLE_MS, defaults.SESSION_PLACED_HEARTBEAT_TIMEOUT_MS], [60_000, 120_000], 'the defaults (ADR 300)');
    assert.equal(recordEvery(defaults.SESSION_PLACED_HEARTBEAT_THROTTLE_MS, defaults.SESSION_PLACED_HEARTBEAT_TIMEOUT_MS), 30_000, 'the defaults: handed over every 30 s, sent once a minute');
    assert.equal(recordEvery(30_000, 60_000), 15_000, 'the defaults before ADR 300: a 30 s throttle, a 60 s heartbeat timeout');
    assert.equal(recordEvery(60_000, 60_000), 24_000, 'a workflow started before ADR 300 (60 s timeout) on a collector with the new throttle: the SDK sends every 48 s');
    assert.equal(recordEvery(30_000, 3_000), 1_200, 'a workflow asking a shorter timeout: the SDK throttles to 0.8 × it');
    assert.equal(recordEvery(30_000, undefined), 15_000, 'no heartbeat timeout');
    for (const [throttleMs, timeoutMs, everyMs] of [
      [undefined, 10_000, 0],
      [400, 10_000, 200],
      [400, 250, 100],
    ] as const) {
      const { deps: d } = deps(fakeProtocol());
      let ticks = 0;
      d.heartbeatLag = { observe: () => void ticks++ };
      const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'device-session/42', runId: 'r' }, heartbeatTimeoutMs: timeoutMs } as never);
      const beats: number[] = [];
      env.on('heartbeat', () => beats.push(Date.now()));
      const { runDeviceSession } = activitiesOver({ runner: createSessionRunner(d), heartbeatThrottleMs: throttleMs });
      await runUntil(() => env.run(runDeviceSession, input()), () => beats.length >= 4, 'four heartbeats', () => env.cancel('WORKER_SHUTDOWN'));
      const spacing = beats.slice(2).map((at, i) => at - beats[i + 1]);
      const label = `throttle ${throttleMs ?? 'none'}, timeout ${timeoutMs}`;
      assert.ok(spacing.every((ms) => ms >= everyMs - 5), `${label}: ${spacing.join(', ')} ms apart, at least ${everyMs}`);
      // Without a throttle every 50 ms tick hands progress over (the first heartbeat comes before any tick). With one, the
      // spacing above is the check: ticks run late on a busy machine, so their count per heartbeat is not asserted.
      if (everyMs === 0) assert.ok(ticks <= beats.length, `${label}: ${ticks} ticks, ${beats.length} heartbeats`);
    }
  });

  it('hands every session over when the collector starts leaving (SIGTERM)', async () => {
    const leaving = new AbortController();
    const { deps: d, pushed } = deps(fakeProtocol(), { leaving: leaving.signal });
    const env = new MockActivityEnvironment();
    const { runDeviceSession } = createSessionActivities(d);
    const started = Date.now();
    const result = (await runUntil(() => env.run(runDeviceSession, input()), () => pushed.length > 0, 'the first point', () => leaving.abort())) as RunSessionResult;
    assert.equal(result.reason, 'handover');
    assert.ok(Date.now() - started < 1000, 'promptly');
    // A task that arrives while leaving is handed over at once, without connecting.
    assert.deepEqual(await env.run(runDeviceSession, input({ attempt: 4 })), { reason: 'handover', lastPointAt: undefined, points: 0 });
  });

  it('a hand-over names the next collector when the leaving collector placed the session ahead (ADR 200)', async () => {
    const leaving = new AbortController();
    const next = { collectorId: 'other', taskQueue: 'device-sessions/other/1' };
    const handoverPlacements = new HandoverPlacements();
    handoverPlacements.start(async () => new Map([[DEVICE_ID, next]]), 60_000);
    const { deps: d, pushed } = deps(fakeProtocol(), { leaving: leaving.signal, handoverPlacements });
    const { runDeviceSession } = createSessionActivities(d);
    const result = (await runUntil(() => new MockActivityEnvironment().run(runDeviceSession, input()), () => pushed.length > 0, 'the first point', () => leaving.abort())) as RunSessionResult;
    assert.equal(result.reason, 'handover');
    assert.deepEqual(result.next, next);
    const other = (await new MockActivityEnvironment().run(runDeviceSession, input({ deviceId: DEVICE_ID + 1 }))) as RunSessionResult;
    assert.equal(other.next, undefined, 'a session not placed ahead asks placement as before');
  });

  it('a hand-over result waits for the leaving collector\'s placement, at most its bound (ADR 231)', async () => {
    const next = { collectorId: 'other', taskQueue: 'device-sessions/other/1' };
    let placed!: (m: Map<number, typeof next>) => void;
    const slow = new HandoverPlacements();
    slow.start(() => new Promise((resolve) => (placed = resolve)), 60_000);
    let answered: unknown = 'waiting';
    const waiting = slow.next(DEVICE_ID).then((p) => (answered = p));
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, 'waiting', 'no answer while the placement runs');
    placed(new Map([[DEVICE_ID, next]]));
    await waiting;
    assert.deepEqual(answered, next, 'the placement once it finished');
    const stuck = new HandoverPlacements();
    stuck.start(() => new Promise(() => undefined), 50);
    assert.equal(await stuck.next(DEVICE_ID), undefined, 'a placement past its bound: none (the workflow asks placement)');
  });

  it('hands a session over when placement moves it elsewhere (rebalance, drain: ADR 110)', async () => {
    const handovers = new Map<number, () => void>();
    const { deps: d, pushed } = deps(fakeProtocol(), { handovers });
    const env = new MockActivityEnvironment();
    const { runDeviceSession } = createSessionActivities(d);
    const result = (await runUntil(() => env.run(runDeviceSession, input()), () => pushed.length > 0 && handovers.has(DEVICE_ID), 'the first point', () => handovers.get(DEVICE_ID)!())) as RunSessionResult;
    assert.equal(result.reason, 'handover', 'a clean hand-over, not a failure');
    assert.equal(result.lastPointAt, pushed[pushed.length - 1].timestamp);
    assert.equal(d.metrics.get('session_failovers_total', { reason: 'moved' }), 1);
    assert.equal(handovers.size, 0, 'the ended session left the hand-over map');
  });

  it('confirms a workflow cancellation (pause, reconfigure) as a cancellation', async () => {
    const { deps: d, pushed } = deps(fakeProtocol());
    const env = new MockActivityEnvironment();
    const { runDeviceSession } = createSessionActivities(d);
    await assert.rejects(
      runUntil(() => env.run(runDeviceSession, input()), () => pushed.length > 0, 'the first point', () => env.cancel()),
      (e: unknown) => e instanceof CancelledFailure,
    );
  });

  it('ends exactly the attempt a direct stop names (ADR 160): never another run\'s or a newer attempt, and one that starts after its stop at once', async () => {
    const { deps: d, pushed } = deps(fakeProtocol());
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'device-session/42', runId: 'run-1' } } as never);
    const { runDeviceSession, endLocalSession } = createSessionActivities(d);
    const running = env.run(runDeviceSession, input({ attempt: 3 }));
    running.catch(() => undefined);
    await until('the first point', () => pushed.length > 0, 5_000, 5);
    const stop = (runId: string, attempt: number) => endLocalSession({ deviceId: DEVICE_ID, runId, attempt, reason: 'pause' });
    assert.equal(await stop('run-1', 2), 'not-running', 'an older attempt is not running here');
    assert.equal(await stop('run-0', 3), 'not-running', 'attempt 3 of another run is another attempt');
    const seen = pushed.length;
    await until('more points: the session still runs', () => pushed.length >= seen + 3, 5_000, 5);
    assert.equal(await stop('run-1', 3), 'ended');
    await assert.rejects(running, (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure, `a failure the workflow reads as its own request, got ${e}`);
      assert.equal(e.type, 'SESSION_STOPPED');
      assert.equal(e.nonRetryable, true);
      assert.equal((e.details?.[0] as { lastPointAt?: number }).lastPointAt, pushed[pushed.length - 1].timestamp, 'the progress travels with it');
      return true;
    });
    // A stop that came before its attempt started here ends it as soon as it starts.
    assert.equal(await stop('run-1', 4), 'not-running');
    const before = pushed.length;
    await assert.rejects(env.run(runDeviceSession, input({ attempt: 4 })), (e: unknown) => e instanceof ApplicationFailure && e.type === 'SESSION_STOPPED');
    assert.ok(pushed.length - before <= 1, 'the early-stopped attempt did not stream');
    assert.equal(d.metrics.get('session_direct_stops_total', { result: 'ended' }), 1);
    assert.equal(d.metrics.get('session_direct_stops_total', { result: 'not-running' }), 3);
  });

  it('fails non-retryably with AUTH_FAILED when the device rejects the credentials', async () => {
    const { deps: d } = deps(fakeProtocol({ failWith: new SessionError('AUTH_FAILED', 'credentials rejected') }));
    const env = new MockActivityEnvironment();
    const { runDeviceSession } = createSessionActivities(d);
    await assert.rejects(env.run(runDeviceSession, input()), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'AUTH_FAILED');
      assert.equal(e.nonRetryable, true);
      return true;
    });
  });

  it('records the gap from the last point before a break to the first point after it', async () => {
    const first = Date.now();
    const { deps: d, gaps } = deps(fakeProtocol({ firstTimestamp: first }));
    const env = new MockActivityEnvironment();
    const { runDeviceSession } = createSessionActivities(d);
    await runUntil(
      () => env.run(runDeviceSession, input({ gapFrom: first - 4000, gapReason: 'collector lost (heartbeat timeout)' })),
      () => gaps.length > 0,
      'the gap record',
      () => env.cancel(),
    ).catch(() => undefined);
    assert.deepEqual(gaps, [{ deviceId: DEVICE_ID, from: first - 4000, to: first, reason: 'collector lost (heartbeat timeout)' }]);
  });

  it('returns at the end of the lease, and reports a disabled device without connecting', async () => {
    const { deps: d } = deps(fakeProtocol());
    const env = new MockActivityEnvironment();
    const { runDeviceSession } = createSessionActivities(d);
    const result = (await env.run(runDeviceSession, input({ leaseMs: 120 }))) as RunSessionResult;
    assert.equal(result.reason, 'lease');
    assert.ok(result.points > 0);

    const disabled = deps(fakeProtocol(), {
      loadDevice: async () => ({ ...(await d.loadDevice!(DEVICE_ID))!, enabled: false }),
    });
    assert.deepEqual(await new MockActivityEnvironment().run(createSessionActivities(disabled.deps).runDeviceSession, input()), { reason: 'disabled', points: 0 });
  });

  it('tracks the largest heartbeat lateness per window', () => {
    const lag = new LagTracker(60_000);
    lag.observe(5);
    lag.observe(120);
    lag.observe(30);
    assert.equal(lag.maxMs, 120);
  });
});

describe('session activity: dial cap', () => {
  it('a second session dials only after the first one connected', async () => {
    const dials = new DialLimiter(1);
    const dialledAt: number[] = [];
    let connectFirst: () => void = () => {};
    const slowConnect: ProtocolSession = {
      protocol: 'gnmi',
      async run(ctx: SessionContext) {
        dialledAt.push(Date.now());
        if (dialledAt.length === 1) await new Promise<void>((r) => (connectFirst = r));
        ctx.onEvent({ type: 'connected' });
        if (!ctx.signal.aborted) await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      },
    };
    const { deps: d } = deps(slowConnect, { dials });
    const { runDeviceSession } = createSessionActivities(d);
    const envA = new MockActivityEnvironment();
    const envB = new MockActivityEnvironment();
    const a = envA.run(runDeviceSession, input({ leaseMs: 600 }));
    await until('the first dial', () => dialledAt.length === 1, 5_000, 5);
    const b = envB.run(runDeviceSession, input({ leaseMs: 400, attempt: 4 }));
    // Once the second session is queued at the limiter it cannot dial before a permit is given back.
    await until('the second session to queue for a dial slot', () => dials.waiting === 1, 5_000, 5);
    assert.equal(dialledAt.length, 1, 'the second session waits for a dial slot');
    connectFirst();
    await until('the second dial, once the first connected', () => dialledAt.length === 2, 5_000, 5);
    assert.equal(dials.waiting, 0);
    await Promise.all([a, b]);
    assert.equal(dials.active, 0, 'every permit was given back');
  });
});

describe('warm hand-over (ADR 235)', () => {
  /** A collector's warm sessions over the fake protocol, and the session activities that adopt them. */
  function warmRig(opts: { protocol?: ProtocolSession; loadDevice?: (id: number) => Promise<LoadedDevice | undefined>; unwanted?: Set<number> } = {}) {
    const rig = deps(opts.protocol ?? fakeProtocol(), opts.loadDevice ? { loadDevice: opts.loadDevice } : {});
    const warm = new WarmSessions({
      db: undefined as unknown as Knex,
      loadDevices: async (ids) => {
        const devices = new Map<number, LoadedDevice>();
        const failed = new Map<number, Error>();
        for (const id of ids) {
          const d = await rig.deps.loadDevice!(id).catch((err: Error) => err);
          if (d instanceof Error) failed.set(id, d);
          else if (d) devices.set(id, d);
        }
        return { devices, failed };
      },
      getProtocol: rig.deps.getProtocol,
      sink: rig.deps.sink,
      metrics: rig.deps.metrics,
      adoptWithinMs: 60_000,
      unwanted: async (ids) => new Set(ids.filter((id) => opts.unwanted?.has(id))),
    });
    rig.deps.warm = warm;
    return { ...rig, warm, metrics: rig.deps.metrics, activities: createSessionActivities(rig.deps) };
  }

  it('streams at once, then the attempt adopts the stream without dialling again; the gap ends at the warm stream\'s first point', async () => {
    let dials = 0;
    let runsEnded = 0;
    const counting: ProtocolSession = { protocol: 'gnmi', run: (ctx) => (dials++, fakeProtocol().run(ctx).finally(() => runsEnded++)) };
    const { warm, pushed, gaps, metrics, activities } = warmRig({ protocol: counting });
    await warm.start([DEVICE_ID]);
    await until('points before any attempt', () => pushed.length >= 3, 5_000, 5);
    const firstWarmPoint = pushed[0].timestamp;
    assert.equal(metrics.get('session_warm_starts_total'), 1);
    assert.equal(warm.waiting, 1);
    const env = new MockActivityEnvironment();
    const before = pushed.length;
    const result = (await runUntil(
      () => env.run(activities.runDeviceSession, input({ gapFrom: firstWarmPoint - 5_000, gapReason: 'collector lost' })),
      () => pushed.length >= before + 3 && gaps.length === 1,
      'more points through the attempt, and its gap',
      () => env.cancel('WORKER_SHUTDOWN'),
    )) as RunSessionResult;
    assert.equal(dials, 1, 'the attempt adopted the running stream');
    assert.equal(metrics.get('session_warm_adopted_total'), 1);
    assert.equal(result.reason, 'handover');
    assert.equal(result.points, pushed.length, 'the attempt counts the warm stream\'s points too');
    assert.deepEqual([gaps[0].from, gaps[0].to], [firstWarmPoint - 5_000, firstWarmPoint], 'the gap closes at the first warm point');
    assert.equal(warm.waiting, 0);
    await until('the adopted stream to end with its attempt', () => runsEnded === 1, 5_000, 5);
  });

  it('no gap when the previous attempt streamed past the warm stream\'s first point (make before break, ADR 236)', async () => {
    const { warm, pushed, gaps, activities } = warmRig();
    await warm.start([DEVICE_ID]);
    await until('warm points', () => pushed.length >= 2, 5_000, 5);
    const env = new MockActivityEnvironment();
    // The old collector's last point came after the new stream's first: the streams overlapped.
    const lastOld = pushed[1].timestamp;
    const before = pushed.length;
    await runUntil(
      () => env.run(activities.runDeviceSession, input({ gapFrom: lastOld, gapReason: 'COLLECTOR_LEAVING' })),
      () => pushed.length >= before + 3,
      'points through the attempt',
      () => env.cancel('WORKER_SHUTDOWN'),
    );
    assert.deepEqual(gaps, [], 'no gap recorded');
  });

  it('an attempt that loads another configuration ends the warm stream and dials its own', async () => {
    let dials = 0;
    const counting: ProtocolSession = { protocol: 'gnmi', run: (ctx) => (dials++, fakeProtocol().run(ctx)) };
    let port = 1;
    const rig0 = deps(counting);
    const loadDevice = async (id: number) => {
      const d = (await rig0.deps.loadDevice!(id))!;
      return { ...d, config: { ...d.config, port } };
    };
    const { warm, pushed, metrics, activities } = warmRig({ protocol: counting, loadDevice });
    await warm.start([DEVICE_ID]);
    await until('the warm stream\'s points', () => pushed.length > 0, 5_000, 5);
    port = 2; // edited between the hand-over and the attempt
    const env = new MockActivityEnvironment();
    const before = pushed.length;
    await runUntil(() => env.run(activities.runDeviceSession, input()), () => dials === 2 && pushed.length > before + 2, 'the attempt\'s own dial', () => env.cancel('WORKER_SHUTDOWN'));
    assert.equal(metrics.get('session_warm_ended_total', { reason: 'config-changed' }), 1);
    assert.equal(metrics.get('session_warm_adopted_total'), 0);
  });

  it('a stream nobody adopts ends: after COLLECTOR_WARM_ADOPT_MS, when its device is paused, disabled or deleted, or when an attempt streams it elsewhere', async () => {
    const { warm, pushed, metrics } = warmRig({ unwanted: new Set([DEVICE_ID + 1]) });
    await warm.start([DEVICE_ID, DEVICE_ID + 1]);
    await until('both streams', () => warm.waiting === 2 && pushed.length > 0, 5_000, 5);
    await warm.sweep();
    assert.equal(metrics.get('session_warm_ended_total', { reason: 'unwanted' }), 1);
    assert.equal(warm.waiting, 1);
    await warm.sweep(Date.now() + 60_001);
    assert.equal(metrics.get('session_warm_ended_total', { reason: 'expired' }), 1);
    assert.equal(warm.waiting, 0);
    // An attempt for the device started on another collector (say, from the shared queue): the stream here ends.
    await warm.start([DEVICE_ID + 2]);
    await until('a third stream', () => warm.waiting === 1, 5_000, 5);
    warm.takenElsewhere([DEVICE_ID + 2, DEVICE_ID + 3]);
    assert.equal(metrics.get('session_warm_ended_total', { reason: 'taken-elsewhere' }), 1);
    assert.equal(warm.waiting, 0);
  });

  it('no warm start for a device whose attempt already runs here, nor for one claimed while it loads', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const rig0 = deps(fakeProtocol());
    const { warm, metrics } = warmRig({ loadDevice: async (id) => (await gate, rig0.deps.loadDevice!(id)) });
    const starting = warm.start([DEVICE_ID]);
    assert.equal(warm.claim(DEVICE_ID), undefined, 'nothing to adopt yet');
    release();
    await starting;
    assert.equal(metrics.get('session_warm_starts_total'), 0, 'the attempt claimed the device while it loaded');
    await warm.start([DEVICE_ID]);
    assert.equal(metrics.get('session_warm_starts_total'), 0, 'its attempt runs here');
    assert.equal(metrics.get('session_warm_skipped_total', { reason: 'attempt-here' }), 2, 'each skip is counted');
    warm.release(DEVICE_ID);
    await warm.start([DEVICE_ID]);
    assert.equal(metrics.get('session_warm_starts_total'), 1, 'released: a hand-over may start it again');
    warm.close();
    assert.equal(metrics.get('session_warm_ended_total', { reason: 'leaving' }), 1);
  });

  it('a device that refuses the warm stream leaves nothing to adopt: the attempt dials and reports the failure itself', async () => {
    const { warm, metrics, activities } = warmRig({ protocol: fakeProtocol({ failWith: new SessionError('AUTH_FAILED', 'credentials rejected') }) });
    await warm.start([DEVICE_ID]);
    await until('the warm stream to fail', () => metrics.get('session_warm_ended_total', { reason: 'failed' }) === 1, 5_000, 5);
    assert.equal(warm.claim(DEVICE_ID), undefined);
    warm.release(DEVICE_ID);
    await assert.rejects(new MockActivityEnvironment().run(activities.runDeviceSession, input()), (e: unknown) => e instanceof ApplicationFailure && e.type === 'AUTH_FAILED');
  });

  it('reads hand-over notifications: queue names may contain bars, ids are positive integers', () => {
    assert.deepEqual(parseHandoff('device-sessions/a|b/1|1,2,30'), { taskQueue: 'device-sessions/a|b/1', deviceIds: [1, 2, 30] });
    assert.deepEqual(parseHandoff('q|x,0,-1,7'), { taskQueue: 'q', deviceIds: [7] });
    assert.equal(parseHandoff('no-bar'), undefined);
  });
});
