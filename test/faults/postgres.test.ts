/**
 * Fault matrix, database side: ten simulated switches under steady load, one
 * collector. PostgreSQL paused with SIGSTOP for 60 s (postmaster and every
 * backend), PostgreSQL restarted (pg_ctl restart -m fast), and its
 * connections terminated repeatedly (pg_terminate_backend).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { findPostgresBin } from '../../scripts/infra/postgres';
import { adminDatabaseUrl } from '../support/env';
import { describeAccounting, startRig, type Rig } from '../support/faults-rig';
import { mib, RssSampler } from '../support/faults-proc';
import { faultCase, faultSetup } from '../../testkit/faults-report';
import { until } from '../../testkit/until';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PAUSE_MS = Number(process.env.FAULTS_PG_PAUSE_MS ?? 60_000);
const RSS_LIMIT = 700 * 1024 * 1024;

async function adminQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: adminDatabaseUrl() });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** The cluster's data folder (asked of the server, so a relocated cluster is found too). */
async function dataDirectory(): Promise<string> {
  const [row] = await adminQuery<{ data_directory: string }>('SHOW data_directory');
  return row.data_directory;
}

/** The postmaster pid (first line of postmaster.pid) and its children. */
function postgresPids(dataDir: string): { postmaster: number; children: number[] } {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' });
  return { postmaster, children: out.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0) };
}

async function healthz(port: number): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text(), ms: Date.now() - started };
  } catch (err) {
    return { status: 0, body: (err as Error).message, ms: Date.now() - started };
  }
}

