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

/** A subscription-profile row. */
export interface ProfileRow {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
  description: string | null;
  spec: unknown;
}

/** A profile by id, or undefined (ids outside the column's range are simply unknown). */
export async function getProfile(db: Knex, id: number): Promise<ProfileRow | undefined> {
  if (!Number.isInteger(id) || id <= 0 || id >= 2 ** 31) return undefined;
  return db('subscription_profiles').where({ id }).first();
}

/** Every profile by name (without its spec). */
export async function listProfiles(db: Knex): Promise<Array<Omit<ProfileRow, 'spec'>>> {
  return db('subscription_profiles').select('id', 'name', 'protocol', 'description').orderBy('name');
}

/** Every profile's id and name, by name (pickers). */
export async function listProfileNames(db: Knex): Promise<Array<{ id: number; name: string }>> {
  return db('subscription_profiles').orderBy('name').select('id', 'name');
}

/** A profile's id and name, or undefined. */
export async function getProfileRef(db: Knex, id: number): Promise<{ id: number; name: string; protocol: 'gnmi' | 'netconf' } | undefined> {
  return db('subscription_profiles').where({ id }).first('id', 'name', 'protocol');
}

/** A profile's id by its id (all digits) or its name; undefined when none. */
export async function findProfileId(db: Knex, nameOrId: string): Promise<number | undefined> {
  const q = db('subscription_profiles');
  const row = /^\d+$/.test(nameOrId) ? await q.where({ id: Number(nameOrId) }).first('id') : await q.where({ name: nameOrId }).first('id');
  return row?.id;
}

/** Name and protocol of each of these profiles. */
export async function profileProtocols(db: Knex, ids: number[]): Promise<Array<{ name: string; protocol: 'gnmi' | 'netconf' }>> {
  return db('subscription_profiles').whereIn('id', ids).select('name', 'protocol');
}

/** Every profile by name, with how many devices use it. */
export async function listProfilesWithUse(db: Knex): Promise<Array<ProfileRow & { devices: number }>> {
  return db('subscription_profiles as p')
    .leftJoin('device_profiles as dp', 'dp.profile_id', 'p.id')
    .groupBy('p.id')
    .orderBy('p.name')
    .select('p.id', 'p.name', 'p.protocol', 'p.description', 'p.spec', db.raw('count(dp.device_id)::int AS devices'));
}

/** Ids of the devices using a profile. */
export async function profileDeviceIds(db: Knex, profileId: number): Promise<number[]> {
  return (await db('device_profiles').where({ profile_id: profileId }).pluck('device_id')) as number[];
}

/** Whether another profile than `exceptId` has this name. */
export async function profileNameTaken(db: Knex, name: string, exceptId?: number): Promise<boolean> {
  return Boolean(await db('subscription_profiles').where({ name }).whereNot({ id: exceptId ?? 0 }).first('id'));
}

/** Create (no id) or update a profile and set exactly which devices use it, in one transaction; returns its id. */
export async function saveProfile(
  db: Knex,
  profile: { id?: number; name: string; protocol: 'gnmi' | 'netconf'; description: string | null; spec: unknown },
  deviceIds: number[],
): Promise<number> {
  return db.transaction(async (trx) => {
    let id = profile.id;
    const fields = { name: profile.name, protocol: profile.protocol, description: profile.description, spec: JSON.stringify(profile.spec), updated_at: trx.fn.now() };
    if (id) await trx('subscription_profiles').where({ id }).update(fields);
    else id = (await trx('subscription_profiles').insert(fields).returning('id'))[0].id as number;
    await trx('device_profiles').where({ profile_id: id }).delete();
    if (deviceIds.length) await trx('device_profiles').insert(deviceIds.map((device_id) => ({ device_id, profile_id: id })));
    return id;
  });
}

/** Delete a profile (its device links go with it). */
export async function deleteProfile(db: Knex, id: number): Promise<void> {
  await db('subscription_profiles').where({ id }).delete();
}
