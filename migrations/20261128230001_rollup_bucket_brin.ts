/**
 * Native mode: a BRIN index on the 1-minute rollup's bucket (ADR 175). samples_1m had only its
 * primary key (series_id, bucket), so anything reading a time range across many series — the
 * top/bottom N ranking summary of a fleet query, the fleet rates' maintenance — scanned the
 * whole table. The maintenance run appends each minute's buckets, so the rows lie in time order
 * and a block-range index stays small and selective. TimescaleDB mode: the continuous
 * aggregate's hypertable is chunked and indexed by bucket already; nothing to do.
 */
import type { Knex } from 'knex';

async function isNativeTable(knex: Knex): Promise<boolean> {
  const res = await knex.raw(`SELECT relkind FROM pg_class WHERE oid = to_regclass('samples_1m')`);
  return (res.rows[0] as { relkind?: string } | undefined)?.relkind === 'r';
}

export async function up(knex: Knex): Promise<void> {
  if (await isNativeTable(knex)) await knex.raw(`CREATE INDEX IF NOT EXISTS samples_1m_bucket_brin ON samples_1m USING brin (bucket)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS samples_1m_bucket_brin');
}
