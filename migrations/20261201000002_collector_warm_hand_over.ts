/**
 * Whether a collector dials the running sessions handed to it at once (warm hand-over, ADR 235;
 * false with COLLECTOR_WARM_ADOPT_MS=0). The placement monitor holds a lost collector's sessions'
 * signals until their new streams are up only where a collector will bring them up (ADR 297);
 * elsewhere the signal is what starts the next attempt, so it goes at once. Collectors registered
 * by an older version dial warm (their default), hence true.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE collectors ADD COLUMN warm_hand_over boolean NOT NULL DEFAULT true`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE collectors DROP COLUMN IF EXISTS warm_hand_over`);
}
