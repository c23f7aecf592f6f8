/**
 * Ingest benchmark (not part of the test run): points per second through the
 * batcher into real PostgreSQL, against a raw COPY of the same rows in the same
 * run (the ceiling), plus the cost of duplicate protection (unique key + ON
 * CONFLICT DO NOTHING) and of a fully duplicated retry.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:54329/switch_telemetry node --import tsx bench/ingest.ts
 *
 * Works in a scratch database created next to DATABASE_URL's and dropped at the end.
 * Options: BENCH_POINTS (default 1 000 000), BENCH_SERIES (default 500).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IngestBatcher } from '../storage/batcher';
import type { TelemetryPoint } from '../core/point';
import { migrateLatest } from '../migrations/index';
import { findPostgresBin } from '../scripts/infra/postgres';
import { run } from '../scripts/infra/proc';
import { openScratch, runBench } from './support/scratch';
import { writeBenchResult } from './lib/results';

const POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000);
const SERIES = Number(process.env.BENCH_SERIES ?? 500);

const secondsSince = (t: number) => (performance.now() - t) / 1000;

async function main() {
  const scratch = await openScratch('bench_ingest', 2, 8);
  const { db, pool } = scratch;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-'));
  try {
    await migrateLatest(db);
    const [dev] = await db('devices').insert({ name: 'bench', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
    const deviceId = Number(dev.id);
    const t0 = Date.now() - 3_600_000;
    const points: TelemetryPoint[] = [];
    for (let i = 0; i < POINTS; i++) {
      const s = i % SERIES;
      points.push({
        deviceId,
        path: `/interfaces/interface[name=Ethernet${s}]/state/counters/in-octets`,
        timestamp: t0 + Math.floor(i / SERIES) * 10 + (s % 7) * 0.001,
        value: i * 1.5,
      });
    }

    // 1. Through the batcher, the way sessions push: chunks, honouring backpressure.
    const batcher = new IngestBatcher({ pool, batchSize: 5000, flushIntervalMs: 200, maxBuffered: 200_000 });
    let started = performance.now();
    for (let i = 0; i < points.length; i += 1000) {
      const wait = batcher.push(points.slice(i, i + 1000));
      if (wait) await wait;
    }
    await batcher.close(120_000);
    const batcherSeconds = secondsSince(started);
    const stored = Number((await pool.query('SELECT count(*) AS n FROM samples')).rows[0].n);
    if (stored !== POINTS) throw new Error(`batcher stored ${stored} of ${POINTS}`);

    // The same rows, resolved to series ids, for the other contenders.
    const ids = await pool.query<{ id: number; path: string }>('SELECT id, path FROM series');
    const idOf = new Map(ids.rows.map((r) => [r.path, Number(r.id)]));
    const rows = points.map((p) => ({ t: p.timestamp / 1000, s: idOf.get(p.path)!, v: p.value as number }));

    // 2. The ceiling: COPY of the same rows into the same (emptied) table, through psql.
    await pool.query('TRUNCATE samples');
    const csv = path.join(tmp, 'rows.csv');
    fs.writeFileSync(csv, rows.map((r) => `${new Date(r.t * 1000).toISOString()},${r.s},${r.v}`).join('\n') + '\n');
    const psql = path.join(findPostgresBin() ?? '/usr/bin', 'psql');
    started = performance.now();
    await run(psql, [scratch.url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy samples (time, series_id, value) FROM '${csv}' WITH (FORMAT csv)`], { quiet: true });
    const copySeconds = secondsSince(started);

    // 3. What duplicate protection costs: the batcher's statement with and without the unique key.
    const insertAll = async (sql: string) => {
      const client = await pool.connect();
      try {
        const t = performance.now();
        for (let i = 0; i < rows.length; i += 20_000) {
          const chunk = rows.slice(i, i + 20_000);
          await client.query(sql, [chunk.map((r) => r.t), chunk.map((r) => r.s), chunk.map((r) => r.v)]);
        }
        return secondsSince(t);
      } finally {
        client.release();
      }
    };
    const unnest = `SELECT to_timestamp(t), s, v FROM unnest($1::float8[], $2::bigint[], $3::float8[]) AS u(t, s, v)`;
    await pool.query('TRUNCATE samples');
    const onConflictSeconds = await insertAll(`INSERT INTO samples (time, series_id, value) ${unnest} ON CONFLICT DO NOTHING`);
    const retrySeconds = await insertAll(`INSERT INTO samples (time, series_id, value) ${unnest} ON CONFLICT DO NOTHING`);
    await pool.query(`CREATE TABLE samples_nokey (time timestamptz NOT NULL, series_id bigint NOT NULL, value double precision NOT NULL)`);
    await pool.query(`CREATE INDEX ON samples_nokey USING brin (time)`);
    const noKeySeconds = await insertAll(`INSERT INTO samples_nokey (time, series_id, value) ${unnest}`);

    const rate = (s: number) => Math.round(POINTS / s);
    const result = {
      benchmark: 'ingest',
      at: new Date().toISOString(),
      server: (await pool.query('SHOW server_version')).rows[0].server_version,
      points: POINTS,
      series: SERIES,
      batcherPointsPerSecond: rate(batcherSeconds),
      copyPointsPerSecond: rate(copySeconds),
      batcherToCopyRatio: +(copySeconds / batcherSeconds).toFixed(3),
      dedup: {
        unnestOnConflictPointsPerSecond: rate(onConflictSeconds),
        unnestNoUniqueKeyPointsPerSecond: rate(noKeySeconds),
        uniqueKeyCostRatio: +(onConflictSeconds / noKeySeconds).toFixed(3),
        fullyDuplicatedRetryPointsPerSecond: rate(retrySeconds),
      },
    };
    console.log(`batcher: ${result.batcherPointsPerSecond.toLocaleString('en')} points/s`);
    console.log(`COPY   : ${result.copyPointsPerSecond.toLocaleString('en')} points/s (ceiling)`);
    console.log(`ratio  : batcher reaches ${(result.batcherToCopyRatio * 100).toFixed(1)} % of COPY`);
    console.log(
      `dedup  : unnest+ON CONFLICT ${result.dedup.unnestOnConflictPointsPerSecond.toLocaleString('en')}/s vs no unique key ${result.dedup.unnestNoUniqueKeyPointsPerSecond.toLocaleString('en')}/s (×${result.dedup.uniqueKeyCostRatio} time); retry of an already-stored batch ${result.dedup.fullyDuplicatedRetryPointsPerSecond.toLocaleString('en')}/s`,
    );
    writeBenchResult('ingest', result.at, result);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await scratch.close();
  }
}

runBench(main);
