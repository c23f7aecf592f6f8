/**
 * Alerting (issue 18): rules, webhook contact points (their signing secret sealed like
 * device secrets), the per-instance state each rule's workflow mirrors here for pages
 * and ctl, the transitions it notified, every delivery attempt, and silences.
 * Frozen SQL: later changes are new migrations.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE alert_contact_points (
      id serial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      url text NOT NULL,
      format text NOT NULL DEFAULT 'generic' CHECK (format IN ('generic', 'slack')),
      key_version integer,
      nonce bytea,
      ciphertext bytea,
      tag bytea,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`
    CREATE TABLE alert_rules (
      id serial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      kind text NOT NULL CHECK (kind IN ('threshold', 'absence', 'session')),
      spec jsonb NOT NULL,
      severity text NOT NULL DEFAULT 'warning' CHECK (severity IN ('critical', 'warning', 'info')),
      for_ms integer NOT NULL DEFAULT 0 CHECK (for_ms >= 0),
      interval_ms integer NOT NULL DEFAULT 60000 CHECK (interval_ms >= 1000),
      labels jsonb NOT NULL DEFAULT '{}'::jsonb,
      contact_point_id integer REFERENCES alert_contact_points(id) ON DELETE SET NULL,
      enabled boolean NOT NULL DEFAULT true,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`
    CREATE TABLE alert_instances (
      rule_id integer NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
      instance_key text NOT NULL,
      state text NOT NULL CHECK (state IN ('inactive', 'pending', 'firing', 'resolved')),
      labels jsonb NOT NULL DEFAULT '{}'::jsonb,
      value double precision,
      episode_at timestamptz,
      pending_since timestamptz,
      firing_since timestamptz,
      resolved_at timestamptz,
      acked_by text,
      acked_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (rule_id, instance_key)
    )`);
  await knex.raw(`CREATE INDEX alert_instances_state ON alert_instances (state)`);
  await knex.raw(`
    CREATE TABLE alert_transitions (
      id bigserial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      rule_id integer NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
      instance_key text NOT NULL,
      transition text NOT NULL CHECK (transition IN ('firing', 'resolved')),
      at timestamptz NOT NULL,
      value double precision,
      silenced boolean NOT NULL DEFAULT false,
      delivered_at timestamptz
    )`);
  await knex.raw(`CREATE INDEX alert_transitions_rule ON alert_transitions (rule_id, at DESC)`);
  await knex.raw(`
    CREATE TABLE alert_deliveries (
      id bigserial PRIMARY KEY,
      idempotency_key text NOT NULL,
      contact_point_id integer REFERENCES alert_contact_points(id) ON DELETE SET NULL,
      attempt integer NOT NULL,
      at timestamptz NOT NULL DEFAULT now(),
      ok boolean NOT NULL,
      status integer,
      error text,
      elapsed_ms integer
    )`);
  await knex.raw(`CREATE INDEX alert_deliveries_key ON alert_deliveries (idempotency_key, at)`);
  await knex.raw(`
    CREATE TABLE alert_silences (
      id serial PRIMARY KEY,
      matchers jsonb NOT NULL,
      starts_at timestamptz NOT NULL DEFAULT now(),
      ends_at timestamptz NOT NULL,
      created_by text NOT NULL,
      comment text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK (ends_at > starts_at)
    )`);
  await knex.raw(`CREATE INDEX alert_silences_ends ON alert_silences (ends_at)`);
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['alert_silences', 'alert_deliveries', 'alert_transitions', 'alert_instances', 'alert_rules', 'alert_contact_points']) {
    await knex.raw(`DROP TABLE IF EXISTS ${t}`);
  }
}
