/**
 * The history of the session-state mirror (issue 18): every change of a device's row in
 * device_session_state (a new state, or the row gone: no running session), appended by a
 * trigger with the row's own `updated_at`, so the rule editor can replay a session rule over
 * the last 24 h exactly as its live evaluation reads the mirror (a rewrite of the same state
 * with a new `updated_at` restarts its `since`, as it does for the live rule). Whoever writes the mirror
 * (the web app's sync, the control worker's refresh, bulk actions) is recorded without
 * knowing it. Rows older than 8 days are pruned by the same trigger, per statement. No
 * foreign key: a deleted device's changes stay until pruned (previews skip them).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE device_session_state_changes (
      id bigserial PRIMARY KEY,
      device_id integer NOT NULL,
      at timestamptz NOT NULL,
      state text
    )`);
  await knex.raw(`CREATE INDEX device_session_state_changes_device ON device_session_state_changes (device_id, at)`);
  await knex.raw(`CREATE INDEX device_session_state_changes_at ON device_session_state_changes (at)`);
  await knex.raw(`
    CREATE FUNCTION record_session_state_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO device_session_state_changes (device_id, at, state) VALUES (OLD.device_id, clock_timestamp(), NULL);
      ELSIF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state OR NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN
        INSERT INTO device_session_state_changes (device_id, at, state) VALUES (NEW.device_id, NEW.updated_at, NEW.state);
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE FUNCTION prune_session_state_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM device_session_state_changes WHERE at < now() - INTERVAL '8 days';
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER device_session_state_changed AFTER INSERT OR UPDATE OR DELETE ON device_session_state
      FOR EACH ROW EXECUTE FUNCTION record_session_state_change()`);
  await knex.raw(`
    CREATE TRIGGER device_session_state_pruned AFTER INSERT OR UPDATE OR DELETE ON device_session_state
      FOR EACH STATEMENT EXECUTE FUNCTION prune_session_state_changes()`);
  // The states in force now are where the history starts.
  await knex.raw(`INSERT INTO device_session_state_changes (device_id, at, state) SELECT device_id, updated_at, state FROM device_session_state`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS device_session_state_changed ON device_session_state');
  await knex.raw('DROP TRIGGER IF EXISTS device_session_state_pruned ON device_session_state');
  await knex.raw('DROP FUNCTION IF EXISTS record_session_state_change()');
  await knex.raw('DROP FUNCTION IF EXISTS prune_session_state_changes()');
  await knex.raw('DROP TABLE IF EXISTS device_session_state_changes');
}
