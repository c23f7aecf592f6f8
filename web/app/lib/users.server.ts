/** Users of the web app: create, list, change, and the first admin from the environment. */
import type { Knex } from 'knex';
import type { Config } from '../../../core/config';
import type { Role, SessionUser } from './auth.server';
import { hashPassword, needsRehash, verifyPassword } from './password.server';

/** Create a user; the email is stored as given and matched case-insensitively. */
export async function createUser(db: Knex, input: { email: string; password: string; role: Role }): Promise<SessionUser> {
  const [row] = await db('users')
    .insert({ email: input.email.trim(), password_hash: await hashPassword(input.password), role: input.role })
    .returning(['id', 'email', 'role']);
  return row;
}

let dummyHash: Promise<string> | undefined;

/**
 * The user with these credentials, or undefined. A hash made at an older cost is
 * replaced by one at the current cost while the password is at hand.
 */
export async function checkCredentials(db: Knex, email: string, password: string): Promise<SessionUser | undefined> {
  const row = await db('users').whereRaw('lower(email) = lower(?)', [email.trim()]).first();
  // Hash even for unknown emails (at the current cost) so response time does not reveal which emails exist.
  dummyHash ??= hashPassword('not a password of anyone');
  const ok = await verifyPassword(password, row?.password_hash ?? (await dummyHash));
  if (!row || !ok) return undefined;
  if (needsRehash(row.password_hash)) {
    // Only if the row still holds the hash just verified (a concurrent password change wins).
    await db('users').where({ id: row.id, password_hash: row.password_hash }).update({ password_hash: await hashPassword(password) });
  }
  return { id: row.id, email: row.email, role: row.role };
}

/** Whether an email is taken (case-insensitive). */
export async function emailTaken(db: Knex, email: string, exceptId?: number): Promise<boolean> {
  const q = db('users').whereRaw('lower(email) = lower(?)', [email.trim()]);
  if (exceptId) q.whereNot({ id: exceptId });
  return Boolean(await q.first('id'));
}

/** Number of users (0 means the first-run setup page is open). */
export async function countUsers(db: Knex): Promise<number> {
  const row = await db('users').count<{ n: string }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Number of admins. */
export async function countAdmins(db: Knex): Promise<number> {
  const row = await db('users').where({ role: 'admin' }).count<{ n: string }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Lock key serialising first-admin creation across web processes ('st-first-admin'). */
const FIRST_ADMIN_LOCK = 0x7374_6661;

/**
 * Create the first admin, unless an admin exists: one transaction holding an
 * advisory lock, so two concurrent setups (two tabs, two web processes, the
 * environment and the page) cannot both create one. Returns undefined when an
 * admin already existed.
 */
export async function createFirstAdmin(db: Knex, input: { email: string; password: string }): Promise<SessionUser | undefined> {
  const passwordHash = await hashPassword(input.password); // slow: outside the lock
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [FIRST_ADMIN_LOCK]);
    if ((await countAdmins(trx)) > 0) return undefined;
    const [row] = await trx('users').insert({ email: input.email.trim(), password_hash: passwordHash, role: 'admin' }).returning(['id', 'email', 'role']);
    return row as SessionUser;
  });
}

/** Create the first admin from ADMIN_EMAIL / ADMIN_PASSWORD when no admin exists yet; returns it when created. */
export async function ensureAdminFromEnv(db: Knex, config: Pick<Config, 'ADMIN_EMAIL' | 'ADMIN_PASSWORD'>): Promise<SessionUser | undefined> {
  if (!config.ADMIN_EMAIL || !config.ADMIN_PASSWORD) return undefined;
  if ((await countAdmins(db)) > 0) return undefined;
  if (await emailTaken(db, config.ADMIN_EMAIL)) return undefined;
  return createFirstAdmin(db, { email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD });
}
