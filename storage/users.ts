/**
 * The users-and-web-sessions repository: users of the web app (create, list, change, the first
 * admin from the environment) and their sign-in sessions (stored by token hash).
 */
import type { Knex } from 'knex';
import type { Config } from '../core/config';
import { hashPassword, needsRehash, verifyPassword } from '../core/password';

/** Roles: admins change things, viewers only look. */
export type Role = 'admin' | 'viewer';

/** The signed-in user. */
export interface SessionUser {
  id: number;
  email: string;
  role: Role;
}

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

/** Store a web session under its token's hash, and drop expired ones (opportunistic clean-up). */
export async function insertWebSession(db: Knex, tokenHash: string, userId: number, expiresAt: Date): Promise<void> {
  await db('sessions').insert({ id: tokenHash, user_id: userId, expires_at: expiresAt });
  await db('sessions').where('expires_at', '<', new Date()).delete();
}

/** The user of an unexpired web session, or undefined. */
export async function webSessionUser(db: Knex, tokenHash: string): Promise<SessionUser | undefined> {
  const row = await db('sessions as s')
    .join('users as u', 'u.id', 's.user_id')
    .where('s.id', tokenHash)
    .andWhere('s.expires_at', '>', new Date())
    .first('u.id', 'u.email', 'u.role');
  return row ? { id: row.id, email: row.email, role: row.role } : undefined;
}

/** End one web session. */
export async function deleteWebSession(db: Knex, tokenHash: string): Promise<void> {
  await db('sessions').where({ id: tokenHash }).delete();
}

/** End every web session of a user except `keepTokenHash`; returns how many ended. */
export async function deleteUserWebSessions(db: Knex, userId: number, keepTokenHash?: string): Promise<number> {
  const q = db('sessions').where({ user_id: userId });
  if (keepTokenHash) q.whereNot({ id: keepTokenHash });
  return q.delete();
}

/** Every user, by email (no password hashes). */
export async function listUsers(db: Knex): Promise<Array<SessionUser & { created_at: Date }>> {
  return db('users').select('id', 'email', 'role', 'created_at').orderBy('email');
}

/** A user by id, or undefined. */
export async function findUser(db: Knex, id: number): Promise<SessionUser | undefined> {
  return db('users').where({ id }).first('id', 'email', 'role');
}

/** Change a user's role. */
export async function setUserRole(db: Knex, id: number, role: Role): Promise<void> {
  await db('users').where({ id }).update({ role, updated_at: db.fn.now() });
}

/** Set a user's password (hashed here at the current cost). */
export async function setUserPassword(db: Knex, id: number, password: string): Promise<void> {
  await db('users').where({ id }).update({ password_hash: await hashPassword(password), updated_at: db.fn.now() });
}

/** Remove a user (their web sessions go with them). */
export async function deleteUser(db: Knex, id: number): Promise<void> {
  await db('users').where({ id }).delete();
}
