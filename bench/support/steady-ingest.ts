/**
 * A steady ingest load for the query benchmarks (a child process, so its work is not on the
 * measuring process's event loop, as a collector's is not on the web process's): new samples
 * for every series of DATABASE_URL's `series` table, BENCH_INGEST_RATE points per second in
 * ticks of 100 ms, through the project's write path — storage/batcher.ts IngestBatcher with its
 * PostgreSQL writer (series cache, binary COPY, the NOTIFY doorbell, one transaction per flush)
 * with the collector's batch size, flush interval and buffer bound (INGEST_*). Each point is stamped with its tick's time (counters
 * rising at 1000 + (id % 97) × 10 per second, as bench/fleet-query.ts seeds them), so none is
 * late. Backpressure is honoured: a tick that finds the buffer full waits, and the figures
 * show what was written, not what was asked.
 *
 * Prints one JSON line a second: {"ingest": {at, offered, written, dropped, flushes, buffered,
 * backpressureWaits, cpuMs}} (cumulative); the parent reads the rate between two lines
 * (`steadyIngest` below). Ends on SIGTERM after writing what it holds.
 */
import type { TelemetryPoint } from '../../core/point';
import { loadConfig } from '../../core/config';
import { IngestBatcher } from '../../storage/batcher';
import { createPool } from '../../storage/pool';
import { startChild, waitFor } from '../../scripts/infra/proc';

const TICK_MS = 100;

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Cumulative counters of the ingest child. */
export interface IngestReport {
  at: number;
  offered: number;
  written: number;
  dropped: number;
  flushes: number;
  buffered: number;
  backpressureWaits: number;
  /** CPU time of this process (user + system), ms. */
  cpuMs: number;
}

async function main() {
  const rate = Number(process.env.BENCH_INGEST_RATE ?? 0);
  if (!(rate > 0)) throw new Error('steady-ingest: BENCH_INGEST_RATE must be > 0');
  const config = loadConfig();
  const pool = createPool(config.DATABASE_URL, 2);
  const series = (await pool.query<{ id: string; device_id: string; path: string }>('SELECT id, device_id, path FROM series WHERE kind = $1 ORDER BY id', ['number'])).rows.map((r) => ({
    id: Number(r.id),
    deviceId: Number(r.device_id),
    path: r.path,
  }));
  if (series.length === 0) throw new Error('steady-ingest: no numeric series to write to');
  // The collector's batch size, flush interval and bound; its other settings' defaults are the batcher's.
  const batcher = new IngestBatcher({ pool, batchSize: config.INGEST_BATCH_SIZE, flushIntervalMs: config.INGEST_FLUSH_MS, maxBuffered: config.INGEST_MAX_BUFFERED });
  let offered = 0;
  let next = 0; // the next series to write (round robin)
  let carry = 0; // the fraction of a point owed by the ticks so far
  const report = () => {
    const m = batcher.metrics;
    const r: IngestReport = {
      at: Date.now(),
      offered,
      written: m.total('ingest_points_written_total'),
      dropped: m.total('ingest_points_dropped_total'),
      flushes: m.total('ingest_flushes_total'),
      buffered: batcher.buffered,
      backpressureWaits: m.total('ingest_backpressure_waits_total'),
      cpuMs: cpuMs(),
    };
    process.stdout.write(JSON.stringify({ ingest: r }) + '\n');
  };
  let stopping = false;
  process.once('SIGTERM', () => (stopping = true));
  const reporter = setInterval(report, 1000);
  report();
  // Ticks on an absolute schedule: a late tick writes what its time owes, the next is not pushed back.
  const t0 = Math.ceil(Date.now() / TICK_MS) * TICK_MS;
  for (let k = 0; !stopping; k++) {
    const tick = t0 + k * TICK_MS;
    const wait = tick - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    carry += (rate * TICK_MS) / 1000;
    const n = Math.floor(carry);
    carry -= n;
    const points: TelemetryPoint[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const s = series[next];
      // A series written twice in one tick (rate above series × 10/s) gets the next millisecond.
      const t = tick + (Math.floor((offered + i) / series.length) % TICK_MS);
      points[i] = { deviceId: s.deviceId, path: s.path, timestamp: t, value: (t / 1000) * (1000 + (s.id % 97) * 10) };
      next = (next + 1) % series.length;
    }
    offered += n;
    const full = batcher.push(points);
    if (full) await full;
  }
  clearInterval(reporter);
  await batcher.close(60_000);
  report();
  await pool.end();
}

/**
 * Start the steady ingest above against `databaseUrl` at `rate` points/s, once it has written
 * its first points. `since()` marks a start; `rateSince(mark)` is the points written per second
 * from that mark to the newest report, with what was offered and dropped meanwhile.
 */
export async function steadyIngest(databaseUrl: string, rate: number) {
  const child = startChild('ingest', process.execPath, ['--import', 'tsx', import.meta.filename], {
    env: { ...process.env, DATABASE_URL: databaseUrl, BENCH_INGEST_RATE: String(rate) },
    quiet: true,
  });
  let latest: IngestReport | undefined;
  let partial = '';
  child.child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('{"ingest"')) latest = (JSON.parse(line) as { ingest: IngestReport }).ingest;
    }
  });
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  await waitFor(
    `steady ingest at ${rate} points/s writing`,
    async () => {
      if (exitCode !== undefined) throw new Error(`steady-ingest exited with ${exitCode}`);
      return (latest?.written ?? 0) > 0;
    },
    60_000,
  );
  return {
    since: (): IngestReport => ({ ...latest! }),
    rateSince(mark: IngestReport) {
      const now = latest!;
      const seconds = (now.at - mark.at) / 1000;
      return {
        offeredPerSecond: Math.round((now.offered - mark.offered) / seconds),
        writtenPerSecond: Math.round((now.written - mark.written) / seconds),
        dropped: now.dropped - mark.dropped,
        flushesPerSecond: +((now.flushes - mark.flushes) / seconds).toFixed(1),
        bufferedAtEnd: now.buffered,
        backpressureWaits: now.backpressureWaits - mark.backpressureWaits,
        /** CPU of the ingest process (not PostgreSQL's), % of one core. */
        processCpuPercent: Math.round(((now.cpuMs - mark.cpuMs) / (now.at - mark.at)) * 100),
        seconds: +seconds.toFixed(1),
      };
    },
    stop: () => child.stop(60_000),
  };
}

if (process.argv[1] === import.meta.filename) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
