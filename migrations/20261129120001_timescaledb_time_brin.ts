/**
 * TimescaleDB mode: the raw hypertables index time with a BRIN, as native mode's partitions do,
 * instead of the B-tree on `time DESC` that create_hypertable adds by default (ADR 289). Every
 * stored point paid for that B-tree: about 3 of the 6 shared-buffer visits of its insert (the BRIN takes 2), 70 of
 * its ~190 bytes of WAL and 12–35 % of the flush connection's CPU (bench/pg-write-growth.ts).
 * Reads by series use the primary key (series_id, time); reads of a time range across series
 * (the continuous aggregates' refresh) find their chunk by its time constraint and their block
 * ranges by the BRIN, which the maintenance run keeps summarized (ADR 271).
 *
 * On an existing database this builds the BRIN over every chunk (one sequential read each;
 * compressed chunks hold no rows of their own) and drops the B-tree, in one transaction.
 */
import type { Knex } from 'knex';

// Frozen here (migrations never import runtime code): the raw tables as the samples migration made them.
const RAW_TABLES = ['samples', 'states'] as const;

/** Whether the samples migration made the raw tables hypertables: plain (not partitioned) tables with the extension present. */
async function rawTablesAreHypertables(knex: Knex): Promise<boolean> {
  const res = await knex.raw(`
    SELECT (SELECT relkind FROM pg_class WHERE oid = to_regclass('samples')) AS kind,
           EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS timescale`);
  const row = res.rows[0] as { kind: string | null; timescale: boolean };
  return row.kind === 'r' && row.timescale;
}

export async function up(knex: Knex): Promise<void> {
  if (!(await rawTablesAreHypertables(knex))) return;
  for (const table of RAW_TABLES) {
    await knex.raw(`CREATE INDEX IF NOT EXISTS ${table}_time_brin ON ${table} USING brin (time)`);
    await knex.raw(`DROP INDEX IF EXISTS ${table}_time_idx`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (!(await rawTablesAreHypertables(knex))) return;
  for (const table of RAW_TABLES) {
    await knex.raw(`CREATE INDEX IF NOT EXISTS ${table}_time_idx ON ${table} (time DESC)`);
    await knex.raw(`DROP INDEX IF EXISTS ${table}_time_brin`);
  }
}
