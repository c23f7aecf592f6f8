/**
 * Which minutes of fleet_rates_1m changed, and in which transaction (issue 17, ADR 210): a
 * statement-level trigger notes the first and last bucket every INSERT, UPDATE or DELETE on
 * fleet_rates_1m touched (maintenance's look-back recompute, late points, retention, a device's
 * deletion cascading), with the writing transaction's id. A fleet query keeps the fleet-rate rows
 * it read (query/fleet-rates-cache.ts) and, on the next query, reads only this small log since its
 * snapshot's xmin to learn which kept minutes may have changed — so a 24 h total re-reads the last
 * minutes, not 144,000 rows. Rows older than a day are removed by the trigger itself; a kept
 * answer idle longer than that is read afresh. Same plain table in both storage modes.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE fleet_rates_changes (
      txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      from_bucket timestamptz NOT NULL,
      to_bucket timestamptz NOT NULL,
      at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`
    CREATE FUNCTION fleet_rates_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO fleet_rates_changes (from_bucket, to_bucket) VALUES ('-infinity', 'infinity');
      ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO fleet_rates_changes (from_bucket, to_bucket) SELECT min(bucket), max(bucket) FROM new_rows HAVING count(*) > 0;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO fleet_rates_changes (from_bucket, to_bucket) SELECT min(bucket), max(bucket) FROM old_rows HAVING count(*) > 0;
      ELSE
        INSERT INTO fleet_rates_changes (from_bucket, to_bucket)
        SELECT min(bucket), max(bucket) FROM (SELECT bucket FROM old_rows UNION ALL SELECT bucket FROM new_rows) c HAVING count(*) > 0;
      END IF;
      DELETE FROM fleet_rates_changes WHERE at < now() - INTERVAL '1 day';
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER fleet_rates_inserted AFTER INSERT ON fleet_rates_1m REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fleet_rates_note_change()`);
  await knex.raw(`CREATE TRIGGER fleet_rates_deleted AFTER DELETE ON fleet_rates_1m REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fleet_rates_note_change()`);
  await knex.raw(
    `CREATE TRIGGER fleet_rates_updated AFTER UPDATE ON fleet_rates_1m REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fleet_rates_note_change()`,
  );
  await knex.raw(`CREATE TRIGGER fleet_rates_truncated AFTER TRUNCATE ON fleet_rates_1m FOR EACH STATEMENT EXECUTE FUNCTION fleet_rates_note_change()`);
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['inserted', 'deleted', 'updated', 'truncated']) await knex.raw(`DROP TRIGGER IF EXISTS fleet_rates_${t} ON fleet_rates_1m`);
  await knex.raw('DROP FUNCTION IF EXISTS fleet_rates_note_change()');
  await knex.raw('DROP TABLE IF EXISTS fleet_rates_changes');
}
