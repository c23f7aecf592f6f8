/**
 * What each gNMI device last answered to Capabilities (ADR 298): its encodings and gNMI version,
 * with a key of the configuration it was dialled with. A collector handed a running session (warm
 * hand-over, ADR 235) subscribes with it instead of asking again when the key still matches; every
 * other dial asks, and every answer rewrites the row. Runtime state, not configuration: the row
 * goes with its device.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE gnmi_capabilities (
      device_id integer PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
      config_key text NOT NULL,
      gnmi_version text NOT NULL,
      encodings text[] NOT NULL,
      answered_at timestamptz NOT NULL
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS gnmi_capabilities`);
}
