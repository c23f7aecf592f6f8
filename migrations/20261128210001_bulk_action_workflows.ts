/**
 * Bulk actions run as Temporal workflows (issue 19, ADR 170): each action's devices are
 * written down when it is confirmed (bulk_action_devices: the plan, in order, with what
 * the runner needs — name, protocol, enabled, whether a session workflow ran), and each
 * device's result is filled in as it comes, so a runner that dies is followed by one that
 * carries on with the devices still without a result. bulk_actions.workflow_id names the
 * workflow running it; a record without one was run inside a web process (before this).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE bulk_actions ADD COLUMN workflow_id text`);
  await knex.raw(`
    CREATE TABLE bulk_action_devices (
      bulk_id bigint NOT NULL REFERENCES bulk_actions(id) ON DELETE CASCADE,
      position integer NOT NULL,
      device_id integer NOT NULL,
      name text NOT NULL,
      protocol text NOT NULL,
      enabled boolean NOT NULL,
      has_workflow boolean NOT NULL,
      sent boolean NOT NULL DEFAULT false,
      ok boolean,
      state text,
      note text,
      error text,
      PRIMARY KEY (bulk_id, position)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS bulk_action_devices');
  await knex.raw('ALTER TABLE bulk_actions DROP COLUMN IF EXISTS workflow_id');
}
