/**
 * Scenario bulk-pause (issue 19): a bulk pause of every session workflow, as the bulk action
 * runs it (its workflow on the control worker, ADR 170), without the web app around it —
 * the figure fleet-ui reports at the end, alone, so it can be run at 1,000 to check a change.
 *
 * `live` devices stream from the simulator through one collector (their pause ends a real
 * stream: the collector ends the attempt as paused, ADR 250); the other session workflows (the same
 * profile, placed as the control worker's defaults place them) point at a loopback listener that
 * never answers and wait in the queue or stay connecting (the collector takes `live` sessions on
 * its own queue, and as many on the shared one, where sessions go when no collector has room). Reported: seconds from
 * the action's start until every device was acknowledged, per device the time from the bulk
 * action's start and from its pause signal to the workflow showing `paused` (read from each
 * workflow's history: the signal's event and the search-attribute change to paused), how the
 * pause reached the devices (ended by their collector, signalled), workflow tasks completed per second, Temporal requests by operation, CPU of the control worker and the
 * Temporal dev server, and the control worker's RSS.
 */
import net from 'node:net';
import { startBulkAction, forEachDevice } from '../../fleet/bulk';
import { startDeviceSession } from '../../temporal/fleet-client';
import { RECONCILE_SCHEDULE_ID, deviceSessionWorkflowId, pauseSignal } from '../../core/names';
import { bulkPauseRoutes, type PlannedDevice } from '../../storage/bulk-actions';
import { waitFor } from '../../scripts/infra/proc';
import { frontendRequests, requestsBetween } from '../lib/temporal-metrics';
import { CpuMeter, percentile, processTree, rssBytes } from '../lib/procstat';
import { countersProfile, type BenchSystem } from '../lib/system';

/** bulk-pause options. */
export interface BulkPauseOptions {
  /** Session workflows in all (paused in bulk). */
  sessions: number;
  /** Of them, real streaming sessions. */
  live: number;
  /** The pause is cut off after this long and reported as far as it got. */
  maxSeconds: number;
}

/** Session options as the control worker's defaults start them: placed on a collector's own queue (ADR 110). */
const PLACED = { placement: true, placedHeartbeatTimeoutMs: 60_000 };

/**
 * A loopback listener that accepts connections and never answers: sessions pointed there stay
 * connecting (a refused connection would back off and retry, round after round, and that churn of
 * workflow tasks would be measured with the pause).
 */
async function silentListener(): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * When the workflow's history shows the pause signal, if any, and SessionState paused after it and after `since` (the bulk
 * action's start: a session whose collector ended it as paused gets no signal, ADR 250), in ms since epoch.
 */
async function pauseTimes(sys: BenchSystem, deviceId: number, since: number): Promise<{ signalledAt?: number; pausedAt?: number }> {
  const history = await sys.client.workflow.getHandle(deviceSessionWorkflowId(deviceId)).fetchHistory();
  let signalledAt: number | undefined;
  let pausedAt: number | undefined;
  for (const e of history.events ?? []) {
    const at = e.eventTime ? Number(e.eventTime.seconds ?? 0) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6) : undefined;
    if (signalledAt === undefined && e.workflowExecutionSignaledEventAttributes?.signalName === pauseSignal.name) signalledAt = at;
    const sa = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.SessionState?.data;
    if (at !== undefined && at >= since && pausedAt === undefined && sa && Buffer.from(sa).toString().includes('paused')) pausedAt = at;
  }
  return { signalledAt, pausedAt };
}

