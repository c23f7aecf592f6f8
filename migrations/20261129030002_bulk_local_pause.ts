/**
 * A bulk pause ends running sessions where they run (ADR 250): bulk_action_devices.local_stop
 * follows a device's pause through the collector running its attempt — `asked` (the collector
 * was told, by NOTIFY with the bulk action's preparation), then `ended` (the collector ended the
 * attempt with a `paused` result: no signal), `not-running` (it did not run it) or `unanswered`
 * (no answer in time): those two get the pause signal. NULL: no collector was asked.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE bulk_action_devices ADD COLUMN local_stop text`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE bulk_action_devices DROP COLUMN IF EXISTS local_stop');
}
