/**
 * Scenario fleet-ui (issue 19): the devices view with 10,000 devices. Server time of
 * `/devices` for each filter and sort (p50/p95 over repeated requests, measured by the
 * client on loopback: the whole response, HTML included), the HTML size of one page, and
 * a bulk pause through the web app's bulk action of every session workflow (the 5,000
 * "streaming" devices), timed until every one is acknowledged (ADR 136), with the Temporal
 * requests it made per second and the devices view's response times while it runs.
 *
 * The shape is 10,000 devices of which 5,000 stream. This machine (2 cores) holds
 * N real sessions (BENCH_FLEET_SESSIONS); the other 5,000 − N "streaming" devices are
 * enabled devices whose mirrored state (device_session_state, ADR 095) says streaming,
 * so the list's SQL sees the distribution of states. For the bulk pause each of
 * them gets a real session workflow too, whose session activity waits in the task queue
 * (the collector takes N sessions): Temporal, the control worker and the web app do the
 * work of 5,000 pauses; only N of them end a live stream.
 */
import os from 'node:os';
import { startDeviceSession } from '../../temporal/fleet-client';
import { forEachDevice } from '../../fleet/bulk';
import { frontendRequests, requestsBetween } from '../lib/temporal-metrics';
import { RECONCILE_SCHEDULE_ID } from '../../core/names';
import { freePort, isPortOpen, waitFor } from '../../scripts/infra/proc';
import { ensureWebBuild } from '../../scripts/infra/web-build';
import { createTestUser, signIn } from '../../testkit/web-auth';
import { percentile } from '../lib/procstat';
import { countersProfile, type BenchSystem } from '../lib/system';

/** fleet-ui options. */
export interface FleetUiOptions {
  /** Devices in all. */
  devices: number;
  /** Devices streaming (real sessions plus mirrored). */
  streaming: number;
  /** Real streaming sessions (simulated switches), paused in bulk at the end. */
  sessions: number;
  /** Requests per filter/sort case. */
  runs: number;
  /** Whether to end with the bulk pause of every session workflow. */
  bulk: boolean;
}

