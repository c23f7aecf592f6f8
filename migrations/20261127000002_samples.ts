/**
 * Samples (numbers) and states (text) as narrow rows keyed by (series_id, time).
 * The primary key makes a retried flush idempotent (ON CONFLICT DO NOTHING); it
 * includes the time column, so it is allowed on a partitioned table and a hypertable.
 *
 * Two storage modes (docs/storage.md):
 * - TimescaleDB (extension available, STORAGE_TIMESCALEDB=auto|on): hypertables with
 *   CHUNK_INTERVAL chunks, compression segmented by series after COMPRESS_AFTER, and a
 *   retention policy of RETENTION_DAYS.
 * - Native PostgreSQL: range partitions by day (plus a default partition that catches
 *   anything outside them), BRIN on time; the control worker's storage-maintenance
 *   schedule creates partitions ahead and drops expired ones.
 */
import type { Knex } from 'knex';
import { loadConfig } from '../core/config';
import { ensureDailyPartitions, RAW_TABLES, startOfUtcDay, DAY_MS } from '../activities/maintenance';

/** Decide the storage mode, creating the extension when it is used. Runs inside the migration transaction. */
async function enableTimescale(knex: Knex, wanted: 'auto' | 'on' | 'off'): Promise<boolean> {
  if (wanted === 'off') return false;
  const available = await knex.raw(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
  if (available.rows.length === 0) {
    if (wanted === 'on') throw new Error('STORAGE_TIMESCALEDB=on but the timescaledb extension is not available on this server');
    return false;
  }
  // Available is not enough: the library must also be preloaded. Probe under a savepoint
  // so a refusal leaves the migration transaction usable.
  await knex.raw('SAVEPOINT timescaledb_probe');
  try {
    await knex.raw('CREATE EXTENSION IF NOT EXISTS timescaledb');
    await knex.raw('RELEASE SAVEPOINT timescaledb_probe');
    return true;
  } catch (err) {
    await knex.raw('ROLLBACK TO SAVEPOINT timescaledb_probe');
    if (wanted === 'on') throw err;
    return false;
  }
}

export async function up(knex: Knex): Promise<void> {
  const config = loadConfig();
  const timescale = await enableTimescale(knex, config.STORAGE_TIMESCALEDB);
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
      const today = startOfUtcDay(Date.now());
      await ensureDailyPartitions(knex, table, today - DAY_MS, today + config.PARTITIONS_AHEAD_DAYS * DAY_MS);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  // Dropping a hypertable removes its chunks and policies; a partitioned table its partitions.
  await knex.raw('DROP TABLE IF EXISTS states');
  await knex.raw('DROP TABLE IF EXISTS samples');
}