describe('faults: PostgreSQL (paused, restarted, connections terminated)', function () {
  this.timeout(400_000);
  let rig: Rig;
  let rss: RssSampler;

  before(async () => {
    await faultSetup([{ name: `PostgreSQL SIGSTOP ${PAUSE_MS / 1000} s`, checks: 'collector buffers (bounded), /healthz says the database is unreachable, everything held is written after SIGCONT: stored = received − dropped, dropped = 0, no duplicates, RSS bounded' }, { name: 'PostgreSQL restart', checks: 'ingest resumes by itself; stored = received − dropped; no duplicates' }, { name: 'pg_terminate_backend every 2 s (20 s)', checks: 'no loss, no duplicates, /healthz recovers' }], async () => {
      rig = await startRig({ label: 'faults_pg', devices: 10, interfaces: 4, sampleMs: 200, sessionOptions: { initialBackoffMs: 1000, maxBackoffMs: 5000 } });
      rss = new RssSampler(() => rig.collectors[0]?.pid);
    });
  });

  after(async () => {
    rss?.stop();
    await rig?.stop();
  });

  it(`PostgreSQL paused with SIGSTOP for ${PAUSE_MS / 1000} s`, () =>
    faultCase(`PostgreSQL SIGSTOP ${PAUSE_MS / 1000} s`, 'collector buffers (bounded), /healthz says the database is unreachable, everything held is written after SIGCONT: stored = received − dropped, dropped = 0, no duplicates, RSS bounded', async (note) => {
      const c = rig.collectors[0];
      const dataDir = await dataDirectory();
      const { postmaster, children } = postgresPids(dataDir);
      const pids = [postmaster, ...children];
      const before = await rig.accounting();
      const rssBefore = rss.last;
      const stoppedAt = Date.now();
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      let during: { status: number; body: string; ms: number } | undefined;
      let bufferedPeak = 0;
      let receivedDuring = 0;
      try {
        // /healthz while the database is paused: wait for it to stop saying ready (the assertions below check what it says).
        await until('/healthz to answer other than 200 while the database is paused', async () => (during = await healthz(c.metricsPort)).status !== 200, Math.min(20_000, PAUSE_MS), 500).catch(() => undefined);
        // The pause itself is the fault under test: it lasts PAUSE_MS, sampled every 3 s for the buffered peak.
        while (Date.now() - stoppedAt < PAUSE_MS) {
          await sleep(3000);
          const h = await healthz(c.metricsPort);
          try {
            bufferedPeak = Math.max(bufferedPeak, JSON.parse(h.body).buffered ?? 0);
          } catch {
            // not JSON: reported below through `during`
          }
        }
        const text = (await rig.metricsText(c)) ?? '';
        receivedDuring = Number(/^session_points_received_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
      } finally {
        for (const pid of pids) process.kill(pid, 'SIGCONT');
      }
      const resumedAt = Date.now();
      const recovered = await rig.waitAllFlowing(resumedAt, 120_000);
      const a = await rig.quiesce(90_000);
      const drained = Date.now();
      const after = await healthz(c.metricsPort);
      note(`${pids.length} processes stopped; /healthz during the pause: ${during?.status} in ${during?.ms} ms (${during?.body.slice(0, 120)})`);
      note(`peak buffered ${bufferedPeak} points; new points stored ${((recovered - resumedAt) / 1000).toFixed(1)} s after SIGCONT; backlog written within ${((drained - resumedAt) / 1000).toFixed(1)} s`);
      note(`${describeAccounting(a)}; collector RSS ${mib(rssBefore)} → max ${mib(rss.max)}`);
      assert.ok(receivedDuring > before.received, 'the collector kept receiving while the database was paused');
      assert.equal(during?.status, 503, '/healthz tells the truth while the database is paused');
      assert.match(during?.body ?? '', /database/);
      assert.equal(after.status, 200, `/healthz recovers: ${after.body}`);
      assert.equal(a.dropped, 0, 'nothing dropped: the backlog fits the bound');
      assert.equal(a.stored, a.received - a.dropped);
      assert.equal(a.duplicates, 0);
      assert.ok(rss.max < RSS_LIMIT);
    }));

  it('PostgreSQL restarted (pg_ctl restart -m fast)', () =>
    faultCase('PostgreSQL restart', 'ingest resumes by itself; stored = received − dropped; no duplicates', async (note) => {
      const dataDir = await dataDirectory();
      const bin = findPostgresBin();
      assert.ok(bin, 'PostgreSQL binaries');
      const pgCtl = path.join(bin, 'pg_ctl');
      const args = ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'restart'];
      const started = Date.now();
      if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', pgCtl, ...args], { cwd: '/', stdio: 'ignore' });
      else execFileSync(pgCtl, args, { stdio: 'ignore' });
      const restarted = Date.now();
      const recovered = await rig.waitAllFlowing(restarted, 120_000);
      const a = await rig.quiesce(60_000);
      note(`restart took ${((restarted - started) / 1000).toFixed(1)} s; new points stored ${((recovered - restarted) / 1000).toFixed(1)} s after; ${describeAccounting(a)}`);
      assert.equal(a.stored, a.received - a.dropped);
      assert.equal(a.dropped, 0);
      assert.equal(a.duplicates, 0);
      assert.equal((await healthz(rig.collectors[0].metricsPort)).status, 200);
    }));

  it('PostgreSQL connections terminated every 2 s for 20 s', () =>
    faultCase('pg_terminate_backend every 2 s (20 s)', 'no loss, no duplicates, /healthz recovers', async (note) => {
      let terminated = 0;
      const controlSaidBefore = rig.control.output().length;
      const started = Date.now();
      while (Date.now() - started < 20_000) {
        const [row] = await adminQuery<{ n: number }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [rig.tdb.name],
        );
        terminated += row.n;
        await sleep(2000); // the fault's schedule, not synchronisation: a termination every 2 s
      }
      const end = Date.now();
      const recovered = await rig.waitAllFlowing(end, 60_000);
      const a = await rig.quiesce();
      note(`${terminated} backends terminated; recovery ${((recovered - end) / 1000).toFixed(1)} s; ${describeAccounting(a)}`);
      assert.ok(terminated >= 10);
      assert.equal(a.stored, a.received - a.dropped);
      assert.equal(a.dropped, 0);
      assert.equal(a.duplicates, 0);
      assert.equal((await healthz(rig.collectors[0].metricsPort)).status, 200);
      // Every connection of a live collector cut at once: it holds its liveness lock again before the monitor could call it gone (ADRs 296, 299).
      assert.doesNotMatch(rig.control.output().slice(controlSaidBefore), /collector process gone|collector lease lapsed|collector lost after/);
    }));
});
