/**
 * 1-minute and 1-hour rollups of numeric samples, with the same name and columns
 * in both storage modes so that one query router serves both:
 *   samples_1m / samples_1h (bucket, series_id, min, max, avg, last, count)
 * - TimescaleDB: continuous aggregates (1h built on 1m) with refresh and retention policies.
 * - Native: plain tables with PRIMARY KEY (series_id, bucket), filled incrementally by the
 *   storage-maintenance schedule (storage/storage-mode.ts), which records its progress
 *   in storage_rollup_state.
 */
import type { Knex } from 'knex';
import { loadConfig } from '../core/config';

/**
 * Frozen here (migrations never import runtime code): whether the samples migration made
 * `samples` a hypertable — a plain (not partitioned) table with the extension present.
 */
async function samplesIsHypertable(knex: Knex): Promise<boolean> {
  const res = await knex.raw(`
    SELECT (SELECT count(*) FROM pg_partitioned_table WHERE partrelid = to_regclass('samples'))::int AS partitioned,
           (SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb')::int AS timescale,
           (to_regclass('samples') IS NOT NULL) AS present`);
  const row = res.rows[0] as { partitioned: number; timescale: number; present: boolean };
  return row.present && row.partitioned === 0 && row.timescale > 0;
}

export async function up(knex: Knex): Promise<void> {
  const config = loadConfig();
  if (await samplesIsHypertable(knex)) {
    await knex.raw(`
      CREATE MATERIALIZED VIEW samples_1m WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
      SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, series_id,
             min(value) AS min, max(value) AS max, avg(value) AS avg, last(value, time) AS last, count(*) AS count
        FROM samples GROUP BY 1, 2
      WITH NO DATA`);
    await knex.raw(`
      CREATE MATERIALIZED VIEW samples_1h WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
      SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, series_id,
             min(min) AS min, max(max) AS max, sum(avg * count) / sum(count) AS avg,
             last(last, bucket) AS last, sum(count)::bigint AS count
        FROM samples_1m GROUP BY 1, 2
      WITH NO DATA`);
    // The refresh windows stay far inside the raw retention, so dropping raw chunks never empties a rollup.
    await knex.raw(
      `SELECT add_continuous_aggregate_policy('samples_1m', start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute')`,
    );
    await knex.raw(
      `SELECT add_continuous_aggregate_policy('samples_1h', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes')`,
    );
    for (const view of ['samples_1m', 'samples_1h']) {
      await knex.raw(`SELECT add_retention_policy(?::regclass, make_interval(days => ?))`, [view, config.ROLLUP_RETENTION_DAYS]);
    }
    return;
  }
  for (const table of ['samples_1m', 'samples_1h']) {
    await knex.raw(`
      CREATE TABLE ${table} (
        bucket timestamptz NOT NULL,
        series_id bigint NOT NULL,
        min double precision NOT NULL,
        max double precision NOT NULL,
        avg double precision NOT NULL,
        last double precision NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (series_id, bucket)
      )`);
  }
  await knex.raw(`
    CREATE TABLE storage_rollup_state (
      name text PRIMARY KEY,
      watermark timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
}

export async function down(knex: Knex): Promise<void> {
  if (await samplesIsHypertable(knex)) {
    await knex.raw('DROP MATERIALIZED VIEW IF EXISTS samples_1h');
    await knex.raw('DROP MATERIALIZED VIEW IF EXISTS samples_1m');
    return;
  }
  await knex.raw('DROP TABLE IF EXISTS storage_rollup_state');
  await knex.raw('DROP TABLE IF EXISTS samples_1h');
  await knex.raw('DROP TABLE IF EXISTS samples_1m');
}
