/**
 * Which devices each collector runs now (issue 20, ADR 110), renewed with its lease:
 * a placement whose session is not running (a paused or parked device keeps its row)
 * neither counts as load nor is asked to move, and a drain waits for running sessions only.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE collectors ADD COLUMN running_devices integer[] NOT NULL DEFAULT '{}'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE collectors DROP COLUMN IF EXISTS running_devices`);
}
