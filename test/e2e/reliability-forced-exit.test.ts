/**
 * A collector stopped while PostgreSQL hangs its writes, with a shutdown bound
 * (COLLECTOR_SHUTDOWN_FORCE_MS) of 8 s: its sessions end at once (no other
 * collector to take them, ADR 295), but its batcher's last flush never returns,
 * so the shutdown passes the bound and the process is forced out holding points
 * it never committed. Its counters die with it; its `forced exit` log line is the
 * only record, and counts those points (`pointsLost`) as dropped, so stored =
 * received − dropped holds with its counters.
 *
 * Then a collector with a 3 s bound, stopped while PostgreSQL refuses it: too
 * short for make before break, so its streams end at once, its batcher gives up
 * after 1 s counting what it held as dropped, and it exits 0 within the bound.
 * (Before the shutdown budget, half the bound of overlap outlasted the worker's
 * force time and it exited 1 with GracefulShutdownPeriodExpiredError.)
 *
 * Before ADR 295 the first case refused the database too: the 4 s overlap and
 * then 5 s of batcher retries passed the bound. A collector with nowhere to hand
 * its sessions now ends them at once, so only a write that hangs forces it out.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { adminDatabaseUrl } from '../support/env';
import { terminateBackends } from '../support/db';
import { startRig, sumMetric, type Rig, type RigCollector } from '../support/faults-rig';
import { finalCounters } from '../../testkit/collector-final';
import { until } from '../../testkit/until';

/** Refuse (or allow again) new connections to `database`; when refusing, also end every connection it has. */
async function refuseConnections(database: string, refuse: boolean): Promise<void> {
  const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS ${refuse ? 'false' : 'true'}`);
  } finally {
    await admin.end();
  }
  if (refuse) await terminateBackends(database);
}

describe('reliability: a collector stopped while the database hangs or refuses it counts what it could not store', function () {
  this.timeout(180_000);
  let rig: Rig;
  let refused = false;

  before(async () => {
    rig = await startRig({ label: 'rel_forced_exit', devices: 3, interfaces: 2, sampleMs: 200, env: { COLLECTOR_SHUTDOWN_FORCE_MS: '8000' } });
  });

  after(async () => {
    if (refused) await refuseConnections(rig.tdb.name, false).catch(() => undefined);
    await rig?.stop();
  });

  /** SIGTERM `c` and collect how it ended. */
  async function stopAndRead(c: RigCollector, held: number) {
    const stoppedAt = Date.now();
    c.child.kill('SIGTERM');
    const exit = await c.exited;
    const exitedAfter = Date.now() - stoppedAt;
    const output = c.output();
    const forced = output.includes('forced exit');
    const final = finalCounters(output);
    console.log(
      `      ${held} points held when SIGTERM came; exited ${exit.code ?? exit.signal} after ${(exitedAfter / 1000).toFixed(1)} s (${forced ? 'forced exit' : 'within the bound'}); ` +
        `last line: received ${final?.received}, dropped ${final?.dropped}`,
    );
    assert.ok(final, `the collector's last log line gives its final counters:\n${output.slice(-3000)}`);
    rig.forgetCollector(c);
    return { exit, exitedAfter, output, forced, final };
  }

  /** Refuse the database, wait until `c` holds points after a failed flush, then stop it. */
  async function stopWhileRefused(c: RigCollector) {
    refused = true;
    await refuseConnections(rig.tdb.name, true);
    // Points keep arriving and cannot be written: wait until the collector holds some after a failed flush.
    let held = 0;
    await until(
      'the collector holding points it cannot write',
      async () => {
        const text = (await rig.metricsText(c)) ?? '';
        held = sumMetric(text, 'ingest_buffered_points');
        return sumMetric(text, 'ingest_flush_failures_total') > 0 && held > 0;
      },
      60_000,
      200,
    );
    const stopped = await stopAndRead(c, held);
    refused = false;
    await refuseConnections(rig.tdb.name, false);
    return { held, ...stopped };
  }

  /**
   * Hang the collector's writes (a transaction holds the points tables locked), wait until one of its writes
   * waits on that lock with more points buffered behind it, then stop it. Before the lock goes, the waiting
   * writes' backends are ended, so no write of the dead process commits after it.
   */
  async function stopWhileHanging(c: RigCollector) {
    const locker = await rig.tdb.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE samples, states IN ACCESS EXCLUSIVE MODE');
      let held = 0;
      await until(
        'a write of the collector waiting on the lock, with points buffered behind it',
        async () => {
          const { rows } = await locker.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation IN ('samples'::regclass, 'states'::regclass)`);
          held = sumMetric((await rig.metricsText(c)) ?? '', 'ingest_buffered_points');
          return rows[0].n > 0 && held > 0;
        },
        60_000,
        200,
      );
      return { held, ...(await stopAndRead(c, held)) };
    } finally {
      await locker
        .query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE NOT granted AND relation IN ('samples'::regclass, 'states'::regclass) AND pid <> pg_backend_pid()`)
        .catch(() => undefined);
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
    }
  }

  /** Samples and states stored. */
  async function storedRows(): Promise<number> {
    const { rows } = await rig.tdb.pool.query<{ n: number }>(`SELECT (SELECT count(*) FROM samples)::int + (SELECT count(*) FROM states)::int AS n`);
    return rows[0].n;
  }

  it('stored = received − dropped with the counters of its last log line; the points it held are counted dropped', async () => {
    await rig.waitAllFlowing(Date.now(), 60_000);
    const { held, exit, exitedAfter, output, forced, final } = await stopWhileHanging(rig.collectors[0]);
    assert.ok(exitedAfter < 8000 + 2000, `exited within the shutdown bound (8 s) and a margin, after ${exitedAfter} ms`);
    assert.ok(forced, `the shutdown passed its bound and the exit was forced:\n${output.slice(-3000)}`);
    assert.equal(exit.code, 1, 'a forced exit exits with status 1');
    assert.match(output, /forced exit.*pointsLost[=":]+[1-9]/, 'the forced exit line counts the points it loses');
    assert.ok(final.dropped >= held, `the points it held (${held}) are counted dropped (${final.dropped})`);
    // The collector is gone: what is stored now is final.
    assert.equal(await storedRows(), final.received - final.dropped, 'stored = received − dropped');
  });

  it('a 3 s bound ends make before break at once and exits 0 within it, counting the points it held as dropped', async () => {
    const before = await storedRows();
    const c = await rig.startCollector('collector-3s', { COLLECTOR_SHUTDOWN_FORCE_MS: '3000' });
    await rig.waitAllFlowing(Date.now(), 90_000);
    const { held, exit, exitedAfter, output, forced, final } = await stopWhileRefused(c);
    assert.match(output, /COLLECTOR_HANDOVER_OVERLAP_MS held to 0 ms on SIGTERM/, 'the collector said at start that the bound leaves no overlap');
    assert.doesNotMatch(output, /GracefulShutdownPeriodExpired|IllegalStateError/, 'the worker shut down within its force time');
    assert.ok(!forced, `the shutdown ended within its bound:\n${output.slice(-3000)}`);
    assert.equal(exit.code, 0, `a shutdown within its bound exits 0:\n${output.slice(-3000)}`);
    assert.ok(exitedAfter < 3000 + 2000, `exited within the shutdown bound (3 s) and a margin, after ${exitedAfter} ms`);
    assert.ok(final.dropped >= held, `the points it held (${held}) are counted dropped (${final.dropped})`);
    assert.equal((await storedRows()) - before, final.received - final.dropped, 'stored since it started = received − dropped');
  });
});
