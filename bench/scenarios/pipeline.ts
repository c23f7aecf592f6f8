/**
 * Scenarios 1 and 2: the COPY ceiling of this PostgreSQL, and the capacity of
 * simulator → collector → PostgreSQL (bench/lib/capacity.ts), in the same run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findPostgresBin } from '../../scripts/infra/postgres';
import { run } from '../../scripts/infra/proc';
import type { Knex } from 'knex';
import { searchCapacity, type CapacityOptions, type CapacityTarget } from '../lib/capacity';
import { postgresGroups } from '../lib/procstat';
import { countersProfile, scrape, sleep, type BenchSystem } from '../lib/system';
import { collectorNames } from '../lib/collectors';

/** Leaves per simulated interface in the counters subtree. */
export const COUNTERS_PER_INTERFACE = 7;

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

/** Options of the capacity search of our pipeline. */
export interface PipelineOptions {
  devices: number;
  interfaces: number;
  /** Sample interval at rate factor 1; the search speeds the simulator up or slows it down from there. */
  intervalMs: number;
  search: Omit<CapacityOptions, 'lagP99BoundMs'>;
  /** Collectors sharing the devices (placed by the product's placement); 1 by default. */
  collectors?: number;
}

/** Ingest lag bound of a held window. */
export const LAG_P99_BOUND_MS = 2000;

/**
 * Sustained capacity of simulator (cheap generator) → collector → PostgreSQL: the
 * highest offered rate held for a window with no drops and ingest lag p99 < 2 s.
 */
export async function pipelineCapacity(sys: BenchSystem, o: PipelineOptions) {
  const sim = await sys.startSimulator(o.devices, o.interfaces, { SIM_GNMI_GENERATOR: 'templates' });
  const base = (o.devices * o.interfaces * COUNTERS_PER_INTERFACE * 1000) / o.intervalMs;
  // The first rate from the start: a warm-up at full speed would leave a backlog the first window inherits.
  await setSimulatorRate(sim.controlPort, base / o.search.startRate);
  const control = sys.spawn('control', 'workers/control.ts');
  const count = Math.max(1, o.collectors ?? 1);
  const names = collectorNames(count);
  // Every collector up before the first device, so placement spreads the sessions over all of them.
  const collectors = await Promise.all(names.map((name) => sys.startCollector(name)));
  const sum = async (metric: string) => (await Promise.all(collectors.map((c) => scrape(c.metricsPort, metric)))).reduce((a, b) => a + b, 0);
  const deviceIds = await sys.addDevices(sim.ports, countersProfile(o.intervalMs));
  process.stderr.write(
    `  ${o.devices} devices × ${o.interfaces} interfaces × ${COUNTERS_PER_INTERFACE} counters (cheap generator) on ${count} collector(s); ${o.search.windowSeconds} s windows; warming up…\n`,
  );
  const warmDeadline = Date.now() + 90_000;
  while (Date.now() < warmDeadline && (await sum('sessions_streaming_transitions_total')) < o.devices) await sleep(1000);
  const sessionsPerCollector = await Promise.all(collectors.map((c) => scrape(c.metricsPort, 'sessions_streaming_transitions_total')));
  if (count > 1) process.stderr.write(`  sessions per collector: ${sessionsPerCollector.join(' / ')}\n`);
  const probes = await probeSeries(sys.db, deviceIds);
  const target: CapacityTarget = {
    setRate: (rate) => setSimulatorRate(sim.controlPort, base / rate),
    committed: () => sum('ingest_points_written_total'),
    dropped: () => sum('ingest_points_dropped_total'),
    lagMs: () => newestLagMs(sys.db, 'samples', 'series_id', 'bigint', probes),
    // The worst collector's event loop.
    eventLoopP99Ms: async () => Math.max(...(await Promise.all(collectors.map((c) => scrape(c.metricsPort, 'event_loop_delay_seconds{quantile="0.99"}'))))) * 1000,
    pids: () => ({
      // Every collector together: CPU per point and RSS are the sums.
      collector: collectors.map((c) => c.child.pid!),
      simulator: [sim.child.child.pid!],
      // This run's cluster only: its postmaster and backends (other clusters on the machine are not ours),
      // and the same split by kind (where PostgreSQL's CPU per point goes).
      ...postgresGroups(sys.postgresPids()),
      temporal: sys.temporalPids(),
      control: [control.child.pid!],
    }),
  };
  const r = await searchCapacity(target, { ...o.search, lagP99BoundMs: LAG_P99_BOUND_MS }, (l) => process.stderr.write(l + '\n'));
  return { devices: o.devices, interfaces: o.interfaces, collectors: count, sessionsPerCollector, ...r };
}

/** One series per device whose newest row stands for the device's ingest lag (waits until each device has one). */
export async function probeSeries(db: Knex, deviceIds: number[]): Promise<number[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = (await db.raw('SELECT DISTINCT ON (device_id) id FROM series WHERE device_id = ANY(?) ORDER BY device_id, id', [deviceIds])).rows as Array<{ id: string }>;
    if (rows.length === deviceIds.length) return rows.map((r) => Number(r.id));
    if (Date.now() > deadline) throw new Error(`only ${rows.length} of ${deviceIds.length} devices have series after 60 s`);
    await sleep(500);
  }
}

/**
 * Wall clock minus the newest committed time of the stalest of `keys` (one index
 * probe each): the ingest lag of the device furthest behind.
 */
export async function newestLagMs(db: Knex, table: string, keyColumn: string, keyType: 'bigint' | 'text', keys: Array<number | string>): Promise<number> {
  const row = (
    await db.raw(
      `SELECT extract(epoch FROM clock_timestamp() - min(m.t)) * 1000 AS lag
         FROM unnest(?::${keyType}[]) AS k(key),
              LATERAL (SELECT time AS t FROM ${table} WHERE ${keyColumn} = k.key ORDER BY time DESC LIMIT 1) m`,
      [keys.map(String)],
    )
  ).rows[0] as { lag: string | null };
  return row.lag === null ? Infinity : Number(row.lag);
}

/** Every simulated device sends at `factor` × its interval (the slowDown fault; < 1 is faster). */
export async function setSimulatorRate(controlPort: number, factor: number): Promise<void> {
  const members = (await (await fetch(`http://127.0.0.1:${controlPort}/devices`)).json()) as Array<{ name: string }>;
  await Promise.all(
    members.map(async (m) => {
      const res = await fetch(`http://127.0.0.1:${controlPort}/devices/${encodeURIComponent(m.name)}/faults/slowDown`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ args: [factor] }),
      });
      if (!res.ok) throw new Error(`slowDown on ${m.name}: ${res.status} ${await res.text()}`);
    }),
  );
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