export async function bulkPause(sys: BenchSystem, o: BulkPauseOptions) {
  const control = sys.spawn('control', 'workers/control.ts');
  const live = Math.min(o.live, o.sessions);
  let ids: number[] = [];
  if (live > 0) {
    const sim = await sys.startSimulator(live, 1);
    await sys.startCollector('collector', { COLLECTOR_MAX_SESSIONS: String(live) });
    ids = await sys.addDevices(sim.ports, countersProfile(10_000), { prefix: 'live', sessionOptions: PLACED });
  }
  // Paused: the schedule would restart or reconfigure sessions while the figures are taken.
  await waitFor('the reconcile schedule', async () => Boolean(await sys.client.schedule.getHandle(RECONCILE_SCHEDULE_ID).describe().catch(() => undefined)), 60_000);
  await sys.client.schedule.getHandle(RECONCILE_SCHEDULE_ID).pause('bulk-pause benchmark');
  if (live > 0) {
    await waitFor(
      `${live} sessions streaming (visibility)`,
      async () => (await sys.client.workflow.count(`WorkflowType = 'deviceSessionWorkflow' AND ExecutionStatus = 'Running' AND SessionState = 'streaming'`)).count >= live,
      // Sessions start at a few a second on a loaded 2-core machine (5,000 took 355-896 s in the failover runs).
      Math.max(300_000, live * 250),
      2000,
    );
  }
  const silent = await silentListener();
  const port = silent.port;
  const rows = (await sys.db.raw(
    `INSERT INTO devices (name, protocol, host, port, site, enabled)
     SELECT 'waiting-' || i, 'gnmi', '127.0.0.1', ?, 'site-' || (i % 40 + 1), true FROM generate_series(1, ?) AS i RETURNING id, name`,
    [port, o.sessions - live],
  )).rows as Array<{ id: number; name: string }>;
  // The live devices' profile: a valid configuration (without one each session would park as config-invalid).
  const profile = await sys.db('device_profiles').first('profile_id');
  if (profile) {
    await sys.db.raw(`INSERT INTO device_profiles (device_id, profile_id) SELECT unnest(?::int[]), ?`, [rows.map((r) => r.id), profile.profile_id]);
  }
  const t0 = performance.now();
  await forEachDevice(rows.map((r) => r.id), 64, async (id) => void (await startDeviceSession(sys.client, { id, name: rows.find((r) => r.id === id)!.name, protocol: 'gnmi' }, PLACED)));
  await waitFor(
    `${o.sessions} session workflows running (visibility)`,
    async () => (await sys.client.workflow.count(`WorkflowType = 'deviceSessionWorkflow' AND ExecutionStatus = 'Running'`)).count >= o.sessions,
    900_000,
    2000,
  );
  process.stderr.write(`  ${rows.length} more session workflows started in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  // Let the starts settle (first attempts placed or queued, failures backing off) before the pause.
  const settleUntil = Date.now() + 600_000;
  let tasks = -1;
  for (;;) {
    const now = (await frontendRequests(sys.temporalMetricsPort)).get('RespondWorkflowTaskCompleted') ?? 0;
    if (now - tasks < 20 || Date.now() > settleUntil) break;
    tasks = now;
    await new Promise((r) => setTimeout(r, 5000));
  }

  const devices = (await sys.db('devices').where({ enabled: true }).orderBy('id').select('id', 'name')) as Array<{ id: number; name: string }>;
  const plan: PlannedDevice[] = devices.map((d) => ({ id: d.id, name: d.name, protocol: 'gnmi', enabled: true, hasWorkflow: true }));
  const meter = new CpuMeter(() => ({ control: processTree([control.child.pid!]), temporal: sys.temporalPids() }));
  const calls0 = await frontendRequests(sys.temporalMetricsPort);
  const load0 = (await import('node:os')).loadavg();
  meter.begin();
  const { id: bulkId } = await startBulkAction({ db: sys.db, client: sys.client }, { action: 'pause', devices: plan, who: 'bench', selection: 'filter', filter: 'enabled=yes' });
  const maxMs = o.maxSeconds * 1000;
  const started = performance.now();
  let record: { device_count: number; done: number; failed: number; finished_at: Date | null; started_at: Date } | undefined;
  let rssMax = 0;
  let lastPrint = 0;
  for (;;) {
    record = await sys.db('bulk_actions').where({ id: bulkId }).first('device_count', 'done', 'failed', 'finished_at', 'started_at');
    rssMax = Math.max(rssMax, ...processTree([control.child.pid!]).map((p) => rssBytes(p)));
    if (record?.finished_at || performance.now() - started > maxMs) break;
    if (performance.now() - lastPrint > 10_000) {
      lastPrint = performance.now();
      process.stderr.write(`  … ${((performance.now() - started) / 1000).toFixed(0)} s: ${record?.done ?? 0} of ${record?.device_count} done\n`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const cpu = meter.end();
  const load1 = (await import('node:os')).loadavg();
  const calls = requestsBetween(calls0, await frontendRequests(sys.temporalMetricsPort));
  const finished = Boolean(record!.finished_at);
  const startMs = record!.started_at.getTime();
  const seconds = ((record!.finished_at ?? new Date()).getTime() - startMs) / 1000;
  // Per device, from its workflow's history (all of them: a few seconds per thousand).
  const times: Array<{ signalledAt?: number; pausedAt?: number }> = [];
  await forEachDevice(plan.map((d) => d.id), 16, async (id) => void times.push(await pauseTimes(sys, id, startMs)));
  const fromStart = times.filter((t) => t.pausedAt).map((t) => t.pausedAt! - startMs);
  const fromSignal = times.filter((t) => t.pausedAt && t.signalledAt).map((t) => t.pausedAt! - t.signalledAt!);
  const signalledBy = Math.max(...times.filter((t) => t.signalledAt).map((t) => t.signalledAt! - startMs));
  const workflowTasks = calls.RespondWorkflowTaskCompleted ?? 0;
  const r = {
    sessions: o.sessions,
    live: ids.length,
    finished,
    seconds: round1(seconds),
    acknowledged: record!.done - record!.failed,
    notAcknowledged: record!.device_count - (record!.done - record!.failed),
    pausedPerHistory: fromStart.length,
    lastSignalAfterMs: signalledBy,
    pausedAfterStartMs: { p50: percentile(fromStart, 50), p95: percentile(fromStart, 95), max: Math.max(...fromStart) },
    pausedAfterSignalMs: { p50: percentile(fromSignal, 50), p95: percentile(fromSignal, 95), max: Math.max(...fromSignal) },
    // ended: by the collector running the attempt (ADR 250); signal, not-running, unanswered: by the pause signal.
    routes: await bulkPauseRoutes(sys.db, bulkId),
    workflowTasks,
    workflowTasksPerSecond: round1(workflowTasks / seconds),
    workflowTasksPerPause: round1(workflowTasks / o.sessions),
    temporalRequests: calls,
    cpuPercent: cpu,
    // CPU time per paused session: what the machine must give each process for the pause, whatever its load.
    cpuMsPerPause: Object.fromEntries(Object.entries(cpu).map(([k, pct]) => [k, round1((pct / 100) * seconds * 1000 / o.sessions)])),
    controlRssMaxMiB: Math.round(rssMax / 2 ** 20),
    loadAverage: { before: load0.map(round1), after: load1.map(round1) },
    settings: {
      CONTROL_MAX_CACHED_WORKFLOWS: process.env.CONTROL_MAX_CACHED_WORKFLOWS ?? '(default)',
      CONTROL_WORKFLOW_TASK_SLOTS: process.env.CONTROL_WORKFLOW_TASK_SLOTS ?? '(default)',
      CONTROL_WORKFLOW_TASK_POLLERS: process.env.CONTROL_WORKFLOW_TASK_POLLERS ?? '(default)',
      BULK_CONCURRENCY: process.env.BULK_CONCURRENCY ?? '(default)',
    },
  };
  process.stderr.write(`  ${JSON.stringify(r)}\n`);
  silent.close();
  return r;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
