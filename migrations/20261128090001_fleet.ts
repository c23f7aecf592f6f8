/**
 * Fleet-scale devices view (issue 19, ADR 095): natural ordering of names and
 * sites (`sw-2` before `sw-10`) by an ICU collation with numeric ordering, with
 * indexes; a mirror of each device's session state (written from Temporal
 * visibility, so the list filters, sorts and counts by state in SQL without one
 * Temporal call per row); and the record of bulk actions.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // ICU numeric ordering where the server has ICU (Debian's PostgreSQL does); a plain
  // byte-order collation of the same name otherwise, so queries stay the same.
  const { rows } = await knex.raw(`SELECT count(*)::int AS n FROM pg_collation WHERE collprovider = 'i'`);
  if (rows[0].n > 0) await knex.raw(`CREATE COLLATION IF NOT EXISTS natural_order (provider = icu, locale = 'und-u-kn-true')`);
  else await knex.raw(`CREATE COLLATION IF NOT EXISTS natural_order FROM "C"`);
  await knex.raw(`CREATE INDEX devices_name_natural ON devices ((name COLLATE natural_order), id)`);
  await knex.raw(`CREATE INDEX devices_site_natural ON devices ((site COLLATE natural_order), (name COLLATE natural_order))`);
  await knex.raw(`CREATE INDEX devices_host_natural ON devices ((host COLLATE natural_order), port)`);
  await knex.raw(`CREATE INDEX devices_name_prefix ON devices (lower(name) text_pattern_ops)`);
  await knex.raw(`CREATE INDEX devices_host_prefix ON devices (lower(host) text_pattern_ops)`);
  await knex.raw(`CREATE INDEX device_profiles_profile ON device_profiles (profile_id, device_id)`);
  await knex.raw(`
    CREATE TABLE device_session_state (
      device_id integer PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
      state text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`CREATE INDEX device_session_state_state ON device_session_state (state)`);
  await knex.raw(`
    CREATE TABLE bulk_actions (
      id bigserial PRIMARY KEY,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      user_email text NOT NULL,
      action text NOT NULL,
      profile_id integer,
      selection text NOT NULL,
      filter text NOT NULL DEFAULT '',
      device_count integer NOT NULL,
      done integer NOT NULL DEFAULT 0,
      failed integer NOT NULL DEFAULT 0,
      results jsonb
    )`);
  await knex.raw(`CREATE INDEX bulk_actions_started ON bulk_actions (started_at DESC)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS bulk_actions');
  await knex.raw('DROP TABLE IF EXISTS device_session_state');
  for (const i of ['devices_name_natural', 'devices_site_natural', 'devices_host_natural', 'devices_name_prefix', 'devices_host_prefix', 'device_profiles_profile']) {
    await knex.raw(`DROP INDEX IF EXISTS ${i}`);
  }
  await knex.raw('DROP COLLATION IF EXISTS natural_order');
}