export async function fleetUi(sys: BenchSystem, o: FleetUiOptions) {
  await ensureWebBuild();
  const sim = await sys.startSimulator(o.sessions, 1);
  sys.spawn('control', 'workers/control.ts');
  // Exactly N sessions: the other session workflows' activities wait in the queue (never dial their addresses).
  await sys.startCollector('collector', { COLLECTOR_MAX_SESSIONS: String(o.sessions) });
  const webPort = await freePort();
  // The mirror is read once after the real sessions stream (below), then left alone so the mirrored
  // "streaming" rows of devices without sessions stay for the measurement.
  sys.spawn('web', 'web/server.ts', { WEB_PORT: String(webPort), WEB_FLEET_STATE_SYNC_MS: '3600000' });
  await waitFor('the web app', () => isPortOpen(webPort), 60_000);
  // The reconcile schedule would start a workflow for each disabled device (production does that); here it is
  // paused so the figures are the view's, not 10,000 workflow starts competing for two cores.
  await waitFor('the reconcile schedule', async () => Boolean(await sys.client.schedule.getHandle(RECONCILE_SCHEDULE_ID).describe().catch(() => undefined)), 60_000);
  await sys.client.schedule.getHandle(RECONCILE_SCHEDULE_ID).pause('fleet-ui benchmark');

  const ids = await sys.addDevices(sim.ports, countersProfile(10_000), { prefix: 'fleet' });
  const profileId = (await sys.db('device_profiles').where({ device_id: ids[0] }).first('profile_id')).profile_id as number;
  await waitFor(
    `${ids.length} sessions streaming (visibility)`,
    async () => {
      const { count } = await sys.client.workflow.count(`WorkflowType = 'deviceSessionWorkflow' AND ExecutionStatus = 'Running' AND SessionState = 'streaming'`);
      return count >= ids.length;
    },
    300_000,
    2000,
  );
  const others = o.devices - ids.length;
  await sys.db.raw(
    `INSERT INTO devices (name, protocol, host, port, site, enabled)
     SELECT 'lab-sw-' || i, CASE WHEN i % 5 = 0 THEN 'netconf' ELSE 'gnmi' END,
            '10.' || (i / 65536) % 256 || '.' || (i / 256) % 256 || '.' || i % 256, 57400, 'site-' || (i % 40 + 1), i <= ?
       FROM generate_series(1, ?) AS i`,
    [o.streaming - ids.length, others],
  );
  const base = `http://127.0.0.1:${webPort}`;
  const cookie = await signIn(base, (await createTestUser(sys.db, 'admin', 'bench-admin@example.test')).email, 'admin-password-for-tests');
  const get = async (path: string) => {
    const t0 = performance.now();
    const res = await fetch(`${base}${path}`, { headers: { cookie } });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    return { ms: performance.now() - t0, bytes: Buffer.byteLength(body) };
  };
  await get('/devices'); // starts the mirror: the real sessions' states
  await sys.db.raw(
    `INSERT INTO device_session_state (device_id, state) SELECT id, 'streaming' FROM devices WHERE name LIKE 'lab-sw-%' AND enabled
     ON CONFLICT (device_id) DO UPDATE SET state = EXCLUDED.state`,
  );
  await sys.db.raw('ANALYZE devices; ANALYZE device_session_state; ANALYZE device_profiles');

  const cases: Record<string, string> = {
    default: '/devices',
    'page 100 of 200': '/devices?page=100',
    '200 per page': '/devices?size=200',
    'prefix lab-sw-12': '/devices?q=lab-sw-12',
    'address prefix 10.0.1.': '/devices?q=10.0.1.',
    'site-7': '/devices?site=site-7',
    'state streaming': '/devices?state=streaming',
    'state disabled, last page': '/devices?state=disabled&page=100',
    'protocol netconf': '/devices?protocol=netconf',
    profile: `/devices?profile=${profileId}`,
    'enabled no': '/devices?enabled=no',
    'site-7 + streaming + gnmi': '/devices?site=site-7&state=streaming&protocol=gnmi',
  };
  for (const sort of ['name', 'protocol', 'address', 'site', 'state', 'enabled', 'points', 'seen']) {
    cases[`sort ${sort} asc`] = `/devices?sort=${sort}`;
    cases[`sort ${sort} desc`] = `/devices?sort=${sort}&dir=desc`;
  }
  const perCase: Record<string, { p50Ms: number; p95Ms: number; bytes: number }> = {};
  const all: number[] = [];
  for (const [name, path] of Object.entries(cases)) {
    await get(path); // warm
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < o.runs; i++) {
      const r = await get(path);
      times.push(r.ms);
      bytes = r.bytes;
    }
    all.push(...times);
    perCase[name] = { p50Ms: round1(percentile(times, 50)), p95Ms: round1(percentile(times, 95)), bytes };
    process.stderr.write(`  ${name.padEnd(28)} p50 ${perCase[name].p50Ms} ms  p95 ${perCase[name].p95Ms} ms  ${(bytes / 1024).toFixed(1)} KiB\n`);
  }
  const worstCase = Object.entries(perCase).sort((a, b) => b[1].p95Ms - a[1].p95Ms)[0];
  const summary = {
    devices: o.devices,
    streamingInMirror: o.streaming,
    realSessions: ids.length,
    runsPerCase: o.runs,
    serverP50Ms: round1(percentile(all, 50)),
    serverP95Ms: round1(percentile(all, 95)),
    worstCase: { name: worstCase[0], ...worstCase[1] },
    htmlBytesDefaultPage: perCase.default.bytes,
    htmlBytes200PerPage: perCase['200 per page'].bytes,
    perCase,
  };
  process.stderr.write(`  /devices over all cases: p50 ${summary.serverP50Ms} ms, p95 ${summary.serverP95Ms} ms (load average ${os.loadavg().map(round1).join(', ')})\n`);
  // BENCH_FLEET_BULK=0: the view's figures only (the bulk pause alone is the bulk-pause scenario).
  if (!o.bulk) return { ...summary, bulkPause: undefined };

  // A session workflow for every other "streaming" device (enabled lab-sw-…), so the bulk pause meets 5,000.
  const lab = (await sys.db('devices').where('name', 'like', 'lab-sw-%').where({ enabled: true }).select('id', 'name')) as Array<{ id: number; name: string }>;
  const labNames = new Map(lab.map((d) => [d.id, d.name]));
  const tStart = performance.now();
  await forEachDevice([...labNames.keys()], 64, async (id) => void (await startDeviceSession(sys.client, { id, name: labNames.get(id)!, protocol: 'gnmi' }, {})));
  const workflows = ids.length + lab.length;
  await waitFor(
    `${workflows} session workflows running (visibility)`,
    async () => (await sys.client.workflow.count(`WorkflowType = 'deviceSessionWorkflow' AND ExecutionStatus = 'Running'`)).count >= workflows,
    600_000,
    2000,
  );
  process.stderr.write(`  ${lab.length} more session workflows started in ${((performance.now() - tStart) / 1000).toFixed(1)} s\n`);

  // Bulk pause of every session workflow through the bulk page's form post (all enabled devices): the answer is
  // the progress page at once; the action runs on in the web process until every workflow acknowledged.
  const form = new URLSearchParams({ op: 'pause', scope: 'filter', filter: 'enabled=yes', confirm: 'yes', expected: String(workflows) });
  const calls0 = await frontendRequests(sys.temporalMetricsPort);
  const t0 = performance.now();
  const res = await fetch(`${base}/devices/bulk`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    body: form.toString(),
  });
  await res.text();
  const answeredMs = performance.now() - t0;
  const bulkId = Number(/\/devices\/bulk\/(\d+)$/.exec(res.headers.get('location') ?? '')?.[1]);
  if (!bulkId) throw new Error(`the bulk form answered ${res.status} without the progress page`);
  // While it runs: the devices view and the progress page, one request after another (is the web app responsive?).
  const during: number[] = [];
  let record: { device_count: number; done: number; failed: number; finished_at: Date | null; started_at: Date } | undefined;
  // Bounded (BENCH_FLEET_BULK_MAX_S, 30 min): a run cut off reports how far it got.
  const maxMs = Number(process.env.BENCH_FLEET_BULK_MAX_S ?? 1800) * 1000;
  for (;;) {
    record = await sys.db('bulk_actions').where({ id: bulkId }).first('device_count', 'done', 'failed', 'finished_at', 'started_at');
    if (record?.finished_at || performance.now() - t0 > maxMs) break;
    during.push((await get('/devices')).ms, (await get(`/devices/bulk/${bulkId}`)).ms);
  }
  const finished = Boolean(record!.finished_at);
  const bulkSeconds = ((record!.finished_at ?? new Date()).getTime() - record!.started_at.getTime()) / 1000;
  if (!finished) process.stderr.write(`  bulk pause cut off after ${bulkSeconds.toFixed(0)} s: ${record!.done} of ${record!.device_count} done\n`);
  const calls = requestsBetween(calls0, await frontendRequests(sys.temporalMetricsPort));
  const bulkCalls = (calls.SignalWorkflowExecution ?? 0) + (calls.ListWorkflowExecutions ?? 0) + (calls.UpdateWorkflowExecution ?? 0);
  const { count: pausedCount } = await sys.client.workflow.count(`WorkflowType = 'deviceSessionWorkflow' AND ExecutionStatus = 'Running' AND SessionState = 'paused'`);
  process.stderr.write(
    `  bulk pause: ${record!.done - record!.failed}/${record!.device_count} acknowledged in ${bulkSeconds.toFixed(1)} s (${record!.failed} failed); ` +
      `form answered in ${answeredMs.toFixed(0)} ms; bulk Temporal calls ${bulkCalls} (${(bulkCalls / bulkSeconds).toFixed(0)}/s: ${JSON.stringify(calls)}); ` +
      `pages meanwhile p50 ${percentile(during, 50).toFixed(0)} ms, p95 ${percentile(during, 95).toFixed(0)} ms, max ${Math.max(0, ...during).toFixed(0)} ms\n`,
  );
  return {
    ...summary,
    bulkPause: {
      workflows,
      liveSessions: ids.length,
      seconds: round1(bulkSeconds),
      finished,
      formAnsweredMs: round1(answeredMs),
      acknowledged: record ? record.done - record.failed : 0,
      // Not acknowledged: failed, or still waiting when the run was cut off.
      failed: record ? record.device_count - (record.done - record.failed) : workflows,
      pausedPerVisibility: pausedCount,
      temporalCalls: bulkCalls,
      temporalCallsPerSecond: round1(bulkCalls / bulkSeconds),
      temporalRequestsByOperation: calls,
      pagesDuringP50Ms: round1(percentile(during, 50)),
      pagesDuringP95Ms: round1(percentile(during, 95)),
      pagesDuringMaxMs: round1(Math.max(0, ...during)),
    },
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
