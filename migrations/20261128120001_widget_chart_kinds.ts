/**
 * Widget chart kinds for text and state leaves (issue 21): `state-timeline` (one row of
 * coloured bands per series) and `table` (each series' last value with its age) become
 * choosable besides line, area, stacked-area, bar and stat. The frozen SQL replaces the
 * CHECK constraint the web migration created (knex named it; found by its definition).
 */
import type { Knex } from 'knex';

/** Drop whichever CHECK constraint of widgets restricts `chart`, then add the one given. */
const replaceCheck = (kinds: string) => `
  DO $$
  DECLARE c record;
  BEGIN
    FOR c IN SELECT conname FROM pg_constraint
              WHERE conrelid = 'widgets'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%chart%'
    LOOP
      EXECUTE format('ALTER TABLE widgets DROP CONSTRAINT %I', c.conname);
    END LOOP;
  END $$;
  ALTER TABLE widgets ADD CONSTRAINT widgets_chart_check CHECK (chart IN (${kinds}));`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(replaceCheck(`'line', 'area', 'stacked-area', 'bar', 'stat', 'state-timeline', 'table'`));
}

export async function down(knex: Knex): Promise<void> {
  // The earlier schema has no place for the new kinds: such widgets become line charts.
  await knex.raw(`UPDATE widgets SET chart = 'line' WHERE chart IN ('state-timeline', 'table')`);
  await knex.raw(replaceCheck(`'line', 'area', 'stacked-area', 'bar', 'stat'`));
}
