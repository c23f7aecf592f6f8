/**
 * Samples (numbers) and states (text) as narrow rows keyed by (series_id, time).
 * The primary key makes a retried flush idempotent (ON CONFLICT DO NOTHING).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE samples (
      time timestamptz NOT NULL,
      series_id bigint NOT NULL,
      value double precision NOT NULL,
      PRIMARY KEY (series_id, time)
    )`);
  await knex.raw(`
    CREATE TABLE states (
      time timestamptz NOT NULL,
      series_id bigint NOT NULL,
      value text,
      PRIMARY KEY (series_id, time)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS states');
  await knex.raw('DROP TABLE IF EXISTS samples');
}
