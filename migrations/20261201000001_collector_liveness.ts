/**
 * A collector's process seen through its database connection (ADR 296): each collector holds a
 * session-level advisory lock (class LIVENESS_LOCK, key `liveness_key`) on a connection of its own,
 * taken at `liveness_at`, and renews every `liveness_renew_ms`. When its process dies the kernel
 * closes that connection, PostgreSQL ends the backend and the lock goes with it; the placement
 * monitor then ends the lease at once instead of waiting for it to run out. NULL: the collector
 * holds no such lock (COLLECTOR_LIVENESS_LOCK=false, or an older version); its lease alone counts.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE collectors ADD COLUMN liveness_key integer, ADD COLUMN liveness_at timestamptz, ADD COLUMN liveness_renew_ms integer`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE collectors DROP COLUMN IF EXISTS liveness_key, DROP COLUMN IF EXISTS liveness_at, DROP COLUMN IF EXISTS liveness_renew_ms`);
}
