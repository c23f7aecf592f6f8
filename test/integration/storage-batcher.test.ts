/**
 * The batcher against a real PostgreSQL of its own (a second tiny cluster, so it
 * can be restarted without disturbing the other suites), in both storage modes
 * (TimescaleDB preloaded, or native partitions): restart mid-stream with
 * nothing lost and nothing duplicated, a lost COMMIT reply retried without
 * duplicates, backpressure while writes are blocked, drops counted while down.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { IngestBatcher } from '../../storage/batcher';
import { createKnex, createPool } from '../../storage/pool';
import type { TelemetryPoint } from '../../core/point';
import { migrateLatest } from '../../migrations/index';
import { findPostgresBin, startManagedPostgres, type ManagedPostgres } from '../../scripts/infra/postgres';
import { freePort, run } from '../../scripts/infra/proc';
import { ensureTimescaleDb } from '../../scripts/infra/timescaledb';
import { storageModesUnderTest, timescaleDbMissingMessage } from '../support/db';
import { until } from '../../testkit/until';

const isRoot = () => process.getuid?.() === 0;

/** pg_ctl on our cluster (as the postgres user when we are root, as the server requires). */
function pgCtl(dir: string, args: string[]) {
  const exe = path.join(findPostgresBin()!, 'pg_ctl');
  return isRoot()
    ? run('runuser', ['-u', 'postgres', '--', exe, '-D', dir, ...args], { quiet: true, cwd: '/' })
    : run(exe, ['-D', dir, ...args], { quiet: true });
}

