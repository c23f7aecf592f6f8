/**
 * Points a collector refused for one device, by reason (issue 14 item 12): over the
 * device's series limit (`series_limit`) or timestamped too far ahead of the
 * collector's clock (`future_timestamp`). The ingest batcher adds to the row in its
 * flush transaction; the device page shows it. One row per (device, reason): the
 * table stays as small as the fleet.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE device_ingest_drops (
      device_id integer NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
      reason text NOT NULL,
      points bigint NOT NULL DEFAULT 0,
      last_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (device_id, reason)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS device_ingest_drops');
}
