/**
 * The deployment topology, run end to end on this machine (scripts/infra/topology.ts):
 * PostgreSQL with TimescaleDB preloaded, the Temporal server on PostgreSQL with Temporal
 * Web, `migrate` once, three collectors, a control worker, two web processes and a
 * simulator with 30 switches — separate processes configured only by environment. It
 * proves, in order: placement spreads the sessions over the collectors within their
 * share ±10 % (and Temporal Web lists them); kill -9 of a collector moves its sessions
 * to the others once its liveness lock goes with its connection (ADR 296), before its lease
 * could lapse and however long the session heartbeat timeout, with gaps recorded; a collector that joins receives its share by rebalancing; `ctl drain`
 * empties a collector; SIGTERM hands over at once; a rolling restart of every collector
 * (drain, stop) loses no point;
 * restarting the Temporal server loses no session; a web process killed under a live
 * stream is replaced by the other one, resuming with Last-Event-ID without losing a
 * point. At every checkpoint: stored = received − counted drops.
 *
 * Accounting across a collector's death: before a collector is killed or stopped, the
 * devices it holds are stalled until its counters stop moving and its batcher is empty;
 * its last scrape is then exact, and is kept in the totals (the rest of the fleet keeps
 * streaming). The stall ends as soon as the collector is gone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { deviceSessionWorkflowId, statusQuery } from '../../core/names';
import { withinShare } from '../../core/placement';
import { SETTING_NAMES } from '../../core/config';
import { role } from '../../core/roles';
import { entryArgs } from '../../scripts/infra/entry';
import { waitFor } from '../../scripts/infra/proc';
import { startTopology, type RoleProcess, type Topology } from '../../scripts/infra/topology';
import { assertTimescaleDbServer, storageModesUnderTest } from '../support/db';
import { sumMetric } from '../support/faults-rig';
import { readSse, sseEvents } from '../support/faults-web';
import { signIn, signInPage } from '../../testkit/web-auth';
import { launchBrowser } from '../support/browser-rig';
import { startTcpProxy } from '../support/tcp-proxy';

const HEARTBEAT_TIMEOUT_MS = 4000;
/** Placed sessions' heartbeat timeout: long on purpose, failover must come from the collector lease (ADR 110). */
const PLACED_HEARTBEAT_TIMEOUT_MS = 60_000;
const COLLECTOR_LEASE_MS = 3000;
const PLACEMENT_MAX_MOVES = 4;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const DEVICES = 30;
const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** p-th percentile (nearest rank) of `xs`. */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

