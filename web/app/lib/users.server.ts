/** Users of the web app: create, list, change, and the first admin from the environment. */
import type { Knex } from 'knex';
import type { Config } from '../../../core/config';
import type { Role, SessionUser } from './auth.server';
import { hashPassword, verifyPassword } from './password.server';

/** Create a user; the email is stored as given and matched case-insensitively. */
export async function createUser(db: Knex, input: { email: string; password: string; role: Role }): Promise<SessionUser> {
  const [row] = await db('users')
    .insert({ email: input.email.trim(), password_hash: await hashPassword(input.password), role: input.role })
    .returning(['id', 'email', 'role']);
  return row;
}

/** The user with these credentials, or undefined. */
export async function checkCredentials(db: Knex, email: string, password: string): Promise<SessionUser | undefined> {
  const row = await db('users').whereRaw('lower(email) = lower(?)', [email.trim()]).first();
  // Hash even for unknown emails so response time does not reveal which emails exist.
  const ok = await verifyPassword(password, row?.password_hash ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
  return row && ok ? { id: row.id, email: row.email, role: row.role } : undefined;
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

/** Create the first admin from ADMIN_EMAIL / ADMIN_PASSWORD when no user exists yet; returns it when created. */
export async function ensureAdminFromEnv(db: Knex, config: Pick<Config, 'ADMIN_EMAIL' | 'ADMIN_PASSWORD'>): Promise<SessionUser | undefined> {
  if (!config.ADMIN_EMAIL || !config.ADMIN_PASSWORD) return undefined;
  if ((await countUsers(db)) > 0) return undefined;
  return createUser(db, { email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD, role: 'admin' });
}
