/**
 * Pre-aggregated fleet rates (issue 17, ADR 145): per device, series shape (the path with
 * every key value replaced by `*`) and minute, the sum of the series' per-second counter
 * rates and how many series had one — what a fleet query's `rate` + `sum`/`avg`/`count`
 * over whole devices at 1-minute steps reads instead of every series' rollup rows.
 *
 * The same plain table in both storage modes (a continuous aggregate cannot hold a rate,
 * which needs the previous bucket of each series); storage/storage-mode.ts fills it from
 * samples_1m after the rollups and records its progress as the `fleet_rates_1m` row of
 * storage_rollup_state (created here in TimescaleDB mode, where the rollups migration did
 * not need it).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS storage_rollup_state (
      name text PRIMARY KEY,
      watermark timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`
    CREATE TABLE fleet_rates_1m (
      bucket timestamptz NOT NULL,
      device_id integer NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
      shape text NOT NULL,
      rate_sum double precision NOT NULL,
      series integer NOT NULL,
      PRIMARY KEY (bucket, device_id, shape)
    )`);
  await knex.raw(`CREATE INDEX fleet_rates_1m_device ON fleet_rates_1m (device_id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS fleet_rates_1m');
  // Native mode: the rollups migration owns storage_rollup_state (samples_1m is a table); TimescaleDB mode: this one made it.
  const res = await knex.raw(`SELECT relkind FROM pg_class WHERE oid = to_regclass('samples_1m')`);
  if ((res.rows[0] as { relkind?: string } | undefined)?.relkind === 'r') await knex.raw(`DELETE FROM storage_rollup_state WHERE name = 'fleet_rates_1m'`);
  else await knex.raw('DROP TABLE IF EXISTS storage_rollup_state');
}