describe('topology: the deployment shape on one machine', function () {
  this.timeout(300_000);
  let topo: Topology;
  let client: Client;
  let pool: pg.Pool;
  let tmp: string;
  /** Final counters of collectors that are gone (scraped when they could no longer change). */
  const retired = { received: 0, dropped: 0 };
  const figures: string[] = [];
  const liveCollectors = () => topo.collectors.filter((c) => c.alive());

  async function metricsText(c: RoleProcess): Promise<string> {
    return (await fetch(`${c.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  }

  /** Sessions a collector runs (connecting + streaming), and those streaming. */
  async function sessionsOf(c: RoleProcess): Promise<{ total: number; streaming: number }> {
    const text = await metricsText(c);
    const streaming = Number(/^sessions\{state="streaming"\} (\d+)/m.exec(text)?.[1] ?? 0);
    return { total: sumMetric(text, 'sessions'), streaming };
  }

  /** Device id → pid of the collector whose worker runs its current session activity (Temporal's view). */
  async function holders(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    await Promise.all(
      topo.devices.map(async (d) => {
        const desc = await client.workflow.getHandle(deviceSessionWorkflowId(d.id)).describe();
        // An attempt abandoned after its collector's lease lapsed stays pending until its heartbeat timeout: take the newest.
        const pending = (desc.raw.pendingActivities ?? [])
          .filter((a) => a.activityType?.name === 'runDeviceSession')
          .sort((a, b) => Number(b.activityId) - Number(a.activityId))[0];
        const pid = Number(pending?.lastWorkerIdentity?.split('@')[0]);
        if (pid) out.set(d.id, pid);
      }),
    );
    return out;
  }

  /** The live collector holding the most sessions, and the devices it holds. */
  function busiest(held: Map<number, number>): { victim: RoleProcess; moved: number[] } {
    const count = (c: RoleProcess) => [...held.values()].filter((pid) => pid === c.pid).length;
    const victim = [...liveCollectors()].sort((a, b) => count(b) - count(a))[0];
    return { victim, moved: [...held].filter(([, pid]) => pid === victim.pid).map(([id]) => id) };
  }

  /** Stall (or resume) sending on devices, through the simulator's fault API. */
  async function stall(deviceIds: number[], on: boolean): Promise<void> {
    const names = topo.devices.filter((d) => deviceIds.includes(d.id)).map((d) => d.name);
    await Promise.all(
      names.map(async (name) => {
        const res = await fetch(`${topo.simulator.url}/devices/${encodeURIComponent(name)}/faults/stall`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ args: [on] }),
        });
        assert.equal(res.status, 200, `stall ${name}: ${await res.text()}`);
      }),
    );
  }

  async function accounting(): Promise<{ received: number; dropped: number; stored: number }> {
    let { received, dropped } = retired;
    for (const c of liveCollectors()) {
      const text = await metricsText(c);
      received += sumMetric(text, 'session_points_received_total');
      dropped += sumMetric(text, 'ingest_points_dropped_total');
    }
    const { rows } = await pool.query<{ n: number }>(`SELECT (SELECT count(*) FROM samples)::int + (SELECT count(*) FROM states)::int AS n`);
    return { received, dropped, stored: rows[0].n };
  }

  /**
   * Stall every device, wait until every received point is stored or counted as dropped
   * (and nothing moves for a second), check stored = received − dropped, resume.
   */
  async function checkpoint(label: string): Promise<void> {
    const all = topo.devices.map((d) => d.id);
    await stall(all, true);
    try {
      let last: Awaited<ReturnType<typeof accounting>> | undefined;
      let a = await accounting();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        await sleep(1000);
        last = a;
        a = await accounting();
        if (a.stored === a.received - a.dropped && a.received === last.received && a.stored === last.stored) break;
      }
      figures.push(`${label}: received ${a.received}, dropped ${a.dropped}, stored ${a.stored}`);
      assert.ok(a.received > 0, `${label}: points were received`);
      assert.equal(a.stored, a.received - a.dropped, `${label}: stored = received − dropped (received ${a.received}, dropped ${a.dropped})`);
    } finally {
      await stall(all, false);
    }
  }

  /**
   * Stall the devices `victim` holds until its counters stop moving and its batcher is
   * empty, then keep its last scrape in the totals: nothing more can reach it.
   */
  async function drainBeforeLoss(victim: RoleProcess, deviceIds: number[]): Promise<void> {
    await stall(deviceIds, true);
    let text = await metricsText(victim);
    await waitFor(`${victim.name} idle and flushed`, async () => {
      await sleep(500);
      const next = await metricsText(victim);
      const same = sumMetric(next, 'session_points_received_total') === sumMetric(text, 'session_points_received_total');
      text = next;
      return same && sumMetric(next, 'ingest_buffered_points') === 0;
    }, 20_000, 0);
    retired.received += sumMetric(text, 'session_points_received_total');
    retired.dropped += sumMetric(text, 'ingest_points_dropped_total');
  }

  /** Time (ms after `since`) until the live collectors other than `leaving` hold every session. */
  async function untilAllHeld(leaving: RoleProcess, since: number, timeoutMs: number): Promise<number> {
    await waitFor('the other collectors holding every session', async () => {
      const s = await Promise.all(liveCollectors().filter((c) => c !== leaving).map(sessionsOf));
      return s.reduce((n, x) => n + x.total, 0) === DEVICES;
    }, timeoutMs, 100);
    return Date.now() - since;
  }

  /** Per device: ms from `since` to its first stored sample after `since`. */
  async function firstPointsAfter(deviceIds: number[], since: number): Promise<Map<number, number>> {
    let got = new Map<number, number>();
    await waitFor('points from every moved device', async () => {
      const { rows } = await pool.query<{ device_id: number; t: number }>(
        `SELECT se.device_id, (extract(epoch FROM min(s.time)) * 1000)::float8 AS t FROM samples s JOIN series se ON se.id = s.series_id
          WHERE se.device_id = ANY($1) AND s.time > to_timestamp($2::float8 / 1000) GROUP BY se.device_id`,
        [deviceIds, since],
      );
      got = new Map(rows.map((r) => [Number(r.device_id), r.t - since]));
      return got.size === deviceIds.length;
    }, 60_000, 250);
    return got;
  }

  /** Streaming sessions per live collector (their /metrics), and whether each is within its share ±10 %. */
  async function spread(among: RoleProcess[] = liveCollectors()): Promise<{ counts: number[]; balanced: boolean }> {
    const counts = (await Promise.all(among.map(sessionsOf))).map((x) => x.streaming);
    const total = counts.reduce((n, x) => n + x, 0);
    return { counts, balanced: total === DEVICES && counts.every((n) => withinShare(n, DEVICES / among.length)) };
  }

  /** Wait until the sessions are spread within ±10 % over `among`; returns the counts and how long it took. */
  async function untilBalanced(what: string, among: RoleProcess[], timeoutMs: number): Promise<{ counts: number[]; ms: number }> {
    const since = Date.now();
    let last: Awaited<ReturnType<typeof spread>> = { counts: [], balanced: false };
    await waitFor(what, async () => (last = await spread(among)).balanced, timeoutMs, 250).catch((err) => {
      throw new Error(`${(err as Error).message}; sessions per collector ${last.counts.join(' / ')} (share ${(DEVICES / among.length).toFixed(1)} ±10 %)`);
    });
    return { counts: last.counts, ms: Date.now() - since };
  }

  /** The registry id of a collector process (default COLLECTOR_ID: `<hostname>-<pid>`). */
  async function collectorIdOf(c: RoleProcess): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM collectors WHERE id LIKE '%-' || $1::text AND lease_until > now()`, [String(c.pid)]);
    assert.equal(rows.length, 1, `${c.name} (pid ${c.pid}) is registered and live`);
    return rows[0].id;
  }

  /** Run `npm run ctl -- …` as an operator would, against the topology's database and Temporal. */
  async function ctl(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(process.execPath, [...entryArgs(ROOT, 'scripts/ctl.ts'), ...args], {
      cwd: ROOT,
      env: { ...topo.control.env, LOG_LEVEL: 'warn' },
      timeout: 180_000,
    });
    return stdout;
  }

  /** Devices with a gap recorded that ended after `since`. */
  async function devicesWithGapsAfter(since: number): Promise<Set<number>> {
    const { rows } = await pool.query<{ device_id: number }>(`SELECT DISTINCT device_id FROM gaps WHERE ended_at > to_timestamp($1::float8 / 1000)`, [since]);
    return new Set(rows.map((r) => Number(r.device_id)));
  }

  before(async function () {
    this.timeout(600_000); // a first run builds the Temporal server and Temporal Web from the Go module proxy
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'topology-'));
    const started = Date.now();
    topo = await startTopology({
      dir: tmp,
      ephemeral: true,
      gnmiDevices: DEVICES,
      ui: true,
      env: {
        SESSION_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
        SESSION_PLACED_HEARTBEAT_TIMEOUT_MS: String(PLACED_HEARTBEAT_TIMEOUT_MS),
        COLLECTOR_LEASE_MS: String(COLLECTOR_LEASE_MS),
        PLACEMENT_MAX_MOVES: String(PLACEMENT_MAX_MOVES),
        LOG_LEVEL: process.env.TEST_PROCESS_LOG_LEVEL ?? 'warn',
      },
      quiet: !process.env.TEST_VERBOSE,
      log: (line) => process.env.TEST_VERBOSE && process.stderr.write(`      ${line}\n`),
    });
    figures.push(`topology up in ${secs(Date.now() - started)}`);
    const connection = await Connection.connect({ address: topo.temporal.address });
    client = new Client({ connection, namespace: topo.temporal.namespace });
    pool = new pg.Pool({ connectionString: topo.databaseUrl, max: 4 });
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed' || !topo) return;
    const procs = [topo.simulator, topo.control, ...topo.collectors, ...topo.webs];
    for (const p of procs) {
      const lines = fs.existsSync(p.logFile) ? fs.readFileSync(p.logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      console.log(`--- ${p.name} (pid ${p.pid}${p.alive() ? '' : ', exited'})\n${lines}`);
    }
    const server = fs.existsSync(topo.temporal.logFile) ? fs.readFileSync(topo.temporal.logFile, 'utf8').split('\n').slice(-10) : [];
    console.log(`--- Temporal server\n${server.map((l) => l.slice(0, 400)).join('\n')}`);
  });

  after(async () => {
    if (figures.length) console.log(figures.map((f) => `      ${f}`).join('\n'));
    await pool?.end().catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    await topo?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs on TimescaleDB and the Temporal server on PostgreSQL, each role configured only by environment', async () => {
    if (storageModesUnderTest().includes('timescaledb')) {
      await assertTimescaleDbServer(topo.databaseUrl);
      const { rows } = await pool.query(`SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_name = 'samples'`);
      assert.equal(rows.length, 1, 'migrate created samples as a hypertable');
    }
    const system = await client.connection.workflowService.getClusterInfo({});
    assert.equal(system.persistenceStore, 'postgres12', 'the Temporal server persists to PostgreSQL');
    assert.equal(system.visibilityStore, 'postgres12', 'and keeps visibility in PostgreSQL');
    // Separate processes: each its own pid and data folder; the simulator knows nothing of the database or the keys.
    const all = [topo.control, ...topo.collectors, ...topo.webs, topo.simulator];
    assert.equal(new Set(all.map((p) => p.pid)).size, all.length);
    assert.equal(new Set(all.map((p) => p.env.DATA_DIR)).size, all.length);
    assert.ok(all.every((p) => p.alive()));
    assert.equal(topo.simulator.env.DATABASE_URL ?? topo.simulator.env.SECRETS_KEY ?? topo.simulator.env.SECRETS_KEY_FILE, undefined);
    // Secrets reach the roles as files only, as Compose secrets and Kubernetes Secret volumes give them (deploy/).
    for (const p of [...all.filter((x) => x !== topo.simulator), topo.migrate]) {
      const spec = role(p.role);
      for (const name of spec.requiredEnv) assert.ok(p.env[name] || p.env[`${name}_FILE`], `${p.name}: ${name} or ${name}_FILE`);
      for (const name of ['SECRETS_KEY', 'SESSION_SECRET', 'DATABASE_PASSWORD']) assert.equal(p.env[name], undefined, `${p.name}: ${name} is not in its environment`);
      assert.equal(new URL(p.env.DATABASE_URL).password, '', `${p.name}: DATABASE_URL carries no password`);
      for (const [name, file] of Object.entries(p.env).filter(([k]) => k.endsWith('_FILE'))) assert.ok(fs.readFileSync(file, 'utf8').trim(), `${p.name}: ${name} names a file with the secret`);
      assert.ok(p.env.DATABASE_PASSWORD_FILE, `${p.name}: the database password as a file`);
    }
    // Every variable a role gets is a setting of core/config.ts (a misspelt one would silently leave its default), as the deploy-file test checks for Compose and Kubernetes.
    const settings = new Set(SETTING_NAMES);
    for (const p of [...all, topo.migrate]) {
      const unknown = Object.keys(p.env).filter((k) => !settings.has(k) && !['PATH', 'HOME', 'TMPDIR', 'NODE_ENV'].includes(k));
      assert.deepEqual(unknown, [], `${p.name}: variables that are not settings`);
    }
    assert.equal(topo.migrate.child.child.exitCode, 0, 'migrate ran once and exited 0');
    assert.equal(new Set(topo.webs.map((w) => w.env.SESSION_SECRET_FILE)).size, 1, 'the web processes share SESSION_SECRET_FILE (sign-in works on either)');
  });

  it('placement spreads the sessions over the collectors within their share ±10 %; SQL visibility finds them by search attribute', async () => {
    // Placement (ADR 110) puts each session on the least loaded live collector; should a collector
    // register late, rebalancing evens the spread out. Either way the fact waited for is the spread.
    const { counts, ms } = await untilBalanced('every session streaming, each collector within its share ±10 %', topo.collectors, 120_000);
    figures.push(`sessions per collector (from /metrics): ${counts.join(' / ')} (balanced ${secs(ms)} after the test began)`);
    // Temporal's view agrees with the collectors' own.
    const held = await holders();
    const pids = new Set(topo.collectors.map((c) => c.pid));
    assert.equal(held.size, DEVICES, 'Temporal names the worker running every session');
    assert.ok([...held.values()].every((pid) => pids.has(pid)), 'every session runs on one of our collectors');
    for (const c of topo.collectors) {
      const n = [...held.values()].filter((pid) => pid === c.pid).length;
      assert.ok(withinShare(n, DEVICES / topo.collectors.length), `${c.name} runs ${n} sessions by Temporal's account (share ${DEVICES / topo.collectors.length} ±10 %)`);
    }
    let listed = 0;
    await waitFor("visibility: SessionState = 'streaming' for every device", async () => {
      listed = 0;
      for await (const _ of client.workflow.list({ query: `SessionState = 'streaming' AND ExecutionStatus = 'Running'` })) listed++;
      return listed === DEVICES;
    }, 30_000, 500).catch(() => undefined);
    assert.equal(listed, DEVICES, 'the SessionState search attribute is registered and indexed in SQL visibility');
    // Temporal Web (the UI server) shows them from the same server.
    const ui = await fetch(`${topo.ui!.url}/api/v1/namespaces/${topo.temporal.namespace}/workflows?query=${encodeURIComponent(`SessionState = 'streaming'`)}`);
    assert.equal(ui.status, 200);
    const body = (await ui.json()) as { executions?: Array<{ execution: { workflowId: string } }> };
    assert.equal(new Set(body.executions?.map((e) => e.execution.workflowId)).size, DEVICES, 'Temporal Web lists every session workflow');
    await checkpoint('steady state');
  });

  it('a browser signs in on either web process and sees the same device page with its live charts streaming', async () => {
    const device = topo.devices[0];
    const { browser, page } = await launchBrowser({ width: 1200, height: 800 });
    try {
      const pages = [page, await browser.newPage({ viewport: { width: 1200, height: 800 } })]; // a context each: its own cookies
      const charts = '.card [data-point-count]';
      const pointCount = (p: typeof page) => p.evaluate((sel) => [...document.querySelectorAll(sel)].reduce((n, c) => n + Number(c.getAttribute('data-point-count')), 0), charts);
      const seen: string[][] = [];
      for (const [i, web] of topo.webs.entries()) {
        const p = pages[i];
        await signInPage(p, web.url!, topo.admin);
        await p.goto(`${web.url}/devices/${device.id}`);
        await p.waitForFunction(() => document.querySelector('[data-testid=live-chart]')?.getAttribute('data-status') === 'live', null, { timeout: 60_000 });
        seen.push(await p.locator('.card:has([data-point-count]) > h2').allTextContents());
      }
      // Each page's charts keep taking points from its own web process (live streams, not a reload).
      const before = await Promise.all(pages.map(pointCount));
      await Promise.all(
        pages.map((p, i) =>
          p.waitForFunction(({ sel, n }) => [...document.querySelectorAll(sel)].reduce((m, c) => m + Number(c.getAttribute('data-point-count')), 0) >= n + 2, { sel: charts, n: before[i] }, { timeout: 60_000 }),
        ),
      );
      const after = await Promise.all(pages.map(pointCount));
      figures.push(`browser on ${topo.webs.map((w) => w.name).join(' and ')}: ${seen[0].length} live charts each; points drawn ${before.join(' / ')} -> ${after.join(' / ')}`);
      assert.ok(seen[0].length > 0, 'the device page has live charts');
      assert.deepEqual(seen[1], seen[0], 'both web processes serve the same charts');
    } finally {
      await browser.close();
    }
  });

  it('kill -9 of a collector: its sessions move to the others once its liveness lock is gone, before its lease lapses (not after the session heartbeat timeout), with gaps recorded', async () => {
    const held = await holders();
    const { victim, moved } = busiest(held);
    assert.ok(moved.length > 0, 'the victim holds sessions');
    await drainBeforeLoss(victim, moved);
    const killedAt = Date.now();
    await victim.kill9();
    await stall(moved, false);
    const handover = await untilAllHeld(victim, killedAt, PLACED_HEARTBEAT_TIMEOUT_MS);
    const firstPoints = await firstPointsAfter(moved, killedAt);
    let gapped = new Set<number>();
    await waitFor('gaps recorded for every moved session', async () => {
      gapped = await devicesWithGapsAfter(killedAt);
      return moved.every((id) => gapped.has(id));
    }, 30_000, 500).catch(() => undefined);
    const back = [...firstPoints.values()];
    // The monitor ended the victim's lease when its liveness lock went with its connections (ADRs 296, 299): a lapsed lease would end a whole lease after the last renewal.
    const [ended] = (await pool.query(`SELECT (extract(epoch FROM lease_until - renewed_at) * 1000)::float8 AS ms FROM collectors WHERE id LIKE $1`, [`%-${victim.pid}`])).rows;
    figures.push(
      `kill -9: ${moved.length} sessions moved; held elsewhere after ${secs(handover)}; points again after p50 ${secs(percentile(back, 50))}, p99 ${secs(percentile(back, 99))} (collector lease ${secs(COLLECTOR_LEASE_MS)}, ended ${ended ? secs(ended.ms) : 'n/a'} after its last renewal; session heartbeat timeout ${secs(PLACED_HEARTBEAT_TIMEOUT_MS)}); gaps recorded for ${moved.filter((id) => gapped.has(id)).length}/${moved.length}`,
    );
    assert.ok(ended && ended.ms < COLLECTOR_LEASE_MS, `the victim's lease was ended before it ran out, by its liveness lock (${ended ? ended.ms : 'no row'} ms after its last renewal)`);
    assert.deepEqual(moved.filter((id) => !gapped.has(id)), [], 'every moved session has a recorded gap');
    // Warm hand-over (ADR 235): each moved session was dialled by its new collector when the placement
    // committed (or its attempt was there first), and each warm stream was adopted by its attempt or ended for a counted reason.
    const warm = async () => {
      const texts = await Promise.all(liveCollectors().map(metricsText));
      const sum = (name: string) => texts.reduce((a, t) => a + sumMetric(t, name), 0);
      return {
        starts: sum('session_warm_starts_total'),
        adopted: sum('session_warm_adopted_total'),
        ended: sum('session_warm_ended_total'),
        skipped: sum('session_warm_skipped_total'),
        waiting: sum('session_warm'),
      };
    };
    await waitFor('no warm stream left waiting for its attempt', async () => (await warm()).waiting === 0, 60_000, 500);
    const w = await warm();
    figures.push(`kill -9 warm hand-over: ${w.starts} sessions dialled when placed, ${w.adopted} adopted by their attempts, ${w.ended} ended unadopted, ${w.skipped} skipped`);
    assert.equal(w.starts + w.skipped, moved.length, 'every moved session was heard by its new collector');
    assert.ok(w.starts > 0, 'warm hand-overs happened');
    assert.equal(w.adopted + w.ended, w.starts, 'every warm stream was adopted or ended for a counted reason');
    // The liveness check (or at worst the 3 s lease) plus placement and a redial; a third of the heartbeat timeout leaves a loaded machine room.
    assert.ok(handover < PLACED_HEARTBEAT_TIMEOUT_MS / 3, `held elsewhere long before any session heartbeat timed out (${handover} ms)`);
    assert.ok(percentile(back, 99) <= PLACED_HEARTBEAT_TIMEOUT_MS / 3, `moved sessions store points again well within the session heartbeat timeout (p99 ${back.length ? percentile(back, 99) : 'n/a'} ms)`);
    const after = await holders();
    assert.ok(moved.every((id) => after.get(id) !== victim.pid && liveCollectors().some((c) => c.pid === after.get(id))), 'moved sessions run on live collectors');
    await checkpoint('after kill -9');
  });

  it('a collector that joins receives its share by rebalancing, a few sessions at a time, without losing a point', async () => {
    // A supervisor replaces the dead collector: it starts empty beside a loaded pair.
    const joined = await topo.startRole('collector', 'collector-4');
    let mostInFlight = 0;
    const watching = setInterval(() => {
      void pool
        .query<{ n: number }>(`SELECT count(*)::int AS n FROM session_placements WHERE move_requested_at IS NOT NULL`)
        .then(({ rows }) => (mostInFlight = Math.max(mostInFlight, rows[0].n)))
        .catch(() => undefined);
    }, 100);
    try {
      const { counts, ms } = await untilBalanced('the joined collector holding its share', liveCollectors(), 180_000);
      const joinedHolds = (await sessionsOf(joined)).streaming;
      figures.push(`join: ${joined.name} received ${joinedHolds} sessions; balanced ${counts.join(' / ')} after ${secs(ms)}; at most ${mostInFlight} moves in flight (PLACEMENT_MAX_MOVES ${PLACEMENT_MAX_MOVES})`);
      assert.ok(joinedHolds > 0, 'the joined collector runs sessions');
      assert.ok(mostInFlight <= PLACEMENT_MAX_MOVES, `never more than PLACEMENT_MAX_MOVES moves at once (${mostInFlight})`);
    } finally {
      clearInterval(watching);
    }
    await checkpoint('after rebalancing onto the joined collector');
  });

  it('ctl drain empties a collector by clean hand-overs and reports when it is empty; ctl collectors lists the registry', async () => {
    const target = liveCollectors()[0];
    const id = await collectorIdOf(target);
    const listed = await ctl('collectors');
    assert.match(listed, new RegExp(`^${id.replace(/[.]/g, '\\.')}\\s+live\\s+\\d+`, 'm'), `ctl collectors lists ${id} as live:\n${listed}`);
    const failuresBefore = sumMetric(await metricsText(target), 'session_failures_total');
    const started = Date.now();
    const printed = await ctl('drain', id, '--wait', '--timeout', '120');
    const drainedAfter = Date.now() - started;
    assert.match(printed, /empty after/, `ctl drain reports the collector empty:\n${printed}`);
    assert.equal((await sessionsOf(target)).total, 0, `${target.name} runs no session after the drain`);
    assert.equal(sumMetric(await metricsText(target), 'session_failures_total'), failuresBefore, 'no session failed on the drained collector (clean hand-overs)');
    const others = liveCollectors().filter((c) => c !== target);
    const { counts } = await untilBalanced('the others holding every session within their share', others, 60_000);
    figures.push(`drain: ${id} empty after ${secs(drainedAfter)} (ctl drain --wait); others ${counts.join(' / ')}`);
    await checkpoint('after the drain');
    // Back in service: rebalancing gives it its share again.
    await ctl('undrain', id);
    const back = await untilBalanced('the undrained collector holding its share again', liveCollectors(), 180_000);
    figures.push(`undrain: balanced again ${back.counts.join(' / ')} after ${secs(back.ms)}`);
  });

  it('SIGTERM: a stopping collector hands its sessions over at once', async () => {
    const held = await holders();
    const { victim, moved } = busiest(held);
    assert.ok(moved.length > 0, 'the victim holds sessions');
    await drainBeforeLoss(victim, moved);
    const signalledAt = Date.now();
    const exiting = victim.stop(20_000);
    const handover = await untilAllHeld(victim, signalledAt, HEARTBEAT_TIMEOUT_MS + 30_000);
    await exiting;
    const exitedAfter = Date.now() - signalledAt;
    await stall(moved, false);
    const firstPoints = await firstPointsAfter(moved, signalledAt);
    const back = [...firstPoints.values()];
    figures.push(
      `SIGTERM: ${moved.length} sessions moved; held elsewhere after ${secs(handover)}; the old collector exited after ${secs(exitedAfter)}; points again after p50 ${secs(percentile(back, 50))}, p99 ${secs(percentile(back, 99))} (devices stalled until it exited)`,
    );
    assert.equal(victim.child.child.exitCode, 0, 'the collector exited cleanly');
    assert.ok(handover < HEARTBEAT_TIMEOUT_MS, `handed over before any heartbeat timeout (${handover} ms)`);
    await checkpoint('after SIGTERM');
  });

  it('a rolling restart of every collector (start a new one, drain the old, stop it) loses no point', async () => {
    const old = liveCollectors();
    const drains: number[] = [];
    let failures = 0;
    for (const [i, c] of old.entries()) {
      await topo.startRole('collector', `collector-roll-${i + 1}`);
      const id = await collectorIdOf(c);
      const failuresBefore = sumMetric(await metricsText(c), 'session_failures_total');
      const started = Date.now();
      await ctl('drain', id, '--wait', '--timeout', '120');
      drains.push(Date.now() - started);
      // Empty: its counters are final once its batcher is flushed; keep them, then stop it.
      let text = await metricsText(c);
      await waitFor(`${c.name} drained and flushed`, async () => {
        const next = await metricsText(c);
        const settled = sumMetric(next, 'session_points_received_total') === sumMetric(text, 'session_points_received_total') && sumMetric(next, 'ingest_buffered_points') === 0;
        text = next;
        return settled;
      }, 30_000, 500);
      assert.equal((await sessionsOf(c)).total, 0, `${c.name} holds no session after its drain`);
      failures += sumMetric(text, 'session_failures_total') - failuresBefore;
      retired.received += sumMetric(text, 'session_points_received_total');
      retired.dropped += sumMetric(text, 'ingest_points_dropped_total');
      await c.stop(20_000);
      assert.equal(c.child.child.exitCode, 0, `${c.name} exited cleanly`);
    }
    const { counts, ms } = await untilBalanced('every session on the new collectors within their share', liveCollectors(), 180_000);
    figures.push(`rolling restart of ${old.length} collectors: drains took ${drains.map(secs).join(', ')}; sessions now ${counts.join(' / ')} (balanced ${secs(ms)} after the last stop); session failures on the old collectors ${failures}`);
    assert.equal(failures, 0, 'no session failed on a drained collector');
    await checkpoint('after the rolling restart');
  });

  it('restarting the Temporal server loses no session and no point', async () => {
    const runsBefore = await Promise.all(topo.devices.map((d) => client.workflow.getHandle(deviceSessionWorkflowId(d.id)).describe()));
    assert.ok(runsBefore.every((r) => r.status.name === 'RUNNING'));
    const killedAt = Date.now();
    await topo.temporal.kill9();
    await topo.temporal.start();
    const serving = Date.now();
    let states: string[] = [];
    await waitFor('every session answering its status query as streaming', async () => {
      states = (await Promise.all(topo.devices.map((d) => client.workflow.getHandle(deviceSessionWorkflowId(d.id)).query(statusQuery)))).map((s) => s.state);
      return states.every((s) => s === 'streaming');
    }, 120_000, 500);
    const recovered = Date.now();
    const runsAfter = await Promise.all(topo.devices.map((d) => client.workflow.getHandle(deviceSessionWorkflowId(d.id)).describe()));
    const firstPoints = await firstPointsAfter(topo.devices.map((d) => d.id), recovered);
    const gapped = await devicesWithGapsAfter(killedAt);
    figures.push(
      `Temporal kill -9 + restart: serving again after ${secs(serving - killedAt)}; every session answering 'streaming' ${secs(recovered - serving)} later; ${gapped.size} sessions re-attempted (gaps); every device storing (${firstPoints.size}/${DEVICES})`,
    );
    assert.ok(runsAfter.every((r) => r.status.name === 'RUNNING'), 'every session workflow still runs');
    assert.equal(runsAfter.filter((r, i) => r.runId === runsBefore[i].runId).length, DEVICES, 'the same workflow runs carry on');
    assert.ok(liveCollectors().every((c) => c.alive()) && topo.control.alive(), 'workers stayed up');
    await checkpoint('after the Temporal restart');
  });

  it('a web process killed under a live stream is replaced by the other: Last-Event-ID resumes without losing a point', async () => {
    const [first, second] = topo.webs;
    const device = topo.devices[0];
    const { rows } = await pool.query<{ id: number }>(`SELECT id FROM series WHERE device_id = $1 AND path = $2`, [device.id, IN_OCTETS]);
    assert.equal(rows.length, 1, `series ${IN_OCTETS} of ${device.name}`);
    const series = rows[0].id;
    // Sign-in works on both web processes (they share only the database and SESSION_SECRET).
    const cookie = await signIn(first.url!, topo.admin.email, topo.admin.password);
    await signIn(second.url!, topo.admin.email, topo.admin.password);
    const live = (base: string, headers: Record<string, string>, query: string) =>
      fetch(`${base}/api/live?series=${series}${query}`, { headers: { accept: 'text/event-stream', cookie, ...headers }, signal: AbortSignal.timeout(60_000) });
    // A browser behind a load balancer (a TCP proxy) that sends it to the first web process, with the device's live chart open.
    const balancer = await startTcpProxy({ targetPort: first.port! });
    const { browser, page } = await launchBrowser({ width: 1200, height: 800 });
    try {
      const chartPoints = () => page.evaluate(() => Number(document.querySelector('[data-testid=live-chart]')?.getAttribute('data-point-count')));
      const viaBalancer = `http://127.0.0.1:${balancer.port}`;
      await signInPage(page, viaBalancer, topo.admin);
      await page.goto(`${viaBalancer}/devices/${device.id}`);
      await page.waitForFunction(() => document.querySelector('[data-testid=live-chart]')?.getAttribute('data-status') === 'live', null, { timeout: 60_000 });
      await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
      const openedAt = Date.now();
      const stream1 = await live(first.url!, {}, `&since=${openedAt}`);
      assert.equal(stream1.status, 200, 'the live stream opened on the first web process');
      const reading = readSse(stream1, 60_000);
      const storedAfter = async (ms: number) =>
        (await pool.query(`SELECT 1 FROM samples WHERE series_id = $1 AND time > to_timestamp($2::float8 / 1000) LIMIT 1`, [series, ms])).rowCount === 1;
      await waitFor('live points on the first stream', () => storedAfter(openedAt + 5000), 30_000, 250);
      const killedAt = Date.now();
      const chartAtKill = await chartPoints();
      await first.kill9();
      balancer.retarget(second.port!); // the load balancer's health check takes the dead backend out
      // The browser's chart, meanwhile: its stream reconnects through the balancer, to the other process.
      const chartBack = page
        .waitForFunction((n) => Number(document.querySelector('[data-testid=live-chart]')?.getAttribute('data-point-count')) >= n + 2, chartAtKill, { timeout: 90_000 })
        .then(() => Date.now() - killedAt);
      chartBack.catch(() => undefined); // awaited below
      const events1 = sseEvents(await reading);
      assert.ok(events1.length > 0, 'events arrived before the kill');
      const lastId = events1[events1.length - 1].id!;
      // While no stream is open (EventSource waits before it reconnects), points keep being stored.
      await waitFor('a point stored while no stream was open', () => storedAfter(killedAt + 1000), 30_000, 250);
      // The browser's EventSource reconnects; the load balancer sends it to the other process, with the same cookie.
      const stream2 = await live(second.url!, { 'last-event-id': String(lastId) }, '');
      assert.equal(stream2.status, 200, 'the other web process accepts the session cookie and the resume point');
      const resumedAt = Date.now();
      const text2 = await readSse(stream2, 30_000, (t) => sseEvents(t).some((e) => e.points.some((p) => p.t > resumedAt + 3000)));
      const got = [...events1, ...sseEvents(text2)].flatMap((e) => e.points).map((p) => p.t);
      const newest = Math.max(...got);
      const stored = (
        await pool.query<{ t: number }>(
          `SELECT (extract(epoch FROM time) * 1000)::float8 AS t FROM samples WHERE series_id = $1 AND time > to_timestamp($2::float8 / 1000) AND time <= to_timestamp($3::float8 / 1000) ORDER BY time`,
          [series, openedAt, newest],
        )
      ).rows.map((r) => r.t);
      const missing = stored.filter((t) => !got.some((g) => Math.abs(g - t) < 0.01));
      const duplicates = got.length - new Set(got).size;
      figures.push(`web kill -9 under a live stream: resumed on the other process ${secs(resumedAt - killedAt)} after the kill; ${got.length} points delivered, ${stored.length} stored in the window, ${missing.length} missing, ${duplicates} duplicates`);
      assert.deepEqual(missing, [], 'every stored point of the window was delivered');
      assert.equal(duplicates, 0, 'no point delivered twice');
      assert.ok(got.some((t) => t > killedAt && t < resumedAt), 'points stored while no stream was open were replayed by the other process');
      assert.ok(got.some((t) => t > resumedAt + 3000), 'the other process carries on live');
      // The browser's chart reconnected through the balancer to the other process and carries on, without a reload.
      const chartResumed = await chartBack;
      assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'the page was not reloaded');
      assert.equal(await page.evaluate(() => document.querySelector('[data-testid=live-chart]')?.getAttribute('data-status')), 'live');
      assert.ok(balancer.acceptedAt.some((t) => t > killedAt), 'the browser reconnected through the balancer');
      figures.push(`browser chart through a balancer: ${chartAtKill} points at the kill, two more drawn ${secs(chartResumed)} after it, by the other process (no reload)`);
    } finally {
      await browser.close();
      await balancer.close();
    }
    await checkpoint('after the web process was killed');
  });
});
