/**
 * PostgreSQL's CPU per stored point as the samples table grows (issue 16): the pipeline's
 * capacity windows showed PostgreSQL at 3.6 µs per point in the first minute and 5.2–5.4 µs
 * from the third, all of it in the flush connections. This writes the pipeline's shape of data
 * (30 devices × 336 counters, each device's points sharing a timestamp, times advancing as at 150,000 points/s, batches of 5,000 by the batcher's
 * binary COPY) as fast as one connection can, with no collector or generator beside it, and
 * prints, for every BENCH_GROWTH_REPORT rows, the flush backend's and the whole cluster's CPU
 * per row, the shared-buffer accesses per row (page visits: a load-independent count of the work), the WAL bytes and full-page images per row, the buffers the backend had to write
 * itself, and the table's size. Each variant runs on a fresh cluster of its own; the variants
 * write in turns, so that a window of each sees the same load on a shared machine:
 *
 *   node --import tsx bench/pg-write-growth.ts
 *
 * Options:
 *   BENCH_GROWTH_ROWS     rows per variant (45,000,000: five minutes of the pipeline at 150,000/s)
 *   BENCH_GROWTH_REPORT   rows per reported window (5,000,000)
 *   BENCH_GROWTH_MODE     timescaledb (default) or native
 *   BENCH_GROWTH_VARIANTS `;`-separated; each a `,`-separated list of server settings
 *                         (`shared_buffers=2GB`) and, TimescaleDB mode, `time-index=brin|btree|none|asc`
 *                         (the BRIN on time the migrations make, ADR 289; TimescaleDB's default
 *                         B-tree on time DESC that it replaced; none; a B-tree on time ascending),
 *                         and `flush=copy|unnest` (the batcher's binary COPY, or an
 *                         `INSERT … SELECT … FROM unnest`).
 *                         Default: `default;time-index=btree`.
 * Writes bench/results/pg-write-growth-<time>.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createKnex } from '../storage/pool';
import { insertSamplesByCopy } from '../storage/copy-binary';
import { migrateLatest } from '../migrations/index';
import { freePort } from '../scripts/infra/proc';
import { installPostgres, startManagedPostgres } from '../scripts/infra/postgres';
import { ensureTimescaleDb } from '../scripts/infra/timescaledb';
import { writeBenchResult } from './lib/results';
import { insertSamplesByUnnest } from './lib/unnest-flush';
import { CpuMeter, processTree, statFields } from './lib/procstat';

const ROWS = Number(process.env.BENCH_GROWTH_ROWS ?? 45_000_000);
const REPORT = Number(process.env.BENCH_GROWTH_REPORT ?? 5_000_000);
const MODE = (process.env.BENCH_GROWTH_MODE ?? 'timescaledb') as 'timescaledb' | 'native';
const DEVICES = 30;
const PER_DEVICE = 48 * 7;
const SERIES = DEVICES * PER_DEVICE;
const BATCH = 5_000;
const RATE = 150_000;
/** The settings `npm run bench` gives its clusters (durable, like production). */
const DURABLE = ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on', 'max_wal_size=4GB', 'checkpoint_timeout=15min'];

interface Variant {
  label: string;
  settings: string[];
  timeIndex: 'brin' | 'btree' | 'none' | 'asc';
  /** How batches are written: the batcher's binary COPY, or one `INSERT … SELECT … FROM unnest(…) ON CONFLICT DO NOTHING`. */
  flush: 'copy' | 'unnest';
}

