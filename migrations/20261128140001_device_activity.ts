/**
 * Per-device traffic for the devices view (issue 19, ADR 135): points/s and last
 * seen, written by the web process's fleet mirror from the samples of each pass's
 * window (storage/device-list.ts refreshDeviceActivity), so the list can show and
 * sort by them in SQL instead of counting each shown row's samples per page view.
 * Plus indexes for the protocol and enabled sorts, and the error of a bulk action
 * that stopped as a whole (ADR 136).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE device_activity (
      device_id integer PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
      points_per_second double precision NOT NULL DEFAULT 0,
      last_seen timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  // Devices with traffic are few next to the fleet: the mirror zeroes only the rows that had some.
  await knex.raw(`CREATE INDEX device_activity_busy ON device_activity (device_id) WHERE points_per_second > 0`);
  await knex.raw(`CREATE INDEX devices_protocol_natural ON devices (protocol, (name COLLATE natural_order), id)`);
  await knex.raw(`CREATE INDEX devices_enabled_natural ON devices (enabled, (name COLLATE natural_order), id)`);
  // A bulk action runs in the background of a web process (ADR 136): why it stopped, when it did.
  await knex.raw(`ALTER TABLE bulk_actions ADD COLUMN error text`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE bulk_actions DROP COLUMN IF EXISTS error');
  await knex.raw('DROP TABLE IF EXISTS device_activity');
  await knex.raw('DROP INDEX IF EXISTS devices_protocol_natural');
  await knex.raw('DROP INDEX IF EXISTS devices_enabled_natural');
}
