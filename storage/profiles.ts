/**
 * The subscription-profiles repository.
 */
import type { Knex } from 'knex';

/** Create a profile unless one with that name exists; returns its id. */
export async function ensureProfile(db: Knex, protocol: 'gnmi' | 'netconf', p: { name: string; description: string; spec: unknown }): Promise<number> {
  const existing = await db('subscription_profiles').where({ name: p.name }).first('id');
  if (existing) return existing.id;
  const [row] = await db('subscription_profiles')
    .insert({ name: p.name, protocol, description: p.description, spec: JSON.stringify(p.spec) })
    .onConflict('name')
    .ignore()
    .returning('id');
  return row?.id ?? (await db('subscription_profiles').where({ name: p.name }).first('id')).id;
}
