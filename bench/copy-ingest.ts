/**
 * Flush methods against each other (issue 16, ADR 100), in both storage modes, on a
 * throwaway cluster of its own (durable settings, TimescaleDB preloaded when it can
 * be had): the same batches of samples written
 *   unnest   — today's `INSERT … SELECT … FROM unnest($1, $2, $3) ON CONFLICT DO NOTHING`
 *   staging  — binary COPY into a temporary table, then `INSERT … SELECT … ON CONFLICT DO NOTHING`
 *   direct   — binary COPY straight into samples
 *   direct-or-staging — binary COPY straight into samples in a savepoint; on a unique violation
 *              (a retried flush) back to the savepoint and the staging path
 * one transaction per batch, one connection (as the batcher flushes). After each method
 * the first batch is flushed again (a retried flush) to see whether the method holds
 * ADR 030's guarantee: no duplicate rows, no error that would make the retry loop forever.
 *
 *   node --import tsx bench/copy-ingest.ts
 *
 * Options: BENCH_ROUNDS (3: the methods run interleaved, best and median reported), BENCH_POINTS (1,000,000 per run), BENCH_BATCH (5000), BENCH_SERIES (10,080),
 * BENCH_MODES (timescaledb,native). Prints a table and writes bench/results/copy-ingest-<time>.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createKnex } from '../storage/pool';
import { encodeSamplesCopy, insertSamplesByCopy } from '../storage/copy-binary';
import { migrateLatest } from '../migrations/index';
import { freePort } from '../scripts/infra/proc';
import { installPostgres, startManagedPostgres } from '../scripts/infra/postgres';
import { ensureTimescaleDb } from '../scripts/infra/timescaledb';
import { writeBenchResult } from './lib/results';
import { insertSamplesByUnnest } from './lib/unnest-flush';
import { cpuSeconds } from './lib/procstat';

const POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const SERIES = Number(process.env.BENCH_SERIES ?? 10_080);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MODES = (process.env.BENCH_MODES ?? 'timescaledb,native').split(',') as Array<'timescaledb' | 'native'>;

type Method = 'unnest' | 'staging' | 'direct' | 'direct-or-staging';
type Batch = { time: Float64Array; series: Float64Array; value: Float64Array };

/** Write one batch in its own transaction; returns rows inserted. */
async function flush(c: pg.PoolClient, method: Method, b: Batch): Promise<number> {
  await c.query('BEGIN');
  try {
    let inserted = 0;
    if (method === 'unnest') {
      inserted = await insertSamplesByUnnest(c, b.time, b.series, b.value);
    } else if (method === 'staging') {
      await c.query('CREATE TEMP TABLE IF NOT EXISTS samples_stage (time timestamptz, series_id bigint, value float8) ON COMMIT DELETE ROWS');
      await copyIn(c, 'COPY samples_stage (time, series_id, value) FROM STDIN (FORMAT binary)', b);
      const res = await c.query('INSERT INTO samples (time, series_id, value) SELECT time, series_id, value FROM samples_stage ON CONFLICT DO NOTHING');
      inserted = res.rowCount ?? 0;
    } else if (method === 'direct') {
      inserted = await copyIn(c, 'COPY samples (time, series_id, value) FROM STDIN (FORMAT binary)', b);
    } else {
      // What the batcher runs (storage/copy-binary.ts): direct COPY, staging after a unique violation.
      inserted = await insertSamplesByCopy(c, Array.from(b.time), Array.from(b.series), Array.from(b.value));
    }
    await c.query('COMMIT');
    return inserted;
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  }
}