for (const mode of storageModesUnderTest()) {
  describe(`storage: ingest batcher against a PostgreSQL that restarts, stalls and goes away (${mode === 'timescaledb' ? 'TimescaleDB' : 'native'})`, function () {
    this.timeout(90_000);
    let dir: string; // made in before(), so a run that filters this suite out leaves no folder behind
    let port: number;
    let cluster: ManagedPostgres;
    let db: Knex;
    let pool: pg.Pool;
    let deviceId: number;
    let batcher: IngestBatcher | undefined;
    let clock = Date.UTC(2026, 10, 27, 0, 0, 0);

    const start = () => startManagedPostgres({ dir, port, database: 'batcher', ephemeral: true, timescaledb: mode === 'timescaledb' });
    const points = (n: number): TelemetryPoint[] =>
      Array.from({ length: n }, (_, i) => ({
        deviceId,
        path: `/interfaces/interface[name=Ethernet${i % 4}]/state/counters/in-octets`,
        timestamp: (clock += 1),
        value: clock,
      }));
    const count = async () => Number((await pool.query('SELECT count(*) AS n FROM samples')).rows[0].n);

    before(async () => {
      dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-batcher-')), 'pg');
      fs.chmodSync(path.dirname(dir), 0o755);
      port = await freePort();
      if (mode === 'timescaledb') {
        // The same build npm test made (TIMESCALEDB_SOURCE): a failure, never a skip, when it cannot be had.
        const ts = await ensureTimescaleDb(findPostgresBin()!);
        if (!ts.available) throw new Error(timescaleDbMissingMessage(ts.reason ?? 'TimescaleDB is not installed'));
      }
      cluster = await start();
      db = createKnex(cluster.url, 2);
      await migrateLatest(db, { storageTimescaledb: mode === 'timescaledb' ? 'on' : 'off' });
      const [row] = await db('devices').insert({ name: 'sw', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
      deviceId = Number(row.id);
      pool = createPool(cluster.url, 4);
    });

    /** `pool`, except that the next COMMIT reaches the server and succeeds but the client sees the connection fail. */
    const losingNextCommitReply = () => {
      let loseNextCommitReply = true;
      const lossy = Object.create(pool) as pg.Pool;
      lossy.connect = (async () => {
        const client = await pool.connect();
        const query = client.query.bind(client) as (...a: unknown[]) => Promise<unknown>;
        (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
          // A COPY stream (a submittable) is returned as it is: the batcher pipes into it.
          if (typeof args[0] !== 'string') return query(...args);
          return (async () => {
            const result = await query(...args);
            if (args[0] === 'COMMIT' && loseNextCommitReply) {
              loseNextCommitReply = false;
              throw new Error('Connection terminated unexpectedly');
            }
            return result;
          })();
        };
        return client;
      }) as pg.Pool['connect'];
      return lossy;
    };

    afterEach(async () => {
      await batcher?.close(5000);
      batcher = undefined;
      await pool.query('TRUNCATE samples, storage_rollup_dirty');
    });

    after(async () => {
      await pool?.end();
      await db?.destroy();
      await cluster?.stop();
      if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    });

    it('PostgreSQL restarted mid-stream: every point stored exactly once, none dropped', async () => {
      batcher = new IngestBatcher({ pool, batchSize: 2000, flushIntervalMs: 50, maxBuffered: 20_000, maxHeld: 200_000, maxBackoffMs: 500 });
      let sent = 0;
      let stop = false;
      const producer = (async () => {
        while (!stop) {
          const pending = batcher!.push(points(500));
          sent += 500;
          if (pending) await pending;
          // Pacing, not synchronisation: a session delivers its points over time, not all at once.
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const written = () => batcher!.metrics.get('ingest_points_written_total');
      await until('points written before the restart', () => written() >= 5000, 30_000);
      await pgCtl(dir, ['-m', 'fast', '-w', 'stop']);
      await until('a flush failing while PostgreSQL is down', () => batcher!.metrics.get('ingest_flush_failures_total') > 0, 30_000);
      await start();
      const writtenBeforeReturn = written();
      await until('points written after PostgreSQL returned', () => written() >= writtenBeforeReturn + 5000, 30_000);
      stop = true;
      await producer;
      await batcher.close(30_000);
      assert.ok(batcher.metrics.get('ingest_flush_failures_total') > 0, 'the restart made flushes fail');
      assert.equal(batcher.metrics.total('ingest_points_dropped_total'), 0);
      const res = await pool.query('SELECT count(*)::int AS n, count(DISTINCT (series_id, time))::int AS d, sum(value)::float8 AS s FROM samples');
      assert.equal(res.rows[0].n, sent, 'nothing lost');
      assert.equal(res.rows[0].d, sent, 'nothing duplicated');
      assert.equal(batcher.metrics.get('ingest_points_written_total'), sent);
    });

    it('a flush whose COMMIT reply was lost is retried and skipped as duplicates, not stored twice', async () => {
      batcher = new IngestBatcher({ pool: losingNextCommitReply(), batchSize: 5000, flushIntervalMs: 20, maxBackoffMs: 100 });
      batcher.push(points(3000));
      await batcher.close(10_000);
      assert.equal(batcher.metrics.get('ingest_flush_failures_total'), 1);
      assert.equal(await count(), 3000);
      // The first attempt did store them, but could not know it: the retry finds every row present.
      assert.equal(batcher.metrics.get('ingest_points_duplicate_total'), 3000, 'the retry found every row already stored');
      assert.equal(batcher.metrics.get('ingest_points_written_total'), 0);
    });

    it('late points: the dirty rollup range commits with them, once even when the COMMIT reply was lost', async () => {
      const now = Date.now();
      const late = (at: number, value: number): TelemetryPoint => ({ deviceId, path: '/system/cpu/state/utilization', timestamp: at, value });
      batcher = new IngestBatcher({ pool: losingNextCommitReply(), batchSize: 5000, flushIntervalMs: 20, maxBackoffMs: 100, lateAfterMs: 300_000 });
      // Two days and one day back, and one current point (not late: not in the range).
      batcher.push([late(now - 2 * 86_400_000, 1), late(now, 2), late(now - 86_400_000 + 0.5, 3)]);
      await batcher.close(10_000);
      assert.equal(batcher.metrics.get('ingest_flush_failures_total'), 1);
      assert.equal(await count(), 3);
      const dirty = await pool.query(
        `SELECT (extract(epoch FROM from_time) * 1000)::float8 AS f, (extract(epoch FROM to_time) * 1000)::float8 AS t FROM storage_rollup_dirty`,
      );
      // The first attempt committed points and range; the retry inserted nothing, so recorded nothing.
      assert.deepEqual(dirty.rows, [{ f: now - 2 * 86_400_000, t: now - 86_400_000 + 0.5 }]);
    });

    it('backpressure while writes are blocked: the producer waits, the buffer stays bounded, everything lands after', async () => {
      batcher = new IngestBatcher({ pool, batchSize: 500, flushIntervalMs: 20, maxBuffered: 2000 });
      const locker = await pool.connect();
      let pushed = 0;
      let maxBuffered = 0;
      let waiting = false;
      let producer: Promise<void> | undefined;
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE samples IN EXCLUSIVE MODE'); // inserts now block: a stalled database
        // A session: pushes what it reads, and stops reading while told to wait.
        producer = (async () => {
          for (let i = 0; i < 20; i++) {
            const pending = batcher!.push(points(250));
            pushed += 250;
            maxBuffered = Math.max(maxBuffered, batcher!.buffered);
            waiting = pending !== undefined;
            if (pending) await pending;
            waiting = false;
          }
        })();
        // Held back: the producer waits on backpressure while the batcher's insert waits on the lock.
        await until(
          'the producer waiting on backpressure and an insert waiting on the lock',
          async () => waiting && (await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`)).rows[0].n > 0,
          15_000,
        );
        assert.ok(pushed < 5000, 'the producer is held back');
        assert.ok(maxBuffered <= 2250, `buffer ${maxBuffered}`);
        assert.equal(await count(), 0);
      } finally {
        await locker.query('COMMIT');
        locker.release();
      }
      await producer;
      await batcher.close(10_000);
      assert.equal(pushed, 5000);
      assert.equal(await count(), 5000);
      assert.equal(batcher.metrics.total('ingest_points_dropped_total'), 0);
    });

    it('PostgreSQL down: points are held up to the bound, the oldest beyond it dropped and counted, the rest written on return', async () => {
      batcher = new IngestBatcher({ pool, batchSize: 1000, flushIntervalMs: 20, maxBuffered: 1000, maxHeld: 4000, maxBackoffMs: 300 });
      await pgCtl(dir, ['-m', 'fast', '-w', 'stop']);
      try {
        batcher.push(points(100));
        await until('a flush failing while PostgreSQL is down', () => batcher!.metrics.get('ingest_flush_failures_total') > 0, 15_000);
        for (let i = 0; i < 10; i++) assert.equal(batcher.push(points(1000)), undefined, 'no backpressure while down');
        assert.equal(batcher.buffered, 4000);
        assert.equal(batcher.metrics.get('ingest_points_dropped_total', { reason: 'database_unavailable' }), 10_100 - 4000);
      } finally {
        await start();
      }
      await batcher.close(20_000);
      const res = await pool.query(`SELECT count(*)::int AS n, (extract(epoch FROM max(time)) * 1000)::float8 AS last FROM samples`);
      assert.equal(res.rows[0].n, 4000);
      assert.equal(res.rows[0].last, clock, 'the newest points were kept');
    });
  });
}