function parseVariants(spec: string): Variant[] {
  return spec.split(';').map((v) => {
    const parts = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && s !== 'default');
    const timeIndex = (parts.find((p) => p.startsWith('time-index='))?.slice('time-index='.length) ?? 'brin') as Variant['timeIndex'];
    if (!['brin', 'btree', 'none', 'asc'].includes(timeIndex)) throw new Error(`time-index must be brin, btree, none or asc, not ${timeIndex}`);
    const flush = (parts.find((p) => p.startsWith('flush='))?.slice('flush='.length) ?? 'copy') as Variant['flush'];
    if (!['copy', 'unnest'].includes(flush)) throw new Error(`flush must be copy or unnest, not ${flush}`);
    const settings = parts.filter((p) => !p.startsWith('time-index=') && !p.startsWith('flush='));
    for (const s of settings) if (!/^[a-z_.]+=\S+$/.test(s)) throw new Error(`not a server setting: ${s}`);
    return { label: v.trim() || 'default', settings, timeIndex, flush };
  });
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function stats(c: pg.PoolClient) {
  // This backend's own WAL and buffer counts reach the shared statistics only every second or so: send them first.
  await c.query('SELECT pg_stat_force_next_flush()');
  const wal = (await c.query('SELECT wal_bytes::float8 AS bytes, wal_fpi::float8 AS fpi FROM pg_stat_wal')).rows[0];
  const bg = (await c.query('SELECT buffers_backend::float8 AS backend, checkpoints_timed + checkpoints_req AS checkpoints FROM pg_stat_bgwriter')).rows[0];
  // Shared-buffer accesses (found or read) in this database: a count of the page visits behind each row, which unlike CPU
  // time does not vary with the machine's load. Autovacuum and TimescaleDB's jobs add theirs, a small share.
  const db = (await c.query('SELECT (blks_hit + blks_read)::float8 AS blocks FROM pg_stat_database WHERE datname = current_database()')).rows[0];
  return { walBytes: Number(wal.bytes), walFpi: Number(wal.fpi), buffersBackend: Number(bg.backend), checkpoints: Number(bg.checkpoints), blocks: Number(db.blocks) };
}

