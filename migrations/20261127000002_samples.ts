/**
 * Samples (numbers) and states (text) as narrow rows keyed by (series_id, time).
 * The primary key makes a retried flush idempotent (ON CONFLICT DO NOTHING); it
 * includes the time column, so it is allowed on a partitioned table and a hypertable.
 *
 * Two storage modes (docs/storage.md):
 * - TimescaleDB (extension installed and preloaded, STORAGE_TIMESCALEDB=auto|on): hypertables with
 *   CHUNK_INTERVAL chunks, compression segmented by series after COMPRESS_AFTER, and a
 *   retention policy of RETENTION_DAYS.
 * - Native PostgreSQL: range partitions by day (plus a default partition that catches
 *   anything outside them), BRIN on time; the control worker's storage-maintenance
 *   schedule creates partitions ahead and drops expired ones.
 */
import type { Knex } from 'knex';
import { loadConfig } from '../core/config';

// Frozen here (migrations never import runtime code): the raw tables and the daily-partition
// statements as storage/storage-mode.ts wrote them when this migration was written.
const RAW_TABLES = ['samples', 'states'] as const;
const DAY_MS = 86_400_000;

/** Native mode: the daily partitions of `table` for every day in [fromDay, toDay] (the table is new, so none exist yet). */
async function createDailyPartitions(knex: Knex, table: (typeof RAW_TABLES)[number], fromDay: number, toDay: number): Promise<void> {
  for (let day = Math.floor(fromDay / DAY_MS) * DAY_MS; day <= toDay; day += DAY_MS) {
    const name = `${table}_p${new Date(day).toISOString().slice(0, 10).replace(/-/g, '')}`;
    const lo = new Date(day).toISOString();
    const hi = new Date(day + DAY_MS).toISOString();
    await knex.raw(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS)`);
    await knex.raw(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM ('${lo}') TO ('${hi}')`);
  }
}

/** What the caller may decide for this migration instead of the environment (tests pick a mode per database). */
export interface SamplesMigrationSettings {
  /** Overrides STORAGE_TIMESCALEDB. */
  storageTimescaledb?: 'auto' | 'on' | 'off';
}

/** What the server offers, read from the catalog before anything is created. */
interface TimescaleFacts {
  /** The extension's files are installed (pg_available_extensions). */
  available: boolean;
  /** The library is in shared_preload_libraries (needed before CREATE EXTENSION, else a FATAL). */
  preloaded: boolean;
  /** The extension already exists in this database. */
  created: boolean;
}

const PRELOAD_HINT =
  "set shared_preload_libraries = 'timescaledb' and timescaledb.telemetry_level = off in postgresql.conf " +
  "(or ALTER SYSTEM SET shared_preload_libraries = 'timescaledb') and restart PostgreSQL";

/**
 * The storage mode, decided from facts only: `CREATE EXTENSION timescaledb` on a server that
 * does not preload it ends the connection (FATAL), so it is never tried there.
 * - available and preloaded: TimescaleDB (auto, on);
 * - not preloaded (or not installed): native with a log line (auto), a stop saying what to set (on);
 * - the extension exists in this database but is not preloaded: a stop (its event triggers
 *   would fail any DDL), unless STORAGE_TIMESCALEDB=off.
 */
export function chooseTimescale(wanted: 'auto' | 'on' | 'off', facts: TimescaleFacts): { timescale: boolean; note?: string } {
  if (wanted === 'off') return { timescale: false };
  if (facts.available && facts.preloaded) return { timescale: true };
  if (facts.created) {
    throw new Error(`The timescaledb extension exists in this database but the server does not preload it: ${PRELOAD_HINT}.`);
  }
  if (!facts.available) {
    if (wanted === 'on') {
      throw new Error(
        'STORAGE_TIMESCALEDB=on but the timescaledb extension is not installed on this PostgreSQL server (pg_available_extensions): ' +
          'install TimescaleDB (npm start builds it from TIMESCALEDB_SOURCE), or set STORAGE_TIMESCALEDB=auto to use native PostgreSQL.',
      );
    }
    return { timescale: false, note: 'storage: TimescaleDB is not installed on this server; using native PostgreSQL partitions' };
  }
  if (wanted === 'on') {
    throw new Error(`STORAGE_TIMESCALEDB=on but this PostgreSQL server has TimescaleDB installed without preloading it: ${PRELOAD_HINT}.`);
  }
  return {
    timescale: false,
    note: `storage: TimescaleDB is installed but not preloaded, so using native PostgreSQL partitions (to use it, ${PRELOAD_HINT} before the first migration)`,
  };
}

async function timescaleFacts(knex: Knex): Promise<TimescaleFacts> {
  const res = await knex.raw(`
    SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
           EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS created,
           'timescaledb' = ANY (string_to_array(translate(current_setting('shared_preload_libraries'), ' "', ''), ',')) AS preloaded`);
  return res.rows[0] as TimescaleFacts;
}

export async function up(knex: Knex, settings: SamplesMigrationSettings = {}): Promise<void> {
  const config = loadConfig();
  const choice = chooseTimescale(settings.storageTimescaledb ?? config.STORAGE_TIMESCALEDB, await timescaleFacts(knex));
  if (choice.note) console.warn(choice.note);
  const timescale = choice.timescale;
  if (timescale) await knex.raw('CREATE EXTENSION IF NOT EXISTS timescaledb');
  const valueType = { samples: 'double precision NOT NULL', states: 'text' } as const;
  for (const table of RAW_TABLES) {
    await knex.raw(`
      CREATE TABLE ${table} (
        time timestamptz NOT NULL,
        series_id bigint NOT NULL,
        value ${valueType[table]},
        PRIMARY KEY (series_id, time)
      )${timescale ? '' : ' PARTITION BY RANGE (time)'}`);
    if (timescale) {
      await knex.raw(`SELECT create_hypertable(?::regclass, by_range('time', ?::interval))`, [table, config.CHUNK_INTERVAL]);
      await knex.raw(
        `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = 'time DESC')`,
      );
      await knex.raw(`SELECT add_compression_policy(?::regclass, ?::interval)`, [table, config.COMPRESS_AFTER]);
      await knex.raw(`SELECT add_retention_policy(?::regclass, make_interval(days => ?))`, [table, config.RETENTION_DAYS]);
    } else {
      await knex.raw(`CREATE TABLE ${table}_default PARTITION OF ${table} DEFAULT`);
      await knex.raw(`CREATE INDEX ${table}_time_brin ON ${table} USING brin (time)`);
      const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
      await createDailyPartitions(knex, table, today - DAY_MS, today + config.PARTITIONS_AHEAD_DAYS * DAY_MS);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  // Dropping a hypertable removes its chunks and policies; a partitioned table its partitions.
  await knex.raw('DROP TABLE IF EXISTS states');
  await knex.raw('DROP TABLE IF EXISTS samples');
}
