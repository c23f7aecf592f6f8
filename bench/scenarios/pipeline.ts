/**
 * Scenarios 1 and 2: the COPY ceiling of this PostgreSQL, and the sustained
 * end-to-end rate simulator → collector → PostgreSQL, in the same run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findPostgresBin } from '../../scripts/infra/postgres';
import { run } from '../../scripts/infra/proc';
import { CpuMeter, pidsMatching, rssBytes } from '../lib/procstat';
import { countersProfile, scrape, sleep, type BenchSystem } from '../lib/system';

/** Leaves per simulated interface in the counters subtree. */
const COUNTERS_PER_INTERFACE = 7;

/** Raw COPY of `rows` synthetic rows into a table shaped like samples; rows/s. */
export async function copyCeiling(sys: BenchSystem, rows: number): Promise<{ rows: number; seconds: number; rowsPerSecond: number }> {
  const file = path.join(sys.tmp, 'ceiling.csv');
  const out = fs.createWriteStream(file);
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < rows; i++) {
    const line = `${new Date(t0 + Math.floor(i / 1000) * 100).toISOString()},${(i % 1000) + 1},${i * 1.5}\n`;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  await sys.db.raw('DROP TABLE IF EXISTS ceiling_samples');
  await sys.db.raw('CREATE TABLE ceiling_samples (LIKE samples INCLUDING ALL)');
  const psql = path.join(findPostgresBin() ?? '/usr/bin', 'psql');
  const started = performance.now();
  await run(psql, [sys.services.databaseUrl, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ceiling_samples (time, series_id, value) FROM '${file}' CSV`], { quiet: true });
  const seconds = (performance.now() - started) / 1000;
  await sys.db.raw('DROP TABLE ceiling_samples');
  fs.rmSync(file);
  return { rows, seconds: round(seconds, 2), rowsPerSecond: Math.round(rows / seconds) };
}

/** Options of the end-to-end run. */
export interface PipelineOptions {
  devices: number;
  interfaces: number;
  intervalMs: number;
  seconds: number;
}

/** Sustained end-to-end ingest. */
export async function endToEnd(sys: BenchSystem, o: PipelineOptions) {
  const sim = await sys.startSimulator(o.devices, o.interfaces);
  sys.spawn('control', 'workers/control.ts');
  const collector = await sys.startCollector('collector');
  await sys.addDevices(sim.ports, countersProfile(o.intervalMs));
  const offered = (o.devices * o.interfaces * COUNTERS_PER_INTERFACE * 1000) / o.intervalMs;
  process.stderr.write(`  ${o.devices} devices × ${o.interfaces} interfaces every ${o.intervalMs} ms: ${Math.round(offered)} points/s offered; warming up…\n`);
  // Warm up until every session streams and the rate settles.
  const warmDeadline = Date.now() + 60_000;
  while (Date.now() < warmDeadline && (await scrape(collector.metricsPort, 'sessions_streaming_transitions_total')) < o.devices) await sleep(1000);
  await sleep(10_000);
  const meter = new CpuMeter(() => ({
    collector: [collector.child.pid!],
    simulator: [sim.child.child.pid!],
    postgres: pidsMatching('postgres: ').concat(pidsMatching(path.join(sys.tmp, 'postgres'))),
    temporal: pidsMatching('server start-dev'),
  }));
  const w0 = await scrape(collector.metricsPort, 'ingest_points_written_total');
  const r0 = await scrape(collector.metricsPort, 'ingest_points_received_total');
  const d0 = await scrape(collector.metricsPort, 'ingest_points_dropped_total');
  meter.begin();
  const t0 = performance.now();
  let loopP99Max = 0;
  let rssMax = 0;
  while (performance.now() - t0 < o.seconds * 1000) {
    await sleep(5000);
    loopP99Max = Math.max(loopP99Max, await scrape(collector.metricsPort, 'event_loop_delay_seconds{quantile="0.99"}'));
    rssMax = Math.max(rssMax, rssBytes(collector.child.pid!));
  }
  const dt = (performance.now() - t0) / 1000;
  const cpu = meter.end();
  const written = (await scrape(collector.metricsPort, 'ingest_points_written_total')) - w0;
  const received = (await scrape(collector.metricsPort, 'ingest_points_received_total')) - r0;
  const dropped = (await scrape(collector.metricsPort, 'ingest_points_dropped_total')) - d0;
  return {
    devices: o.devices,
    interfaces: o.interfaces,
    intervalMs: o.intervalMs,
    seconds: round(dt, 1),
    offeredPointsPerSecond: Math.round(offered),
    receivedPointsPerSecond: Math.round(received / dt),
    writtenPointsPerSecond: Math.round(written / dt),
    pointsDropped: dropped,
    cpuPercent: cpu,
    collectorRssMaxMiB: round(rssMax / 2 ** 20, 1),
    simulatorRssMiB: round(rssBytes(sim.child.child.pid!) / 2 ** 20, 1),
    eventLoopDelayP99MaxMs: round(loopP99Max * 1000, 1),
  };
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
