/**
 * The audit record of operator decisions about a device that the session acts on
 * (issue 21, ADR 127): pinning, approving and forgetting a NETCONF SSH host key. Kept
 * when the device is deleted (device_id set null; the name stays).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE device_events (
      id bigserial PRIMARY KEY,
      device_id integer REFERENCES devices(id) ON DELETE SET NULL,
      device_name text NOT NULL,
      at timestamptz NOT NULL DEFAULT now(),
      actor text NOT NULL,
      kind text NOT NULL,
      detail jsonb NOT NULL DEFAULT '{}'::jsonb
    )`);
  await knex.raw(`CREATE INDEX device_events_device ON device_events (device_id, at DESC)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS device_events');
}
