/**
 * Widgets on the fleet query model (issue 17): aggregations `count` and `last` besides
 * none/sum/avg/max/min; group by `site`, `protocol` or a list key of the path
 * (`interface[name]`) besides series/device/all; and an optional top/bottom N of the groups
 * (`top_n`, `top_order`). Existing widgets keep their values and mean what they meant. The
 * frozen SQL replaces the CHECK constraints the web migration created (knex named them;
 * found by their definitions).
 */
import type { Knex } from 'knex';

/** Drop whichever CHECK constraint of widgets mentions `column`, then add the one given. */
const replaceCheck = (column: string, name: string, check: string) => `
  DO $$
  DECLARE c record;
  BEGIN
    FOR c IN SELECT conname FROM pg_constraint
              WHERE conrelid = 'widgets'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%${column}%'
    LOOP
      EXECUTE format('ALTER TABLE widgets DROP CONSTRAINT %I', c.conname);
    END LOOP;
  END $$;
  ALTER TABLE widgets ADD CONSTRAINT ${name} CHECK (${check});`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(replaceCheck('aggregate', 'widgets_aggregate_check', `aggregate IN ('none', 'sum', 'avg', 'max', 'min', 'count', 'last')`));
  await knex.raw(
    replaceCheck(
      'group_by',
      'widgets_group_by_check',
      `group_by IN ('series', 'device', 'all', 'site', 'protocol') OR group_by ~ '^[A-Za-z][A-Za-z0-9_.:-]{0,63}\\[[A-Za-z][A-Za-z0-9_.:-]{0,63}\\]$'`,
    ),
  );
  await knex.raw(`
    ALTER TABLE widgets ADD COLUMN top_n integer CHECK (top_n BETWEEN 1 AND 100);
    ALTER TABLE widgets ADD COLUMN top_order text NOT NULL DEFAULT 'top' CHECK (top_order IN ('top', 'bottom'));`);
}

export async function down(knex: Knex): Promise<void> {
  // The earlier schema has no place for the new choices: such widgets become sums over everything.
  await knex.raw(`UPDATE widgets SET aggregate = 'sum' WHERE aggregate IN ('count', 'last')`);
  await knex.raw(`UPDATE widgets SET group_by = 'all' WHERE group_by NOT IN ('series', 'device', 'all')`);
  await knex.raw(`ALTER TABLE widgets DROP COLUMN top_n; ALTER TABLE widgets DROP COLUMN top_order;`);
  await knex.raw(replaceCheck('aggregate', 'widgets_aggregate_check', `aggregate IN ('none', 'sum', 'avg', 'max', 'min')`));
  await knex.raw(replaceCheck('group_by', 'widgets_group_by_check', `group_by IN ('series', 'device', 'all')`));
}
