/**
 * The storage modes of the benchmarks: which ones a run covers (BENCH_STORAGE_MODES), which one a
 * scratch benchmark migrates its database in (BENCH_STORAGE, set by `npm run bench` to its system's
 * mode), and the rollups made the way each mode makes them.
 */
import type { Knex } from 'knex';
import { storageMode } from '../../storage/storage-mode';
import type { Queryable } from '../../query/router';

/** A storage mode a benchmark system or scratch database runs in (docs/storage.md). */
export type BenchStorage = 'timescaledb' | 'native';
const MODES: readonly BenchStorage[] = ['timescaledb', 'native'];

/** A comma list of storage modes (`timescaledb,native`), in order, without repeats; anything else is an error naming `variable`. */
export function parseStorageModes(value: string, variable: string): BenchStorage[] {
  const modes = value
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const bad = modes.filter((m) => !MODES.includes(m as BenchStorage));
  if (bad.length || !modes.length) throw new Error(`${variable} must be timescaledb, native or a comma list of them, not ${JSON.stringify(value)}${bad.length ? ` (unknown: ${bad.join(', ')})` : ''}`);
  return [...new Set(modes)] as BenchStorage[];
}

/** BENCH_STORAGE_MODES as a list (default `timescaledb,native`): every scenario of `npm run bench` runs once in each. */
export function benchStorageModes(env: NodeJS.ProcessEnv = process.env): BenchStorage[] {
  return parseStorageModes(env.BENCH_STORAGE_MODES ?? 'timescaledb,native', 'BENCH_STORAGE_MODES');
}

/** BENCH_STORAGE (one mode), else `fallback` (a standalone run's mode; undefined: as STORAGE_TIMESCALEDB decides). */
export function benchStorage(fallback?: BenchStorage, env: NodeJS.ProcessEnv = process.env): BenchStorage | undefined {
  if (!env.BENCH_STORAGE) return fallback;
  const modes = parseStorageModes(env.BENCH_STORAGE, 'BENCH_STORAGE');
  if (modes.length !== 1) throw new Error(`BENCH_STORAGE names one storage mode, not ${JSON.stringify(env.BENCH_STORAGE)}`);
  return modes[0];
}

/** The `migrateLatest` options for a mode (undefined: as the server and STORAGE_TIMESCALEDB allow). */
export function migrateOptions(storage: BenchStorage | undefined): { storageTimescaledb?: 'on' | 'off' } {
  return storage ? { storageTimescaledb: storage === 'timescaledb' ? 'on' : 'off' } : {};
}

/** The mode a migrated database is in; an error when it is not the one asked for. */
export async function checkedStorageMode(db: Knex, asked: BenchStorage | undefined): Promise<BenchStorage> {
  const mode = await storageMode(db);
  if (mode === 'missing') throw new Error('the database is not migrated: no samples table');
  if (asked && mode !== asked) throw new Error(`asked for the ${asked} storage mode, the database is in ${mode}`);
  return mode;
}

/**
 * TimescaleDB mode: refresh the continuous aggregates `samples_1m`, then `samples_1h` (built on it)
 * over [fromMs, toMs), what their refresh policies do in the background, here over the whole seeded
 * range at once, then ANALYZE the hypertables they materialize into (as autovacuum would; `ANALYZE
 * samples_1m` skips a view). Outside a transaction (`CALL refresh_continuous_aggregate` refuses one).
 */
export async function refreshContinuousAggregates(pool: Queryable, fromMs: number, toMs: number): Promise<void> {
  for (const view of ['samples_1m', 'samples_1h']) {
    await pool.query(`CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)`, [view, new Date(fromMs).toISOString(), new Date(toMs).toISOString()]);
  }
  const { rows } = await pool.query<{ t: string }>(
    `SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) AS t
       FROM timescaledb_information.continuous_aggregates WHERE view_name IN ('samples_1m', 'samples_1h')`,
  );
  for (const { t } of rows) await pool.query(`ANALYZE ${t}`);
}
