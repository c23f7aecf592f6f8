/**
 * Session placement (issue 20, ADR 110): the registry of live collectors (one
 * row per collector, its lease renewed every second, its advertised load) and
 * where each device's session was placed (which collector's task queue), so a
 * lapsed lease names the sessions to fail over and rebalancing knows the load.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE collectors (
      id text PRIMARY KEY,
      incarnation text NOT NULL,
      task_queue text NOT NULL,
      version text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      lease_until timestamptz NOT NULL,
      renewed_at timestamptz NOT NULL DEFAULT now(),
      draining boolean NOT NULL DEFAULT false,
      capacity integer NOT NULL,
      sessions integer NOT NULL DEFAULT 0,
      cpu real,
      loop_p99_ms real
    )`);
  await knex.raw(`
    CREATE TABLE session_placements (
      device_id integer PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
      collector_id text NOT NULL,
      task_queue text NOT NULL,
      placed_at timestamptz NOT NULL DEFAULT now(),
      move_requested_at timestamptz,
      lost_signalled_at timestamptz
    )`);
  await knex.raw(`CREATE INDEX session_placements_queue ON session_placements (task_queue)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS session_placements`);
  await knex.raw(`DROP TABLE IF EXISTS collectors`);
}