async function copyIn(c: pg.PoolClient, sql: string, b: Batch): Promise<number> {
  const stream = c.query(copyFrom(sql));
  await pipeline(Readable.from([encodeSamplesCopy(b.time, b.series, b.value)]), stream);
  return stream.rowCount ?? 0;
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-copy-'));
  fs.chmodSync(tmp, 0o755);
  const bin = await installPostgres();
  const ts = await ensureTimescaleDb(bin).catch((err: Error) => ({ available: false as const, reason: err.message }));
  const cluster = await startManagedPostgres({
    dir: path.join(tmp, 'postgres'),
    port: await freePort(),
    database: 'bench',
    extraSettings: ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on', 'max_wal_size=4GB', 'checkpoint_timeout=15min'],
    timescaledb: ts.available,
  });
  const results: Record<string, unknown> = { points: POINTS, batch: BATCH, series: SERIES, startedAt: new Date().toISOString(), loadavg: os.loadavg() };
  const lines = ['mode | method | best rows/s | median rows/s | backend CPU µs/row | client CPU µs/row | retried flush'];
  try {
    for (const mode of MODES) {
      if (mode === 'timescaledb' && !ts.available) {
        results[mode] = { skipped: `TimescaleDB unavailable: ${'reason' in ts ? ts.reason : ''}` };
        lines.push(`${mode} | (not measured: TimescaleDB unavailable) | |`);
        continue;
      }
      const admin = new pg.Client({ connectionString: cluster.adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE copy_${mode}`);
      await admin.end();
      const url = cluster.adminUrl.replace(/\/postgres$/, `/copy_${mode}`);
      const db = createKnex(url, 2);
      await migrateLatest(db, { storageTimescaledb: mode === 'timescaledb' ? 'on' : 'off' });
      const [dev] = await db('devices').insert({ name: 'bench', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
      const ids = (
        await db.raw(
          `INSERT INTO series (device_id, path, kind) SELECT ?, '/bench/' || g, 'number' FROM generate_series(1, ?) g RETURNING id`,
          [dev.id, SERIES],
        )
      ).rows.map((r: { id: string }) => Number(r.id));
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      const byMethod: Record<string, unknown> = {};
      // The same time range for every method (each starts from an empty samples table).
      const t0 = Date.now() - 3_600_000;
      const batches = function* (): Generator<Batch> {
        for (let i = 0; i < POINTS; i += BATCH) {
          const n = Math.min(BATCH, POINTS - i);
          const b: Batch = { time: new Float64Array(n), series: new Float64Array(n), value: new Float64Array(n) };
          for (let k = 0; k < n; k++) {
            const j = i + k;
            b.series[k] = ids[j % SERIES];
            b.time[k] = t0 + Math.floor(j / SERIES) * 100 + 0.001 * (j % 7);
            b.value[k] = j * 1.5;
          }
          yield b;
        }
      };
      // Methods interleaved, ROUNDS times, on a shared machine: wall-clock rates vary with the load, so the
      // best and median rate are reported with the CPU each row cost (the backend's, from /proc, and ours).
      const runs: Record<string, Array<{ rowsPerSecond: number; backendUsPerRow: number; clientUsPerRow: number }>> = {};
      const retries: Record<string, string> = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const method of ['unnest', 'staging', 'direct', 'direct-or-staging'] as Method[]) {
          await db.raw('TRUNCATE samples');
          await db.raw('CHECKPOINT');
          const c = await pool.connect();
          try {
            const backend = Number((await c.query('SELECT pg_backend_pid() AS p')).rows[0].p);
            let inserted = 0;
            const cpu0 = cpuSeconds(backend);
            const us0 = process.cpuUsage();
            const started = performance.now();
            for (const b of batches()) inserted += await flush(c, method, b);
            const seconds = (performance.now() - started) / 1000;
            const backendUs = (cpuSeconds(backend) - cpu0) * 1e6;
            const u = process.cpuUsage(us0);
            if (inserted !== POINTS) throw new Error(`${mode}/${method}: inserted ${inserted} of ${POINTS}`);
            (runs[method] ??= []).push({
              rowsPerSecond: Math.round(POINTS / seconds),
              backendUsPerRow: Math.round((backendUs / POINTS) * 100) / 100,
              clientUsPerRow: Math.round(((u.user + u.system) / POINTS) * 100) / 100,
            });
            if (round === 0) {
              const first = batches().next().value as Batch;
              try {
                const again = await flush(c, method, first);
                const stored = Number((await c.query('SELECT count(*) AS n FROM samples')).rows[0].n);
                retries[method] = stored === POINTS && again === 0 ? 'holds: 0 rows inserted, no duplicates' : `BROKEN: ${again} inserted, ${stored} stored of ${POINTS}`;
              } catch (err) {
                retries[method] = `does not hold: the retry fails (${(err as Error).message.split('\n')[0]}) and would fail on every retry`;
              }
            }
          } finally {
            c.release();
          }
        }
      }
      for (const [method, rs] of Object.entries(runs)) {
        const rates = rs.map((r) => r.rowsPerSecond).sort((a, b) => a - b);
        const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
        const summary = {
          bestRowsPerSecond: rates[rates.length - 1],
          medianRowsPerSecond: med(rates),
          backendUsPerRow: med(rs.map((r) => r.backendUsPerRow)),
          clientUsPerRow: med(rs.map((r) => r.clientUsPerRow)),
          runs: rs,
          retry: retries[method],
        };
        byMethod[method] = summary;
        lines.push(`${mode} | ${method} | ${summary.bestRowsPerSecond} | ${summary.medianRowsPerSecond} | ${summary.backendUsPerRow} | ${summary.clientUsPerRow} | ${summary.retry}`);
        process.stderr.write(`  ${mode} ${method}: best ${summary.bestRowsPerSecond} rows/s, backend ${summary.backendUsPerRow} µs/row; retried flush ${summary.retry}\n`);
      }
      results[mode] = byMethod;
      await pool.end();
      await db.destroy();
    }
  } finally {
    await cluster.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(lines.join('\n'));
  writeBenchResult('copy-ingest', new Date().toISOString(), results);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
