/**
 * A collector's death confirmed without waiting for a missed renewal (ADR 299): `renewal_pid` is the
 * backend its lease renewals go through (set by each renewal), `liveness_missing_at` when the
 * placement monitor first found its liveness lock gone (cleared in effect when the lock is taken
 * again: `liveness_at` is then later). A lock gone for half a second while that backend is gone too
 * is a dead process. NULL: not known (an older version, or never missed); the ADR 296 rule applies.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE collectors ADD COLUMN renewal_pid integer, ADD COLUMN liveness_missing_at timestamptz`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE collectors DROP COLUMN IF EXISTS renewal_pid, DROP COLUMN IF EXISTS liveness_missing_at`);
}
