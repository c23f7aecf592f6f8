/**
 * Dirty time ranges of the rollups (docs/decisions/032-late-points-reach-the-rollups.md).
 * The ingest batcher adds one row, in its flush transaction, when a batch holds numeric
 * points older than INGEST_LATE_AFTER_MS — older than the rollups' regular refresh
 * reaches back. The storage-maintenance activity recomputes the 1-minute and 1-hour
 * buckets of those ranges (native tables) or refreshes the continuous aggregates over
 * them (TimescaleDB), and deletes the rows it processed.
 *
 * Same table in both storage modes; it stays small (one row per late flush, emptied
 * every maintenance run), so it has no index beyond its key.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE storage_rollup_dirty (
      id bigserial PRIMARY KEY,
      from_time timestamptz NOT NULL,
      to_time timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS storage_rollup_dirty');
}