/** One variant's cluster, connection and meters; `write` stores the next `rows` rows and returns that window's figures. */
async function openVariant(timescale: boolean, v: Variant) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-pg-growth-'));
  fs.chmodSync(tmp, 0o755);
  const cluster = await startManagedPostgres({ dir: path.join(tmp, 'postgres'), port: await freePort(), database: 'bench', extraSettings: [...DURABLE, ...v.settings], timescaledb: timescale });
  const db = createKnex(cluster.url, 2);
  const pool = new pg.Pool({ connectionString: cluster.url, max: 1 });
  const close = async () => {
    await pool.end();
    await db.destroy();
    await cluster.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await migrateLatest(db, { storageTimescaledb: MODE === 'timescaledb' ? 'on' : 'off' });
    if (MODE === 'timescaledb' && v.timeIndex !== 'brin') {
      await db.raw('DROP INDEX samples_time_brin');
      if (v.timeIndex === 'btree') await db.raw('CREATE INDEX samples_time_idx ON samples (time DESC)');
      if (v.timeIndex === 'asc') await db.raw('CREATE INDEX samples_time_asc ON samples (time)');
    }
    const [dev] = await db('devices').insert({ name: 'bench', protocol: 'gnmi', host: 'h', port: 1 }).returning('id');
    const ids = (await db.raw(`INSERT INTO series (device_id, path, kind) SELECT ?, '/bench/' || g, 'number' FROM generate_series(1, ?) g RETURNING id`, [dev.id, SERIES])).rows.map(
      (r: { id: string }) => Number(r.id),
    );
    await db.raw('CHECKPOINT');
    const c = await pool.connect();
    const backend = Number((await c.query('SELECT pg_backend_pid() AS p')).rows[0].p);
    const postmaster = Number(statFields(backend)[1]);
    // The flush backend, and the whole cluster: the postmaster (carrying its ended children) and every process under it.
    const cpu = new CpuMeter(() => ({ backend: [backend], cluster: processTree([postmaster]) }));
    // Times as the pipeline's at 150,000 points/s, ending now (inside today's chunk or partition).
    const step = (SERIES / RATE) * 1000;
    const t0 = Date.now() - (ROWS / SERIES) * step - 60_000;
    const sizeSql = MODE === 'timescaledb' ? `SELECT hypertable_size('samples') AS s` : `SELECT sum(pg_total_relation_size(inhrelid)) AS s FROM pg_inherits WHERE inhparent = 'samples'::regclass`;
    const time: number[] = [];
    const series: number[] = [];
    const value: number[] = [];
    let done = 0;
    const write = async (rows: number) => {
      const mark = await stats(c);
      const started = performance.now();
      cpu.begin();
      const until = Math.min(ROWS, done + rows);
      const from = done;
      while (done < until) {
        time.length = series.length = value.length = 0;
        for (let k = 0; k < BATCH && done + k < until; k++) {
          const j = done + k;
          series.push(ids[j % SERIES]);
          // Each device's notification carries one timestamp for its 336 counters; the 30 devices are spread over the step.
          time.push(t0 + Math.floor(j / SERIES) * step + Math.floor((j % SERIES) / PER_DEVICE) * (step / DEVICES));
          value.push(j * 1.5);
        }
        await c.query('BEGIN');
        const inserted = v.flush === 'copy' ? await insertSamplesByCopy(c, time, series, value) : await insertSamplesByUnnest(c, time, series, value);
        await c.query('COMMIT');
        if (inserted !== time.length) throw new Error(`inserted ${inserted} of ${time.length}`);
        done += time.length;
      }
      const percent = cpu.end();
      const seconds = (performance.now() - started) / 1000;
      const now = await stats(c);
      const n = done - from;
      // CpuMeter gives % of a core over the window: µs per row = % / 100 × the window's seconds × 10⁶ / rows.
      const usPerRow = (p: number) => round(((p / 100) * seconds * 1e6) / n);
      return {
        rowsStored: done,
        rowsPerSecond: Math.round(n / seconds),
        backendUsPerRow: usPerRow(percent.backend),
        clusterUsPerRow: usPerRow(percent.cluster),
        bufferAccessesPerRow: round((now.blocks - mark.blocks) / n),
        walBytesPerRow: round((now.walBytes - mark.walBytes) / n, 1),
        fullPageImagesPer1000Rows: round(((now.walFpi - mark.walFpi) * 1000) / n),
        backendWritesPer1000Rows: round(((now.buffersBackend - mark.buffersBackend) * 1000) / n),
        checkpoints: now.checkpoints - mark.checkpoints,
        tableMiB: Math.round(Number((await c.query(sizeSql)).rows[0].s) / 1048576),
      };
    };
    return {
      write,
      close: async () => {
        c.release();
        await close();
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function main() {
  const variants = parseVariants(process.env.BENCH_GROWTH_VARIANTS ?? 'default;time-index=btree');
  const bin = await installPostgres();
  let timescale = false;
  if (MODE === 'timescaledb') {
    const ts = await ensureTimescaleDb(bin);
    if (!ts.available) throw new Error(`BENCH_GROWTH_MODE=timescaledb but TimescaleDB cannot be had: ${ts.reason}`);
    timescale = true;
  }
  const results = { mode: MODE, rows: ROWS, series: SERIES, batch: BATCH, startedAt: new Date().toISOString(), loadavg: os.loadavg(), variants: [] as unknown[] };
  // Every variant on a cluster of its own, all open at once, writing in turns (BENCH_GROWTH_REPORT rows each): on a
  // shared machine each window of one variant sees the same load as the same window of the others.
  const open: Array<Awaited<ReturnType<typeof openVariant>>> = [];
  try {
    for (const v of variants) open.push(await openVariant(timescale, v));
    const windows = variants.map(() => [] as Array<Record<string, number>>);
    for (let stored = 0; stored < ROWS; stored += REPORT) {
      for (const [i, v] of variants.entries()) {
        const w = await open[i].write(REPORT);
        windows[i].push(w);
        process.stderr.write(
          `  ${v.label}: ${w.rowsStored.toLocaleString('en')} rows (${w.tableMiB} MiB): ${w.rowsPerSecond} rows/s, backend ${w.backendUsPerRow} µs/row, cluster ${w.clusterUsPerRow} µs/row, ${w.bufferAccessesPerRow} buffer accesses/row, ` +
            `WAL ${w.walBytesPerRow} B/row, ${w.fullPageImagesPer1000Rows} FPI and ${w.backendWritesPer1000Rows} backend writes per 1,000 rows, ${w.checkpoints} checkpoints; load ${os.loadavg()[0].toFixed(1)}\n`,
        );
      }
    }
    results.variants = variants.map((v, i) => ({ variant: v.label, settings: v.settings, timeIndex: v.timeIndex, flush: v.flush, windows: windows[i] }));
  } finally {
    for (const o of open) await o.close();
  }
  writeBenchResult('pg-write-growth', new Date().toISOString(), results);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
