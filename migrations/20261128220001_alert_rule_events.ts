/**
 * The audit record of alert rule changes (issue 18): who created, edited or deleted a rule
 * and when, with the version it became — as device_events records operator decisions about
 * a device. Kept when the rule is deleted (rule_id set null; the name stays).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE alert_rule_events (
      id bigserial PRIMARY KEY,
      rule_id integer REFERENCES alert_rules(id) ON DELETE SET NULL,
      rule_name text NOT NULL,
      at timestamptz NOT NULL DEFAULT now(),
      actor text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('created', 'edited', 'deleted')),
      detail jsonb NOT NULL DEFAULT '{}'::jsonb
    )`);
  await knex.raw(`CREATE INDEX alert_rule_events_rule ON alert_rule_events (rule_id, at DESC)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS alert_rule_events');
}
